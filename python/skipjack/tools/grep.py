"""The grep tool: a regex search with ripgrep, results tagged like the read tool's lines."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Annotated, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._globs import GlobFilter
from skipjack.tools._paths import search_target
from skipjack.tools._rg import BASE_FLAGS, RgMissingError, run_rg
from skipjack.tools._text import line_hash, strip_eol

DEFAULT_MAX_MATCHES = 100
MAX_LINE_CHARS = 500
COUNT_BEYOND = 20_000
"""After the shown matches, how many more to count before stopping rg."""


class GrepArgs(msgspec.Struct, forbid_unknown_fields=True):
    pattern: Annotated[str, msgspec.Meta(description="Regular expression (Rust regex syntax)")]
    path: Annotated[str, msgspec.Meta(description="File or directory to search (default: working dir)")] | None = None
    glob: (
        Annotated[
            str | list[str],
            msgspec.Meta(description="Gitignore-style globs for the files to search, e.g. `*.py`; `!` excludes"),
        ]
        | None
    ) = None
    ignore_case: bool = False
    literal: Annotated[bool, msgspec.Meta(description="Treat pattern as plain text, not a regex")] = False
    context: Annotated[int, msgspec.Meta(ge=0, le=20, description="Lines of context around each match")] = 0
    max_matches: Annotated[int, msgspec.Meta(ge=1, le=2000)] = DEFAULT_MAX_MATCHES


class _Text(msgspec.Struct):
    text: str | None = None
    bytes: str | None = None

    def decoded(self) -> str:
        if self.text is not None:
            return self.text
        return base64.b64decode(self.bytes or "").decode("utf-8", "replace")


class _LineData(msgspec.Struct):
    path: _Text
    lines: _Text
    line_number: int | None = None


class _Message(msgspec.Struct):
    type: str
    data: msgspec.Raw


class _Hit(msgspec.Struct):
    """One matching or context line."""

    path: str
    lineno: int
    text: str
    is_match: bool


class GrepTool(Tool[GrepArgs]):
    name: ClassVar[str] = "grep"
    description: ClassVar[str] = (
        "Search file contents for a regular expression (ripgrep; .gitignore'd files and .git are "
        "skipped, hidden files are searched). Results are grouped by file, each line tagged "
        "`LINE:HASH|text` like the read tool's, so the tags can go straight to the edit tool. "
        "With `context`, matching lines start with `> `. Paths are relative to the working "
        f"directory. Shows at most max_matches (default {DEFAULT_MAX_MATCHES}) matching lines."
    )
    Args = GrepArgs

    async def execute(self, args: GrepArgs, ctx: ToolContext) -> ToolOutput:
        flags = ["--json", *BASE_FLAGS]
        if args.ignore_case:
            flags.append("--ignore-case")
        if args.literal:
            flags.append("--fixed-strings")
        if args.context:
            flags += ["--context", str(args.context)]
        flags += ["--regexp", args.pattern, "--"]
        wanted = GlobFilter([args.glob] if isinstance(args.glob, str) else (args.glob or []))
        target = search_target(ctx.cwd, args.path)
        if target is not None:
            flags.append(target)

        hits: list[_Hit] = []
        matches = 0
        matched_in: Counter[str] = Counter()
        decoder = msgspec.json.Decoder(_Message)
        data_decoder = msgspec.json.Decoder(_LineData)

        def on_line(raw: bytes) -> bool:
            nonlocal matches
            message = decoder.decode(raw)
            if message.type not in ("match", "context"):
                return True
            data = data_decoder.decode(message.data)
            path = data.path.decoded()
            if not wanted(path):
                return True
            is_match = message.type == "match"
            if is_match:
                matches += 1
                if matches > args.max_matches + COUNT_BEYOND:
                    return False
            if matches > args.max_matches:
                return True
            if is_match:
                matched_in[path] += 1
            hits.append(_Hit(path, data.line_number or 0, strip_eol(data.lines.decoded()), is_match))
            return True

        try:
            run = await run_rg(flags, ctx.cwd, on_line)
        except RgMissingError as exc:
            return ToolOutput.error(str(exc))
        if run.returncode == 2 and not hits:
            return ToolOutput.error(f"grep failed: {run.stderr or 'rg exited with status 2'}")
        if not hits:
            note = " (search timed out)" if run.timed_out else ""
            return ToolOutput.text(f"No matches.{note}", details={"matches": 0})

        text = _render(_trim_trailing_context(hits, args.context), show_kinds=args.context > 0)
        shown = min(matches, args.max_matches)
        footer = [f"[{shown} matching lines in {len(matched_in)} files]"]
        if matches > args.max_matches:
            more = matches - args.max_matches
            counted = "more than " if run.returncode is None else ""
            footer.append(
                f"[{counted}{more} more matches not shown; narrow the pattern, path or glob, or raise max_matches]"
            )
        if run.timed_out:
            footer.append("[the search timed out; results are incomplete]")
        if run.returncode == 2 and run.stderr:
            footer.append(f"[some files could not be searched: {run.stderr.splitlines()[0]}]")
        return ToolOutput.text(
            text + "\n\n" + "\n".join(footer),
            details={"matches": matches, "files": len(matched_in), "truncated": matches > args.max_matches},
        )


def _trim_trailing_context(hits: list[_Hit], context: int) -> list[_Hit]:
    """Drop context lines read past the last shown match (they lead up to an unshown one)."""
    last = max(i for i, h in enumerate(hits) if h.is_match)
    anchor = hits[last]
    keep = hits[: last + 1]
    for hit in hits[last + 1 :]:
        if hit.path != anchor.path or hit.lineno > anchor.lineno + context:
            break
        keep.append(hit)
    return keep


def _render(hits: list[_Hit], show_kinds: bool) -> str:
    out: list[str] = []
    prev: _Hit | None = None
    for hit in hits:
        if prev is None or hit.path != prev.path:
            if out:
                out.append("")
            out.append(hit.path)
        elif hit.lineno != prev.lineno + 1:
            out.append("--")
        text = hit.text
        if len(text) > MAX_LINE_CHARS:
            text = f"{text[:MAX_LINE_CHARS]}… [line cut: {len(text)} characters]"
        kind = ("> " if hit.is_match else "  ") if show_kinds else ""
        out.append(f"{kind}{hit.lineno}:{line_hash(hit.text)}|{text}")
        prev = hit
    return "\n".join(out)
