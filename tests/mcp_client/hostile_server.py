"""A stdio MCP server that misbehaves, written by hand (no SDK: it must be able to break the
protocol, and it starts in milliseconds).

Run: `python hostile_server.py MODE`:
- `silent`: reads everything, never answers (not even `initialize`);
- `garbage`: a banner, non-JSON, invalid UTF-8, JSON that is not JSON-RPC and blank lines on
  stdout around every answer; otherwise a good server with an `echo` tool;
- `names`: tools whose names and schemas a provider would reject or that collide once made safe;
- `huge`: a `big` tool whose result is `bytes` long (one JSON line of several MB);
- `huge-id-last`: the same, with the answers' `id` as their last member.
"""

from __future__ import annotations

import json
import sys
from typing import Any

MODE = sys.argv[1]
out = sys.stdout.buffer


def send(message: dict[str, Any]) -> None:
    if MODE == "garbage":
        out.write(b'INFO starting up... ready\n\xff\xfe not utf-8 \x00\n{"not": "json-rpc"}\n\n   \n[1, 2\n')
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def cyclic_schema() -> dict[str, Any]:
    fan = {f"p{i}": {"$ref": "#/$defs/node"} for i in range(12)}
    return {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "$defs": {"node": {"type": "object", "properties": fan}},
    }


def tools() -> list[dict[str, Any]]:
    obj = {"type": "object", "properties": {"text": {"type": "string"}}}
    if MODE == "names":
        return [
            {"name": "a__b", "inputSchema": obj},
            {"name": "x" * 200, "inputSchema": obj},
            {"name": "x" * 199 + "y", "inputSchema": obj},
            {"name": "dot.ted", "inputSchema": obj},
            {"name": "dot_ted", "inputSchema": obj},
            {"name": "spa ce/slash\u00e9", "inputSchema": obj},
            {"name": "tree", "inputSchema": cyclic_schema()},
            {"name": "self", "inputSchema": {"type": "object", "properties": {"me": {"$ref": "#"}}}},
            {"name": "string", "inputSchema": {"type": "string"}},
            {"name": "remote", "inputSchema": {"type": "object", "properties": {"r": {"$ref": "http://x/y"}}}},
            {"name": "echo", "inputSchema": obj},
        ]
    if MODE.startswith("huge"):
        return [{"name": "big", "inputSchema": {"type": "object", "properties": {"bytes": {"type": "integer"}}}}]
    return [{"name": "echo", "inputSchema": obj}]


def answer(request: dict[str, Any]) -> dict[str, Any] | None:
    method, rid = request.get("method"), request.get("id")
    if rid is None:
        return None  # a notification
    if method == "initialize":
        result: dict[str, Any] = {
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "hostile", "version": "0"},
        }
    elif method == "tools/list":
        result = {"tools": tools()}
    elif method == "tools/call":
        name, args = request["params"]["name"], request["params"].get("arguments") or {}
        if name == "big":
            text = ("0123456789abcde\n" * (int(args["bytes"]) // 16 + 1))[: int(args["bytes"])]
        else:
            text = f"{name}: {args.get('text', '')}"
        result = {"content": [{"type": "text", "text": text}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no such method"}}
    if MODE == "huge-id-last":
        return {"result": result, "jsonrpc": "2.0", "id": rid}
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def main() -> None:
    for line in sys.stdin.buffer:
        if MODE == "silent":
            continue
        reply = answer(json.loads(line))
        if reply is not None:
            send(reply)


if __name__ == "__main__":
    main()
