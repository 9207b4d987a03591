"""The bash tool: run a command in its own process group, streaming and spooling its output.

With a sandbox provider the command runs inside the OS sandbox the provider's policy describes
(`skipjack.safety.sandbox`, wired by the runtime). The tool sees the policy only through the
`CommandSandbox` protocol below, so this layer does not import the safety layer above it.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar, Protocol

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.safety.secrets import shell_env
from skipjack.tools._paths import resolve_path
from skipjack.tools._procgroup import stop_group

if TYPE_CHECKING:
    from skipjack.tools._output import SpooledOutput

DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 600.0
EOF_GRACE_S = 0.5
"""How long to keep reading after bash exits while a background child still holds the pipe."""

# Commands run unattended: pagers print straight through and anything that would open an
# editor or prompt for credentials takes its default instead of waiting for a person.
_ENV_OVERRIDES = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "SYSTEMD_PAGER": "",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "EDITOR": "true",
    "VISUAL": "true",
    "GIT_EDITOR": "true",
    "GIT_SEQUENCE_EDITOR": "true",
    "GIT_TERMINAL_PROMPT": "0",
    "DEBIAN_FRONTEND": "noninteractive",
    "PYTHONUNBUFFERED": "1",
}


def _command_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment a command runs with: `base`, the unattended overrides, and git told not
    to take a directory that merely looks like a bare repository as one.

    Why: a repository can ship (or the model can write, in auto-edit, without touching any
    `.git/`) a plain directory holding `HEAD`, `objects/`, `refs/` and a `config` that sets
    `core.worktree = ..` and `core.fsmonitor = "<any command>"`; an allowed `git status` run
    there (`cwd: "that-dir"`) would run the command without approval and past every deny rule.
    `safe.bareRepository` is honoured only from protected config, which the `GIT_CONFIG_*`
    variables are (git's `-c` in the environment); they are appended to any the user set.
    """
    env = dict(base) | _ENV_OVERRIDES
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    except ValueError:
        count = 0
    count = max(count, 0)
    env[f"GIT_CONFIG_KEY_{count}"] = "safe.bareRepository"
    env[f"GIT_CONFIG_VALUE_{count}"] = "explicit"
    env["GIT_CONFIG_COUNT"] = str(count + 1)
    return env


class BashArgs(msgspec.Struct, forbid_unknown_fields=True):
    command: Annotated[str, msgspec.Meta(description="The bash command line to run")]
    timeout: (
        Annotated[
            float,
            msgspec.Meta(gt=0, description=f"Seconds (default {DEFAULT_TIMEOUT_S:g}, max {MAX_TIMEOUT_S:g})"),
        ]
        | None
    ) = None
    cwd: Annotated[str, msgspec.Meta(description="Directory to run in, relative to the working one")] | None = None
    sandbox: Annotated[
        bool,
        msgspec.Meta(description="false to ask the user to run this command outside the sandbox"),
    ] = True


class CommandSandbox(Protocol):
    """What the bash tool needs of a sandbox policy (`skipjack.safety.sandbox.SandboxPolicy`)."""

    @property
    def mode(self) -> str: ...

    @property
    def confined(self) -> bool:
        """False for full access: the command may write anywhere (still process-tracked)."""
        ...

    def unavailable_reason(self) -> str | None: ...

    def outside(self) -> CommandSandbox:
        """The policy for a command the user let out of the sandbox."""
        ...

    def for_command(self, command: str) -> CommandSandbox:
        """The policy for this command line (e.g. with the network for an allowed installer)."""
        ...

    def command(self, argv: Sequence[str], cwd: Path) -> AbstractContextManager[list[str]]: ...

    def denial(self, output: str) -> str | None:
        """What the sandbox most likely blocked, judging by a failed command's output."""
        ...


SandboxProvider = Callable[[], CommandSandbox | None]
"""Read at every call, so a change of approval mode applies to the next command."""


class BashTool(Tool[BashArgs]):
    name: ClassVar[str] = "bash"
    description: ClassVar[str] = (
        "Run a command with `bash -c` in the working directory (or `cwd`). stdout and stderr are "
        "merged; stdin is empty, so nothing can prompt. Pagers print directly, editors are "
        f"no-ops. The default timeout is {DEFAULT_TIMEOUT_S:g} s (max {MAX_TIMEOUT_S:g}); on "
        "timeout the command and all its children are stopped. Background processes are "
        "stopped when the command ends. Long output shows its first and last 200 lines; the "
        "full output is saved to a file whose path is given (read it or grep it). Commands "
        "run in a sandbox that may block writes outside the project and network access; if "
        "the result says the sandbox blocked a command that needs it, call again with "
        "sandbox=false to ask the user to run it outside the sandbox."
    )
    Args = BashArgs

    def __init__(self, env: Mapping[str, str] | None = None, *, sandbox: SandboxProvider | None = None) -> None:
        # The model's shell never sees credentials: the runtime passes the environment with
        # every provider key variable dropped; without one, secret-looking names are dropped
        # from the environment as it is at each call.
        self.env = env
        self._sandbox = sandbox

    async def execute(self, args: BashArgs, ctx: ToolContext) -> ToolOutput:
        timeout = min(args.timeout or DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S)
        cwd = ctx.cwd if args.cwd is None else resolve_path(ctx.cwd, args.cwd)
        if not cwd.is_dir():
            return ToolOutput.error(f"cwd {args.cwd!r} is not a directory.")

        policy = self._sandbox() if self._sandbox is not None else None
        if policy is not None:
            policy = policy.for_command(args.command) if args.sandbox else policy.outside()
        if policy is not None and (reason := policy.unavailable_reason()) is not None:
            return ToolOutput.error(
                f"The {policy.mode} sandbox cannot run here: {reason}. Nothing was run. To run "
                "this command without a sandbox, call bash again with sandbox=false (the user "
                "will be asked)."
            )
        argv = ["bash", "-c", args.command]
        if policy is None:
            return await self._run(argv, args, ctx, cwd, timeout, None)
        with policy.command(argv, cwd) as wrapped:
            return await self._run(wrapped, args, ctx, cwd, timeout, policy)

    async def _run(
        self,
        argv: list[str],
        args: BashArgs,
        ctx: ToolContext,
        cwd: Path,
        limit_s: float,
        policy: CommandSandbox | None,
    ) -> ToolOutput:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        # The output pipe is ours, not the subprocess transport's: `Process.wait()` waits for
        # the transport's pipes to close too, which a background child holding stdout would
        # put off for as long as it lives.
        read_fd, write_fd = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                cwd=cwd,
                env=_command_env(
                    self.env if self.env is not None else shell_env(os.environ, key_vars=(), passthrough=())
                ),
                start_new_session=True,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        # The spool (and its temp-dir lookup) loads at the first command, not at every start.
        from skipjack.tools._output import SpooledOutput

        output = SpooledOutput(prefix="skipjack-bash-")
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        transport: asyncio.ReadTransport | None = None
        timed_out = False
        try:
            transport, pump = await loop.connect_read_pipe(lambda: _Pump(output, ctx.on_update), pipe)
            try:
                async with asyncio.timeout(limit_s):
                    await proc.wait()
                    # A background child may still hold stdout open; don't wait on it for long.
                    await asyncio.wait({pump.eof}, timeout=EOF_GRACE_S)
            except TimeoutError:
                timed_out = True
            await stop_group(proc)
            # A process that left the group (setsid) may still hold the pipe: stop reading.
            await asyncio.wait({pump.eof}, timeout=EOF_GRACE_S)
        except BaseException:
            await stop_group(proc)
            output.close()
            raise
        finally:
            if transport is not None:
                transport.close()
            else:
                pipe.close()
        if pump.error is not None:
            output.close()
            raise pump.error
        return _result(proc, output, args.command, cwd, limit_s, timed_out, time.monotonic() - started, policy)


class _Pump(asyncio.Protocol):
    """Feeds the command's output to the spool and, decoded, to the UI as it arrives."""

    def __init__(self, output: SpooledOutput, on_update: Callable[[str], None]) -> None:
        self._output = output
        self._on_update = on_update
        # Incremental, so a multi-byte character split across two reads is decoded whole.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.eof: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.error: Exception | None = None

    def data_received(self, data: bytes) -> None:
        self._output.feed(data)
        self._emit(self._decoder.decode(data))

    def connection_lost(self, exc: Exception | None) -> None:
        self._emit(self._decoder.decode(b"", final=True))
        if not self.eof.done():
            self.eof.set_result(None)

    def _emit(self, text: str) -> None:
        if not text or self.error is not None:
            return
        try:
            self._on_update(text)
        except Exception as exc:  # a UI callback bug must not cost the command's output
            self.error = exc


def _result(
    proc: asyncio.subprocess.Process,
    output: SpooledOutput,
    command: str,
    cwd: Path,
    timeout: float,
    timed_out: bool,
    duration: float,
    policy: CommandSandbox | None,
) -> ToolOutput:
    collected = output.finish()
    code = proc.returncode
    signal_name = None
    if code is not None and code < 0:
        try:
            signal_name = signal.Signals(-code).name
        except ValueError:
            signal_name = f"signal {-code}"
    if timed_out:
        status = f"timed out after {timeout:g} s; the command and its children were stopped"
    elif signal_name is not None:
        status = f"killed by {signal_name}"
    else:
        status = f"exit code {code}"
    body = collected.text.rstrip("\n") or "(no output)"
    footer = f"[{status} · {duration:.2f} s]"
    if collected.truncated:
        footer += f"\n[output cut; {collected.file_note}]"
    blocked = None
    if policy is not None and policy.confined and code != 0 and not timed_out:
        blocked = policy.denial(collected.text)
        if blocked is not None:
            footer += (
                f"\n[the sandbox ({policy.mode}) blocked this: {blocked}; to run it outside the "
                "sandbox, call bash again with sandbox=false (the user will be asked)]"
            )
    return ToolOutput.text(
        f"{body}\n{footer}",
        is_error=timed_out or code != 0,
        details={
            "command": command,
            "cwd": str(cwd),
            "exit_code": None if signal_name else code,
            "signal": signal_name,
            "timed_out": timed_out,
            "duration_s": round(duration, 3),
            "pid": proc.pid,
            "truncated": collected.truncated,
            "output_bytes": collected.total_bytes,
            "output_lines": collected.total_lines,
            "full_output_path": collected.full_output_path,
            "sandbox": None if policy is None else policy.mode,
            "sandbox_blocked": blocked,
        },
    )
