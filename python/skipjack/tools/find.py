"""The find tool: file names matching globs, listed by ripgrep (so .gitignore is honoured)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._globs import GlobFilter
from skipjack.tools._paths import search_target
from skipjack.tools._rg import BASE_FLAGS, RgMissingError, run_rg

DEFAULT_MAX_RESULTS = 200
COUNT_BEYOND = 100_000


class FindArgs(msgspec.Struct, forbid_unknown_fields=True):
    pattern: Annotated[
        str | list[str],
        msgspec.Meta(description="Glob(s) for file paths, e.g. `*.py` or `src/**/test_*.ts`; `!` excludes"),
    ]
    path: Annotated[str, msgspec.Meta(description="Directory to search (default: working dir)")] | None = None
    ignore_case: bool = False
    max_results: Annotated[int, msgspec.Meta(ge=1, le=5000)] = DEFAULT_MAX_RESULTS


class FindTool(Tool[FindArgs]):
    name: ClassVar[str] = "find"
    description: ClassVar[str] = (
        "Find files whose paths match glob patterns, gitignore-style: `*.py` matches at any depth, "
        "`src/**/*.ts` under src, `!` excludes; globs match the paths as shown (relative to the "
        "working directory). .gitignore'd files and .git are skipped; hidden files are "
        "included. Sorted by path; at most max_results "
        f"(default {DEFAULT_MAX_RESULTS})."
    )
    Args = FindArgs

    async def execute(self, args: FindArgs, ctx: ToolContext) -> ToolOutput:
        patterns = [args.pattern] if isinstance(args.pattern, str) else args.pattern
        if not patterns:
            return ToolOutput.error("Give at least one glob pattern.")
        flags = ["--files", *BASE_FLAGS, "--"]
        wanted = GlobFilter(patterns, args.ignore_case)
        target = search_target(ctx.cwd, args.path)
        if target is not None:
            flags.append(target)

        found: list[str] = []
        total = 0

        def on_line(raw: bytes) -> bool:
            nonlocal total
            path = raw.decode("utf-8", "replace").rstrip("\n")
            if not wanted(path):
                return True
            total += 1
            if total <= args.max_results:
                found.append(path)
            return total <= args.max_results + COUNT_BEYOND

        try:
            run = await run_rg(flags, ctx.cwd, on_line)
        except RgMissingError as exc:
            return ToolOutput.error(str(exc))
        if run.returncode == 2 and not found:
            return ToolOutput.error(f"find failed: {run.stderr or 'rg exited with status 2'}")
        if not found:
            return ToolOutput.text("No files found.", details={"files": 0})
        text = "\n".join(found)
        if total > args.max_results:
            counted = "more than " if run.returncode is None else ""
            text += (
                f"\n\n[{counted}{total - args.max_results} more files not shown; "
                "narrow the pattern or path, or raise max_results]"
            )
        return ToolOutput.text(text, details={"files": total, "truncated": total > args.max_results})
