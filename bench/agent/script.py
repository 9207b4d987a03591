"""The scripted task every agent gets, in each agent's own reply format, and its checks.

Turn k (0-based) of T: an even turn reads a small file (`f{k}.txt`, holding `token-{k}-ok`), an
odd turn runs `true && echo ran-{k}` (the `echo` makes the result checkable: a bare `true`
prints nothing any agent could be caught lying about). After T tool turns the model answers.
Aider has no tools: its turn k is a SEARCH/REPLACE edit of line k of `notes.txt` (`todo` ->
`done`), and the check is that the next request shows the file with that line edited.

mini-swe-agent 2.x gets native calls of its one `bash` tool (`cat` for the reads) and a last
call that prints its submit line, as its default config asks; it does not stream, so it gets
each reply as one chat.completion (after the same 4 s in the paced variant).

The server calls `turn_of` (which turn a request is) and `check_result` (is the tool result it
carries the expected one); the harness calls `prepare_workspace` and `tool_kinds`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MODEL = "gpt-4.1"
"""The model id the server reports; models.dev (and litellm) price it at $2 / $8 per M tokens."""
PRICE_INPUT = 2.0
PRICE_OUTPUT = 8.0
TEXT_DELTAS = 200
FINAL_MARK = "BENCH-COMPLETE"
MINI_SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"

# Native tool names and argument shapes, per agent, as each agent's own tools define them.
TOOL_SETS: dict[str, dict[str, tuple[str, str]]] = {
    "skipjack": {"read": ("read", "path"), "bash": ("bash", "command")},
    "tunacode": {"read": ("read_file", "filepath"), "bash": ("bash", "command")},
    "kimi": {"read": ("ReadFile", "path"), "bash": ("Shell", "command")},
    # mini-swe-agent 2.x's default config (mini.yaml) gives the model one `bash` tool; reads
    # are `cat`, and it finishes on a call that prints its submit line.
    "mini": {"read": ("bash", "command"), "bash": ("bash", "command")},
}
SHELL_READS = {"mini"}


def read_file_name(k: int) -> str:
    return f"f{k:02d}.txt"


def marker(k: int) -> str:
    return f"token-{k:02d}-ok" if k % 2 == 0 else f"ran-{k:02d}"


def shell_command(k: int) -> str:
    return f"true && echo ran-{k:02d}"


def tool_kinds(turns: int) -> list[str]:
    """`read` or `bash` for each tool turn (aider's turns are all `edit`)."""
    return ["read" if k % 2 == 0 else "bash" for k in range(turns)]


def prepare_workspace(root: Path, turns: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for k in range(0, turns, 2):
        (root / read_file_name(k)).write_text(f"bench file {k}: {marker(k)}\n")
    (root / "notes.txt").write_text("".join(f"line {k:02d}: todo\n" for k in range(turns)))


def prompt(fmt: str, turns: int) -> str:
    if fmt == "aider":
        return "Mark line 00 of notes.txt done."
    return f"Work through the {turns} scripted steps, one tool call each, then say {FINAL_MARK}."


# -- reading requests ----------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def turn_of(fmt: str, request: dict[str, Any], n: int) -> int:
    """Which turn a request asks for: tool results so far (tools), or the request's index in
    the run (aider, whose history is rebuilt each time)."""
    messages = request.get("messages") or []
    if fmt.startswith("tools"):
        return sum(1 for m in messages if m.get("role") == "tool")
    return n


def check_result(fmt: str, request: dict[str, Any], k: int) -> bool:
    """Whether the request carries turn k-1's expected result (turn 0: the prompt arrived)."""
    messages = request.get("messages") or []
    if not messages:
        return False
    if k == 0:
        return any(m.get("role") == "user" for m in messages)
    if fmt.startswith("tools"):
        tool_messages = [m for m in messages if m.get("role") == "tool"]
        last = tool_messages[-1]
        return last.get("tool_call_id") == f"call_{k - 1:02d}" and marker(k - 1) in _text(last.get("content"))
    # aider: the file as aider shows it to the model has every edited line done, the next todo.
    whole = "\n".join(_text(m.get("content")) for m in messages)
    return f"line {k - 1:02d}: done" in whole and (f"line {k:02d}: todo" in whole or k >= _aider_lines(whole))


def _aider_lines(whole: str) -> int:
    n = 0
    while f"line {n:02d}: " in whole:
        n += 1
    return n


# -- replies ---------------------------------------------------------------------------


def _split(text: str, parts: int) -> list[str]:
    """`text` in exactly `parts` non-empty pieces (the 200 deltas of a turn)."""
    text = text.ljust(parts)
    size, extra = divmod(len(text), parts)
    out, i = [], 0
    for p in range(parts):
        step = size + (1 if p < extra else 0)
        out.append(text[i : i + step])
        i += step
    return out


def _filler(k: int, chars: int) -> str:
    words = f"Step {k}: doing the next scripted step now. "
    return (words * (chars // len(words) + 1))[:chars]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1767225600,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        },
        separators=(",", ":"),
    ).encode()


def usage_event(prompt_tokens: int, completion_tokens: int) -> bytes:
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1767225600,
            "model": MODEL,
            "choices": [],
            "usage": usage,
        },
        separators=(",", ":"),
    ).encode()


def reply_text(fmt: str, k: int, turns: int) -> str:
    final = k >= turns
    if fmt == "aider":
        if final:
            return _filler(k, TEXT_DELTAS * 3) + f" {FINAL_MARK}"
        edit = (
            f"notes.txt\n```\n<<<<<<< SEARCH\nline {k:02d}: todo\n=======\nline {k:02d}: done\n>>>>>>> REPLACE\n```\n"
        )
        return _filler(k, max(0, TEXT_DELTAS * 3 - len(edit))) + "\n\n" + edit
    return (
        _filler(k, TEXT_DELTAS * 3 - len(FINAL_MARK) - 1) + " " + FINAL_MARK if final else _filler(k, TEXT_DELTAS * 3)
    )


def tool_call(fmt: str, k: int, turns: int) -> dict[str, Any] | None:
    """Turn k's tool call, in the agent's own tool names (None: the turn answers in text)."""
    if not fmt.startswith("tools"):
        return None
    agent = fmt.partition("-")[2] or "skipjack"
    if k < turns:
        kind = tool_kinds(turns)[k]
        name, arg = TOOL_SETS[agent][kind]
        if kind == "bash":
            value = shell_command(k)
        else:
            value = f"cat {read_file_name(k)}" if agent in SHELL_READS else read_file_name(k)
    elif agent == "mini":
        name, arg, value = "bash", "command", MINI_SUBMIT
    else:
        return None
    return {
        "index": 0,
        "id": f"call_{k:02d}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps({arg: value})},
    }


def reply_events(fmt: str, k: int, turns: int) -> tuple[list[bytes], int, str]:
    """Turn k's SSE event payloads (without usage), its completion tokens and finish reason."""
    events = [_chunk({"role": "assistant", "content": ""})]
    events += [_chunk({"content": piece}) for piece in _split(reply_text(fmt, k, turns), TEXT_DELTAS)]
    completion = TEXT_DELTAS
    finish = "stop"
    call = tool_call(fmt, k, turns)
    if call is not None:
        events.append(_chunk({"tool_calls": [call]}))
        completion += 10
        finish = "tool_calls"
    events.append(_chunk({}, finish))
    return events, completion, finish


def reply_body(fmt: str, k: int, turns: int) -> tuple[dict[str, Any], int]:
    """Turn k as one non-streamed chat.completion (usage added by the server), for agents
    that never stream (mini-swe-agent's litellm model); its output tokens."""
    message: dict[str, Any] = {"role": "assistant", "content": reply_text(fmt, k, turns)}
    call = tool_call(fmt, k, turns)
    if call is not None:
        message["tool_calls"] = [{key: v for key, v in call.items() if key != "index"}]
    doc = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1767225600,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}],
    }
    return doc, TEXT_DELTAS + (10 if call else 0)
