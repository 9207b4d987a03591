"""`skipjack` entry point: parse the command line, dispatch, and turn user errors into one line.

argparse rather than Typer: `--version` and `--help` must start in well under 150 ms, and
Typer's import alone costs ~60 ms here; heavy modules are imported only by the command that
needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from skipjack import __version__
from skipjack.cli.inputs import Parser, base_url, check_text_argument, positive_int, usd_amount
from skipjack.errors import ExitCode, UserError
from skipjack.run_tag import tag_this_run

SUBCOMMANDS = (
    "run",
    "rpc",
    "acp",
    "sessions",
    "models",
    "config",
    "usage",
    "batch",
    "mcp",
    "skills",
    "commands",
    "agents",
    "rewind",
)


def add_agent_flags(p: argparse._ActionsContainer) -> None:
    """Flags shared by the interactive UI and `run`."""
    p.add_argument("--model", "-m", help="provider/model-id, from the registry or your config")
    p.add_argument("--base-url", type=base_url, help="any OpenAI- or Anthropic-compatible server (with --model NAME)")
    apis = [
        "openai-chat",
        "openai-responses",
        "anthropic-messages",
        "google-gemini",
        "google-vertex",
        "google-vertex-anthropic",
        "bedrock-converse",
    ]
    p.add_argument("--api", choices=apis, help="wire API for --base-url")
    p.add_argument("--api-key-env", help="environment variable holding the key for --base-url")
    p.add_argument("--approval", choices=["ask", "auto-edit", "yolo", "plan"], help="approval mode")
    p.add_argument("--max-turns", type=positive_int, help="stop after this many model turns")
    p.add_argument("--max-cost", type=usd_amount, help="stop once the run has cost this many USD")
    p.add_argument("--continue", "-c", dest="continue_session", action="store_true", help="continue the latest session")
    p.add_argument("--session", help="continue the session with this id")
    p.add_argument("--system-prompt-file", type=Path, help="replace the system prompt with this file's text")
    p.add_argument("--reasoning", choices=["minimal", "low", "medium", "high"], help="reasoning effort")
    p.add_argument("--cwd", type=Path, help="work in this directory")
    p.add_argument(
        "--sandbox-network",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="network for sandboxed commands this session (default: [sandbox] network, else off)",
    )
    p.add_argument(
        "--sandbox",
        choices=["read-only", "workspace-write", "full-access"],
        help="the sandbox for shell commands this run (default: [sandbox] mode, else by approval mode)",
    )
    p.add_argument(
        "--trust-project",
        action="store_true",
        help="apply this folder's .skipjack/config.toml in full for this run (approval mode, allow rules, providers)",
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; `only="run"` (or `rpc`, `acp`) builds just that command's
    parser, so a run does not import every other command's module to parse its flags."""
    p = Parser(
        prog="skipjack",
        description="A terminal coding agent. `skipjack` opens the terminal UI; `skipjack run PROMPT` runs headless.",
    )
    p.add_argument("--version", action="version", version=f"skipjack {__version__}")
    # Shown in `skipjack --help` so the UI's flags are documented where users look; the UI's
    # own parser (`build_tui_parser`) is what parses them.
    add_agent_flags(p.add_argument_group("the terminal UI: skipjack [PROMPT] [flags]"))
    # Subparsers are made with the parent's class (`Parser`); the commands' modules only need
    # the ArgumentParser interface.
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        p.add_subparsers(dest="command", metavar="{" + ",".join(SUBCOMMANDS) + "}"),
    )
    # A session's command builds its own parser only: the MCP servers are spawned after this.
    sessions = (only,) if only in ("run", "rpc", "acp") else ("run", "rpc", "acp")
    if "run" in sessions:
        run = sub.add_parser("run", help="run the agent headless until it finishes (prompt from the argument or stdin)")
        run.add_argument("prompt", nargs="?", help="the task; read from stdin when omitted")
        run.add_argument("--json", action="store_true", help="one JSON object per agent event on stdout")
        add_agent_flags(run)
    if "rpc" in sessions:
        rpc = sub.add_parser(
            "rpc", help="drive the agent from another program: JSON-line commands on stdin, events on stdout"
        )
        add_agent_flags(rpc)
    if "acp" in sessions:
        acp = sub.add_parser(
            "acp", help="serve an editor (Zed, JetBrains, Neovim, Emacs) over the Agent Client Protocol on stdio"
        )
        add_agent_flags(acp)
    if only in sessions:
        return p
    from skipjack.cli import (
        batch_cmd,
        config_cmd,
        extensions_cmd,
        mcp_cmd,
        models_cmd,
        rewind_cmd,
        sessions_cmd,
        usage_cmd,
    )

    sessions_cmd.add_parser(sub)
    models_cmd.add_parser(sub)
    config_cmd.add_parser(sub)
    usage_cmd.add_parser(sub)
    batch_cmd.add_parser(sub)
    mcp_cmd.add_parser(sub)
    extensions_cmd.add_parsers(sub)
    rewind_cmd.add_parser(sub)
    return p


def build_tui_parser() -> argparse.ArgumentParser:
    p = Parser(prog="skipjack", add_help=False)
    p.add_argument("prompt", nargs="?")
    add_agent_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Before anything is started, so all this run starts carries its tag (`tools._procgroup.
    # kill_tagged` sweeps them on a signal exit); fresh even under a parent skipjack.
    tag_this_run(os.environ)
    try:
        return dispatch(argv)
    except UserError as e:
        print(f"skipjack: {e}", file=sys.stderr)
        return int(e.code)
    except KeyboardInterrupt:
        return int(ExitCode.ABORTED)
    except BrokenPipeError:
        # `skipjack models list | head`: the reader left. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again, and exit as shells expect.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def dispatch(argv: list[str]) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        # What the UI's parser would say too (a first word is its prompt), without building it.
        command: str | None = argv[0]
    else:
        # The UI's parser knows which flags take a value, so `--model run` is a model name and
        # `--model X --help` asks for help rather than running a prompt named X.
        ui_args, _ = build_tui_parser().parse_known_args(argv)
        command = ui_args.prompt if ui_args.prompt in SUBCOMMANDS else None
    if command is None:
        if {"-h", "--help", "--version"} & set(argv):
            # `--version` alone needs none of the commands' modules.
            only = None if {"-h", "--help"} & set(argv) else "run"
            build_parser(only).parse_args([a for a in argv if a in ("-h", "--help", "--version")])
            return 0
        args = build_tui_parser().parse_args(argv)
        _check_text_arguments(args)
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            # A full-screen UI on a pipe writes escape codes into it and never exits: behave
            # like `skipjack run` instead.
            print("skipjack: not a terminal, so running headless (as `skipjack run`)", file=sys.stderr)
            args.json = False
            with _no_gc_while_starting():
                _prestart_mcp(args, _working_dir(args.cwd))
                from skipjack.cli.headless import run_headless

            return run_headless(args, _working_dir(args.cwd))
        with _no_gc_while_starting():
            _prestart_mcp(args, _working_dir(args.cwd))
            from skipjack.cli.interactive import run_interactive

        return run_interactive(args)
    args = build_parser(only=command).parse_args(argv)
    _check_text_arguments(args)
    cwd = _working_dir(getattr(args, "cwd", None))
    if args.command in ("run", "rpc"):
        with _no_gc_while_starting():
            _prestart_mcp(args, cwd)
    if args.command == "models":
        from skipjack.cli import models_cmd

        return models_cmd.run(args)
    if args.command == "config":
        from skipjack.cli import config_cmd

        return config_cmd.run(args, cwd)
    if args.command == "sessions":
        from skipjack.cli import sessions_cmd

        return sessions_cmd.run(args, cwd)
    if args.command == "usage":
        from skipjack.cli import usage_cmd

        return usage_cmd.run(args, cwd)
    if args.command == "batch":
        from skipjack.cli import batch_cmd

        return batch_cmd.run(args, cwd)
    if args.command == "mcp":
        from skipjack.cli import mcp_cmd

        return mcp_cmd.run(args, cwd)
    if args.command in ("skills", "commands", "agents"):
        from skipjack.cli import extensions_cmd

        return extensions_cmd.run(args, cwd)
    if args.command == "rewind":
        from skipjack.cli import rewind_cmd

        return rewind_cmd.run(args, cwd)
    if args.command == "rpc":
        return _run_rpc(args, cwd)
    if args.command == "acp":
        return _run_acp(args, cwd)
    from skipjack.safety.sandbox import probe_in_background

    # The sandbox probe spawns a process: let it run while the run imports and reads config.
    probe_in_background()
    with _no_gc_while_starting():
        from skipjack.cli.headless import run_headless

    return run_headless(args, cwd)


def _run_rpc(args: argparse.Namespace, cwd: Path) -> int:
    from skipjack.cli.options import options_from_args
    from skipjack.controller import Controller
    from skipjack.rpc.server import run_rpc

    controller = Controller.build(options_from_args(args, cwd), ask="events")
    if args.continue_session or args.session:
        controller.open_session(continue_latest=args.continue_session, session_id=args.session)
    return run_rpc(controller)


def _run_acp(args: argparse.Namespace, cwd: Path) -> int:
    import msgspec

    from skipjack.acp.server import run_acp
    from skipjack.cli.options import options_from_args
    from skipjack.controller import Controller
    from skipjack.safety.hook import AskUser

    options = options_from_args(args, cwd)

    def build(session_cwd: Path, ask: AskUser) -> Controller:
        # The editor names each session's directory; the flags hold for all of them.
        return Controller.build(msgspec.structs.replace(options, cwd=session_cwd), ask=ask)

    return run_acp(build, cwd)


@contextlib.contextmanager
def _no_gc_while_starting() -> Iterator[None]:
    """Cyclic garbage collection paused while a command imports its modules: the objects made
    then (classes, functions, module dicts) live as long as the process, so a collection
    during the imports finds nothing to free; `run` spent ~5% of its start in them. Then they
    are frozen (`gc.freeze`), so no later collection walks them either."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Frozen, they are never examined again: left young, the first collection after this
        # walked all of them (~3 ms), and the next older-generation collection again (5-12 ms),
        # both before the first request.
        gc.freeze()
        if was_enabled:
            gc.enable()


def _prestart_mcp(args: argparse.Namespace, cwd: Path) -> None:
    """The session's MCP servers start before the session's own (long) start: see `mcp.prestart`."""
    from skipjack.mcp.prestart import prestart

    prestart(cwd, os.environ, trust_project=getattr(args, "trust_project", False))


def _check_text_arguments(args: argparse.Namespace) -> None:
    for name in ("prompt", "model", "session", "id", "entry", "api_key_env", "base_url", "query", "provider"):
        value = getattr(args, name, None)
        label = f"--{name.replace('_', '-')}" if name in ("session", "api_key_env", "base_url") else name
        check_text_argument(label, value if isinstance(value, str) else None)


def _working_dir(flag: Path | None) -> Path:
    """`--cwd` (or the current directory) resolved; a symlink loop or a vanished current
    directory is a user error, not a traceback."""
    try:
        cwd = (flag if flag is not None else Path.cwd()).resolve()
    except (OSError, RuntimeError) as e:
        where = f"--cwd {flag}" if flag is not None else "the current directory"
        raise UserError(f"{where} cannot be used ({getattr(e, 'strerror', None) or e})") from None
    if flag is not None and not cwd.is_dir():
        raise UserError(f"--cwd {flag} is not a directory")
    return cwd


if __name__ == "__main__":
    sys.exit(main())
