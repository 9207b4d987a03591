"""Small text helpers shared by the widgets: token counts, money, a tool call's key argument."""

from __future__ import annotations

import re
from typing import Any

from skipjack.llm.types import Model, ToolResultMessage, Usage, text_of
from skipjack.tools.apply_patch import patch_paths

_KEY_ARGS = {
    "bash": "command",
    "read": "path",
    "edit": "path",
    "write": "path",
    "grep": "pattern",
    "find": "pattern",
    "web_fetch": "url",
}


def plural(n: int, word: str) -> str:
    """`1 line`, `0 lines`, `3 lines`."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def count_lines(text: str) -> int:
    """Lines as a reader counts them: a final line ending starts no new line; `\r\n` is one
    ending; a lone `\r` (a progress bar rewriting its line) is none."""
    if not text:
        return 0
    parts = re.split(r"\r?\n", text)
    return len(parts) - 1 if parts[-1] == "" else len(parts)


def tokens(n: int) -> str:
    """`950`, `12.3k`, `1.2M`."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


def usd(x: float) -> str:
    if x == 0:
        return "$0"
    if x < 0.01:
        return f"${x:.4f}"
    return f"${x:.2f}"


def context_tokens(usage: Usage) -> int:
    """How much of the window the last request filled: its whole prompt plus its reply."""
    return usage.input + usage.cache_read + usage.cache_write + usage.output


def price_label(model: Model) -> str:
    p = model.price
    if p is None:
        return "price unknown"
    return f"${p.input:g}/${p.output:g}" if (p.input or p.output) else "free"


def window_label(model: Model) -> str:
    return tokens(model.context_window) if model.context_window else "?"


def one_line(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def tool_key_arg(name: str, arguments: dict[str, Any] | str) -> str:
    """The one argument that says what a call does (`pytest -q`, `src/a.py`), on one line."""
    if isinstance(arguments, str):
        return one_line(arguments)
    if name == "apply_patch" and isinstance(arguments.get("input"), str):
        return one_line(", ".join(patch_paths(arguments["input"])) or "(malformed patch)")
    key = _KEY_ARGS.get(name)
    if key is not None and isinstance(arguments.get(key), str):
        return str(arguments[key])
    if name == "todo" and isinstance(arguments.get("todos"), list):
        return f"{len(arguments['todos'])} items"
    for value in arguments.values():
        if isinstance(value, str):
            return value
    return ""


def result_text(result: ToolResultMessage) -> str:
    return text_of(result.content)
