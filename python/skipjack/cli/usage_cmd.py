"""`skipjack usage`: tokens and cost of every saved session, by day, week, month, session,
model or project."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

from skipjack.errors import UserError
from skipjack.user_paths import expand_user

VIEW_NAMES = ("daily", "weekly", "monthly", "sessions", "models", "projects")


def _date(text: str) -> datetime.date:
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("usage", help="tokens and cost by day, week, month, session, model or project")
    p.add_argument("view", nargs="?", default="daily", choices=VIEW_NAMES, help="how to group (default: daily)")
    p.add_argument("--since", type=_date, help="from this day (YYYY-MM-DD, local time)")
    p.add_argument("--until", type=_date, help="up to and including this day")
    p.add_argument("--project", help="a project folder, or `all` (default: all)")
    p.add_argument("--model", help="only this model (`provider/id` or `id`)")
    p.add_argument("--provider", help="only this provider")
    p.add_argument("--by", choices=["kind"], help="break rows out by kind: turn, compaction, retry, subagent")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="the report as JSON")
    out.add_argument("--csv", action="store_true", help="the report as CSV")


def run(args: argparse.Namespace, cwd: Path) -> int:
    from skipjack.reports import Filters, group, render, scan
    from skipjack.sessions import SessionStore
    from skipjack.sessions.store import project_root

    if args.since and args.until and args.since > args.until:
        raise UserError(f"--since {args.since} is after --until {args.until}")
    project = None
    if args.project and args.project != "all":
        path = expand_user(args.project)
        if not path.is_absolute():
            path = cwd / path
        if not path.is_dir():
            raise UserError(f"--project {args.project}: no such folder")
        project = str(project_root(path))
    filters = Filters(args.since, args.until, project, args.model, args.provider)
    root = SessionStore().root
    with _progress_bar() as progress:
        result = scan(root, progress=progress)
    requests = [r for r in result.requests if filters.keep(r)]
    rows = group(requests, args.view, by_kind=args.by == "kind")
    if args.json:
        print(render.as_json(args.view, rows, result.problems))
        return 0
    if args.csv:
        sys.stdout.write(render.as_csv(rows))
        _problems_to_stderr(result.problems)
        return 0
    if not rows:
        print("no usage recorded" + (" for these filters" if result.requests else " yet"))
        _problems_to_stderr(result.problems)
        return 0
    from rich.console import Console

    console = Console()
    console.print(render.as_table(args.view, rows))
    for note in render.footnotes(rows, result.problems):
        console.print(note, style="dim", highlight=False, markup=False)
    _problems_to_stderr(result.problems)
    return 0


def _problems_to_stderr(problems: list[Any]) -> None:
    for p in problems:
        print(f"skipjack: skipped {p}", file=sys.stderr)


class _progress_bar:
    """A Rich progress bar on stderr, shown only on a terminal and only past one second."""

    def __enter__(self) -> Any:
        from skipjack.reports.scan import DelayedProgress

        self._progress: Any = None
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("reading sessions"), BarColumn(), DownloadColumn(), console=Console(stderr=True), transient=True
        )
        task: Any = None

        def show(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                self._progress.start()
                task = self._progress.add_task("read", total=total)
            self._progress.update(task, completed=done)

        return DelayedProgress(show)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
