"""`skipjack run` prints tool activity on stderr: escape sequences in a command or its failing
output must not reach the terminal (title, clear screen, cursor queries)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def test_tool_lines_on_stderr_carry_no_escape_sequences(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    command = "printf '\\033]0;pwned\\007\\033[2Jboom\\n'; echo '\x1b[6n'; exit 2"
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": command}, id="b1")])),
        turn_reply(ScriptedTurn(text="It failed.")),
    )
    out = run_cli("run", "--approval", "yolo", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "→ bash" in out.stderr
    assert "✗ bash: boom\n" in out.stderr  # the title and the clear screen are gone, not printed
    assert not CONTROL.search(out.stderr.replace("\n", "")), repr(out.stderr)
    assert "echo ''; exit 2" in out.stderr  # the raw ESC in the command line itself was dropped
    # The model saw the output without the sequences too.
    tool_message = server.requests[1].json()["messages"][-1]
    assert tool_message["content"].startswith("boom\n")
    assert "\x1b" not in tool_message["content"]
