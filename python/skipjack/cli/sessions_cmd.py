"""`skipjack sessions`: list, show, export, fork and delete saved sessions."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from skipjack.errors import UserError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sessions", help="list, show, export, fork or delete saved sessions")
    ssub = p.add_subparsers(dest="sessions_command")
    ls = ssub.add_parser("list", help="this project's sessions, newest first")
    ls.add_argument("--all", action="store_true", help="every project's sessions")
    show = ssub.add_parser("show", help="a session's messages and costs")
    show.add_argument("id", help="a session id, or a prefix of one of this project's session ids")
    export = ssub.add_parser("export", help="a session as markdown")
    export.add_argument("id")
    export.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    fork = ssub.add_parser("fork", help="a new session with the history up to one entry")
    fork.add_argument("id")
    fork.add_argument("entry", nargs="?", help="entry id to fork at (default: the last)")
    delete = ssub.add_parser("delete", help="delete a session file")
    delete.add_argument("id", help="the whole session id (a prefix is not enough to delete)")


def run(args: argparse.Namespace, cwd: Path) -> int:
    from skipjack.llm.usage import cost_text
    from skipjack.sessions import SessionError, SessionNotFoundError, SessionStore

    store = SessionStore()
    command = args.sessions_command or "list"
    try:
        if command == "list":
            summaries = store.list(None if args.all else cwd)
            if not summaries:
                print("no sessions yet in this project" if not args.all else "no sessions yet")
                return 0
            for s in summaries:
                when = datetime.datetime.fromtimestamp(s.updated / 1000).strftime("%Y-%m-%d %H:%M")
                flag = f"  [unreadable: {s.error}]" if s.error else ""
                cost = cost_text(s.cost, s.unpriced)
                print(f"{s.id}  {when}  {s.model or '-':<32} {s.messages:>4} msgs  {cost}  {s.title}{flag}")
            return 0
        if command == "show":
            session = store.open(args.id, cwd)
            try:
                totals = session.usage_totals()
                print(f"{session.id}  {session.title}  (model {session.model}, cwd {session.cwd})")
                for model, usage in session.by_model().items():
                    print(f"  {model}: {usage.input:,} in, {usage.cache_read:,} cached, {usage.output:,} out, "
                          f"${usage.cost.total:.4f}")  # fmt: skip
                unpriced = session.unpriced_requests()
                print(f"  total: {totals.total_tokens:,} tokens, {cost_text(totals.cost.total, unpriced)}")
                for entry_id, message in session.context_entries():
                    text = _preview(message)
                    role = str(message.__struct_config__.tag)
                    print(f"  {entry_id}  {role:<11} {text}")
            finally:
                session.close()
            return 0
        if command == "export":
            markdown = store.export_markdown(args.id, cwd)
            if args.output:
                try:
                    args.output.write_text(markdown, encoding="utf-8")
                except OSError as e:
                    raise UserError(f"cannot write {args.output}: {e.strerror or e}") from None
                print(f"wrote {args.output}")
            else:
                print(markdown, end="")
            return 0
        if command == "fork":
            source_id = store.resolve_id(args.id, cwd)
            source = store.open(source_id)
            try:
                entries = source.all_entries()
                entry = args.entry or (entries[-1].id if entries else None)
            finally:
                source.close()
            if entry is None:
                raise UserError(f"session {source_id} has nothing to fork")
            forked = store.fork(source_id, entry)
            print(f"forked {source_id} at {entry} into {forked.id}; continue it with `skipjack --session {forked.id}`")
            forked.close()
            return 0
        store.delete(args.id)
        print(f"deleted {args.id}")
        return 0
    except SessionNotFoundError as e:
        raise UserError(f"{e}; `skipjack sessions list` shows this project's sessions") from e
    except SessionError as e:
        raise UserError(str(e)) from e


def _preview(message: object) -> str:
    content = getattr(message, "content", "")
    if isinstance(content, str):
        text = content
    else:
        parts = []
        for block in content:
            if hasattr(block, "text"):
                parts.append(block.text)
            elif hasattr(block, "name"):
                parts.append(f"[{block.name}]")
        text = " ".join(parts)
    text = " ".join(text.split())
    return text[:80] + ("…" if len(text) > 80 else "")
