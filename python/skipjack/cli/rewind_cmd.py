"""`skipjack rewind`: list a session's checkpoints, or rewind its files and/or conversation.

Exit codes: 0 done; 2 a usage error, or files changed by hand since the checkpoint that only
`--yes` may overwrite (nothing is written then).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from skipjack.cli.inputs import positive_int
from skipjack.errors import ExitCode, UserError

PROMPT_CHARS = 72


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rewind",
        help="list a session's checkpoints, or put files and/or conversation back to before a turn",
        description="Checkpoints are taken before every user turn. `--list` shows them; `--to N` "
        "restores the files as they were before turn N and forks the conversation there.",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--session", help="the session (an id, or a prefix of one of this project's)")
    which.add_argument("--continue", "-c", dest="continue_session", action="store_true", help="the latest session")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="the user turns with time, prompt and files changed since")
    action.add_argument("--to", type=positive_int, metavar="TURN", help="rewind to before this turn (see --list)")
    only = p.add_mutually_exclusive_group()
    only.add_argument("--files-only", action="store_true", help="restore the files, keep the conversation")
    only.add_argument("--conversation-only", action="store_true", help="fork the conversation, leave the files")
    p.add_argument("--yes", "-y", action="store_true", help="overwrite files changed by hand since the checkpoint")
    p.add_argument("--diff", action="store_true", help="with --to: print the diff being applied")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--cwd", type=Path, help="the project (default: the current directory)")


def run(args: argparse.Namespace, cwd: Path) -> int:
    import json  # here, not at the top: `skipjack --help` builds this parser and must start fast

    from skipjack.config import ConfigError, load_config
    from skipjack.controller.checkpointing import RewindConflict, RewindMode, TurnCheckpoints, run_rewind
    from skipjack.controller.events import Event, Warning_
    from skipjack.sessions import SessionError, SessionNotFoundError, SessionStore

    store = SessionStore()
    try:
        if args.session:
            session = store.open(args.session, cwd)
        else:
            latest = store.latest(cwd)
            if latest is None:
                raise UserError(f"there is no session in {cwd}; `skipjack sessions list --all` lists every project's")
            session = latest
    except SessionNotFoundError as e:
        raise UserError(f"{e}; `skipjack sessions list` shows this project's sessions") from e
    except SessionError as e:
        raise UserError(str(e)) from e
    project = Path(session.header.project)
    try:
        settings = load_config(project if project.is_dir() else cwd).settings.checkpoints
    except ConfigError as e:
        raise UserError(str(e)) from e

    def say(event: Event) -> None:
        if isinstance(event, Warning_):
            print(f"skipjack: {event.message}", file=sys.stderr)

    checkpoints = TurnCheckpoints(settings, project, None, say)
    try:
        if args.list:
            return _list(checkpoints, session, as_json=args.json)
        mode: RewindMode = "files" if args.files_only else "conversation" if args.conversation_only else "both"
        if mode != "conversation":
            _refuse_if_in_use(session.path)
        try:
            outcome = run_rewind(
                checkpoints,
                session,
                kind="rewind",
                turn=args.to,
                mode=mode,
                overwrite_conflicts=True if args.yes else None,
                fork=lambda entry_id: store.fork(session.id, entry_id),
            )
        except RewindConflict as e:
            plan = e.plan
            if args.json:
                print(json.dumps({"conflicts": plan.conflicts, "turn": plan.turn.number, "restored": False}))
            print(f"skipjack: nothing restored: {e}", file=sys.stderr)
            for path in plan.conflicts:
                print(f"  conflict: {path}", file=sys.stderr)
            return int(ExitCode.USAGE)
        if args.diff and outcome.plan is not None and not args.json:
            print(outcome.plan.diff, end="")
        r = outcome.restored
        if args.json:
            print(
                json.dumps(
                    {
                        "turn": outcome.turn,
                        "mode": mode,
                        "written": r.written,
                        "deleted": r.deleted,
                        "left": [{"path": s.path, "reason": s.reason} for s in r.left],
                        "session": outcome.session_id,
                        "forked_from": outcome.forked_from,
                        "prompt": outcome.prompt,
                    },
                    ensure_ascii=False,
                )
            )
            return 0
        if mode != "conversation":
            print(f"restored the files of turn {outcome.turn}: {len(r.written)} written, {len(r.deleted)} deleted")
            for path in r.written:
                print(f"  restored {path}")
            for path in r.deleted:
                print(f"  deleted  {path}")
            for s in r.left:
                print(f"  left     {s.path} ({s.reason})")
        if outcome.forked_from is not None:
            print(
                f"conversation rewound to before turn {outcome.turn} in a new session {outcome.session_id} "
                f"(session {outcome.forked_from} keeps the abandoned branch); continue it with "
                f"`skipjack --session {outcome.session_id}`"
            )
            print(f"turn {outcome.turn}'s prompt was: {outcome.prompt}")
        return 0
    finally:
        session.close()


def _list(checkpoints: Any, session: Any, *, as_json: bool) -> int:
    import datetime
    import json

    turns = checkpoints.turns(session)
    if as_json:
        print(json.dumps({"session": session.id, "turns": [t.to_json() for t in turns]}, ensure_ascii=False))
        return 0
    if not turns:
        print(f"session {session.id} has no checkpoints yet")
        return 0
    print(f"session {session.id}: rewind with `skipjack rewind --session {session.id} --to TURN`")
    for t in turns:
        when = datetime.datetime.fromtimestamp(t.ts / 1000).strftime("%Y-%m-%d %H:%M:%S")
        prompt = " ".join(t.prompt.split())
        prompt = prompt if len(prompt) <= PROMPT_CHARS else prompt[: PROMPT_CHARS - 1] + "…"
        files = f"{len(t.files_changed)} file(s) changed since" if t.available else "snapshot removed"
        print(f"{t.turn:>4}  {when}  {files:<26}  {prompt}")
        for path in t.files_changed[:10]:
            print(f"        {path}")
        if len(t.files_changed) > 10:
            print(f"        … and {len(t.files_changed) - 10} more")
    return 0


def _refuse_if_in_use(path: Path) -> None:
    """A session another skipjack process is writing is rewound from there (`/rewind`):
    files restored under a running agent would be recorded nowhere."""
    import fcntl

    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"session {path.stem} is open in another skipjack process; rewind it there (/rewind)"
            ) from None
        finally:
            os.close(fd)
