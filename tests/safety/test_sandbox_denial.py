"""`sandbox_denial`: the note a failed command gets when its output shows the sandbox refused
something (the patterns compile at first use, not at start)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skipjack.safety.sandbox import SandboxPolicy, sandbox_denial


def _policy(mode: str, network: bool = False) -> SandboxPolicy:
    return SandboxPolicy(mode=mode, project_root=Path("/p"), network=network)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "output",
    ["touch: cannot touch '/etc/x': Read-only file system", "open failed: EROFS", "rm: Device or resource busy"],
)
def test_a_write_refused_by_the_sandbox_is_explained_by_mode(output: str) -> None:
    assert "only the project" in (sandbox_denial(output, _policy("workspace-write")) or "")
    assert "only /tmp is writable" in (sandbox_denial(output, _policy("read-only")) or "")


@pytest.mark.parametrize(
    "output",
    [
        "curl: (6) Could not resolve host: example.com",
        "ssh: connect: Network is unreachable",
        "pip: Temporary failure in name resolution",
        "getaddrinfo EAI_AGAIN registry.npmjs.org",
    ],
)
def test_a_network_failure_is_explained_only_where_the_network_is_off(output: str) -> None:
    assert "network is off" in (sandbox_denial(output, _policy("workspace-write")) or "")
    assert sandbox_denial(output, _policy("workspace-write", network=True)) is None


def test_nothing_is_said_outside_the_sandbox_or_for_ordinary_output() -> None:
    assert sandbox_denial("Read-only file system", _policy("full-access")) is None
    assert sandbox_denial("all good, read only the docs", _policy("workspace-write")) is None
    # Case matters: the messages are the C library's own spellings.
    assert sandbox_denial("read-only FILE SYSTEM", _policy("workspace-write")) is None


def test_eperm_is_the_sandbox_s_doing_only_for_root() -> None:
    said = sandbox_denial("chown: Operation not permitted", _policy("workspace-write"))
    if os.geteuid() == 0:
        assert said is not None
        assert "capabilities are dropped" in said
    else:
        assert said is None
