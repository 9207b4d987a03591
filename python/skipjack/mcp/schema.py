"""An MCP tool's name and input schema as the model sees them.

Providers accept tool names matching `^[A-Za-z0-9_-]{1,64}$` and an input schema that is a
JSON object schema (`"type": "object"`, no top-level `oneOf`/`anyOf`/`allOf`/`not`/`enum`).
A server's schema that breaks those rules is repaired where the repair keeps its meaning for
the model (the server validates its arguments anyway), and the tool is skipped otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

PREFIX = "mcp"
SEP = "__"
MAX_NAME = 64
MAX_SCHEMA_BYTES = 64 * 1024
MAX_INLINED_NODES = 20_000
"""A schema's size once its local `$ref`s are inlined. Providers that take no `$ref` (Gemini)
get them inlined by the core, to `REF_DEPTH` levels: references that fan out, in a cycle or
down a chain, would grow one tool's schema to megabytes (12 references to the schema itself
make 12^8 copies)."""
REF_DEPTH = 8
"""How deep the core's Gemini converter follows `$ref`s (`google_gemini/schema.rs`)."""
_BAD = re.compile(r"[^A-Za-z0-9_-]")
_TOP_LEVEL_REJECTED = ("oneOf", "anyOf", "allOf", "not", "enum", "const")


def tool_name(server: str, tool: str) -> str:
    """`mcp__<server>__<tool>`, with characters providers reject replaced by `_` and, when
    too long, cut with a short hash of the whole so two long names stay distinct."""
    name = _BAD.sub("_", f"{PREFIX}{SEP}{server}{SEP}{tool}")
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(f"{server}/{tool}".encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def split_name(name: str) -> tuple[str, str] | None:
    """(server, tool) from `mcp__server__tool`, or None for another tool's name."""
    if not name.startswith(PREFIX + SEP):
        return None
    server, sep, tool = name[len(PREFIX) + len(SEP) :].partition(SEP)
    return (server, tool) if sep and server and tool else None


@dataclass(frozen=True)
class Checked:
    schema: dict[str, Any] | None
    """None: the tool is skipped."""
    notes: list[str]
    """What was repaired, or why it was skipped."""


def check_schema(raw: Any) -> Checked:
    if raw is None:
        return Checked({"type": "object", "properties": {}}, ["no input schema; sent as an empty object schema"])
    if not isinstance(raw, dict):
        return Checked(None, ["the input schema is not a JSON object"])
    try:
        size = len(json.dumps(raw, allow_nan=False))
    except (TypeError, ValueError) as e:
        return Checked(None, [f"the input schema is not plain JSON ({e})"])
    except RecursionError:
        return Checked(None, ["the input schema is nested too deeply"])
    if size > MAX_SCHEMA_BYTES:
        return Checked(None, [f"the input schema is {size} bytes, over {MAX_SCHEMA_BYTES}"])
    if _has_remote_ref(raw):
        return Checked(None, ["the input schema refers to another document ($ref outside it)"])
    if _inlined_over(raw, MAX_INLINED_NODES):
        return Checked(
            None, [f"the input schema's $refs expand to over {MAX_INLINED_NODES} parts once inlined (cycles fan out)"]
        )
    schema = dict(raw)
    notes: list[str] = []
    kind = schema.get("type")
    if kind is None:
        schema["type"] = "object"
        notes.append('added "type": "object"')
    elif kind != "object":
        return Checked(None, [f'the input schema has "type": {json.dumps(kind)}, not "object"'])
    dropped = [k for k in _TOP_LEVEL_REJECTED if k in schema]
    for key in dropped:
        del schema[key]
    if dropped:
        notes.append(f"dropped top-level {', '.join(dropped)} (providers reject them)")
    props = schema.get("properties")
    if props is None:
        schema["properties"] = {}
    elif not isinstance(props, dict):
        return Checked(None, ['"properties" is not an object'])
    required = schema.get("required")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            del schema["required"]
            notes.append('dropped a malformed "required"')
        else:
            kept = [r for r in required if r in schema["properties"]]
            if len(kept) != len(required):
                schema["required"] = kept
                notes.append('dropped "required" names that are not properties')
    return Checked(schema, notes)


def _inlined_over(root: dict[str, Any], budget: int) -> bool:
    """Whether the schema with its local `$ref`s inlined (to `REF_DEPTH`) has over `budget`
    parts; stops counting at the budget, so a reference bomb costs no more than that."""
    stack: list[tuple[Any, int]] = [(root, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > budget:
            return True
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and depth < REF_DEPTH:
                target = _resolve(root, ref)
                if target is not None:
                    stack.append((target, depth + 1))
            stack.extend((v, depth) for k, v in node.items() if k != "$ref")
        elif isinstance(node, list):
            stack.extend((v, depth) for v in node)
    return False


def _resolve(root: dict[str, Any], ref: str) -> Any:
    """A local JSON pointer (`#`, `#/$defs/node`) in `root`, or None."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for part in ref[1:].split("/")[1:] if ref != "#" else []:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _has_remote_ref(value: Any) -> bool:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return True
        return any(_has_remote_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_remote_ref(v) for v in value)
    return False
