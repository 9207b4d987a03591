"""`skipjack rewind` and the snapshot clean-up of `skipjack sessions`, end to end: real
`skipjack run` processes against the scripted model, then rewinds in new processes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.checkpoints.helpers import read_tree
from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def _bash_turn(server: SSEServer, command: str, call_id: str) -> None:
    server.enqueue(
        turn_reply(
            ScriptedTurn(text="running", tool_calls=[ScriptedToolCall("bash", {"command": command}, id=call_id)])
        ),
        turn_reply(ScriptedTurn(text="done")),
    )


def _run(repo: Path, env: dict[str, str], prompt: str, *extra: str) -> None:
    out = run_cli("run", "--approval", "yolo", *extra, prompt, cwd=repo, env=env)
    assert out.returncode == 0, out.stderr


def test_rewind_a_session_resumed_in_a_new_process(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    env = isolated_env(tmp_path)
    (repo / "data.bin").write_bytes(bytes(range(256)) * 8)
    secret = repo / "private key"
    secret.write_text("k\n")
    secret.chmod(0o600)
    start = read_tree(repo)
    _bash_turn(server, "sed -i 's/world/sed/' hello.py && printf '\\001' >> data.bin && chmod 644 'private key'", "b1")
    _run(repo, env, "first change")
    after_first = read_tree(repo)
    _bash_turn(server, "rm hello.py && mkdir -p gen && echo out > gen/made.txt", "b2")
    _run(repo, env, "second change", "--continue")

    listed = run_cli("rewind", "--continue", "--list", "--json", cwd=repo, env=env)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    turns = data["turns"]
    assert [t["prompt"] for t in turns] == ["first change", "second change"]
    assert set(turns[0]["files_changed"]) == {"hello.py", "data.bin", "gen/made.txt", "private key"}
    assert set(turns[1]["files_changed"]) == {"hello.py", "gen/made.txt"}
    text = run_cli("rewind", "--continue", "--list", cwd=repo, env=env)
    assert "second change" in text.stdout

    files = run_cli("rewind", "--session", data["session"], "--to", "2", "--files-only", cwd=repo, env=env)
    assert files.returncode == 0, files.stderr
    assert read_tree(repo) == after_first
    assert "deleted  gen/made.txt" in files.stdout

    both = run_cli("rewind", "--session", data["session"], "--to", "1", "--json", cwd=repo, env=env)
    assert both.returncode == 0, both.stderr
    result = json.loads(both.stdout)
    assert read_tree(repo) == start, "bytes, modes (600 again) and deletions all undone"
    assert result["prompt"] == "first change"
    assert result["forked_from"] == data["session"]
    assert result["session"] != data["session"]
    sessions = run_cli("sessions", "list", cwd=repo, env=env).stdout
    assert data["session"] in sessions, "the abandoned branch is still listed"
    assert result["session"] in sessions


def test_a_hand_edit_is_a_conflict_exit_2_until_yes(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    env = isolated_env(tmp_path)
    _bash_turn(server, "echo generated > out.txt && echo 'print(1)' > hello.py", "b1")
    _run(repo, env, "generate")
    (repo / "hello.py").write_text("my hand edit\n")
    out = run_cli("rewind", "--continue", "--to", "1", "--files-only", cwd=repo, env=env)
    assert out.returncode == 2
    assert "conflict: hello.py" in out.stderr
    assert (repo / "hello.py").read_text() == "my hand edit\n", "kept"
    assert (repo / "out.txt").exists(), "nothing at all restored without --yes"
    out = run_cli("rewind", "--continue", "--to", "1", "--files-only", "--yes", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").read_text() == 'print("hello world")\n'
    assert not (repo / "out.txt").exists()


def test_conversation_only_leaves_the_files(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    env = isolated_env(tmp_path)
    _bash_turn(server, "echo new > new.txt", "b1")
    _run(repo, env, "make new")
    out = run_cli("rewind", "--continue", "--to", "1", "--conversation-only", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert (repo / "new.txt").exists()
    assert "turn 1's prompt was: make new" in out.stdout


def test_bad_turns_and_sessions_are_usage_errors(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    env = isolated_env(tmp_path)
    out = run_cli("rewind", "--continue", "--list", cwd=repo, env=env)
    assert out.returncode == 2
    assert "no session" in out.stderr
    server.enqueue(turn_reply(ScriptedTurn(text="hi")))
    _run(repo, env, "hello")
    for args in (["--to", "5"], ["--to", "0"], ["--to", "-1"], ["--to", "one"]):
        out = run_cli("rewind", "--continue", *args, cwd=repo, env=env)
        assert out.returncode == 2, (args, out.stdout)
    out = run_cli("rewind", "--session", "../../etc", "--list", cwd=repo, env=env)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_sessions_delete_and_gc_free_the_snapshots(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    env = isolated_env(tmp_path)
    (repo / "big.txt").write_text("x" * 300_000)
    _bash_turn(server, "head -c 400000 /dev/urandom > noise.bin", "b1")
    _run(repo, env, "make noise")
    snapshots = Path(env["SKIPJACK_DATA_DIR"]) / "snapshots"
    assert any(snapshots.iterdir())
    session = json.loads(run_cli("rewind", "--continue", "--list", "--json", cwd=repo, env=env).stdout)["session"]
    out = run_cli("sessions", "delete", session, cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert "freed" in out.stdout
    assert not any(snapshots.iterdir()), "the project's last session gone: its shadow repository too"
    out = run_cli("sessions", "gc", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("freed 0 B")


def test_retention_drops_old_snapshots_and_keeps_recent(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    env = isolated_env(tmp_path)
    (repo / "old.bin").write_bytes(os.urandom(500_000))
    server.enqueue(turn_reply(ScriptedTurn(text="a")))
    _run(repo, env, "old turn")
    (repo / "old.bin").unlink()
    server.enqueue(turn_reply(ScriptedTurn(text="b")))
    _run(repo, env, "new turn", "--continue")

    def available() -> list[bool]:
        out = run_cli("rewind", "--continue", "--list", "--json", cwd=repo, env=env)
        return [t["available"] for t in json.loads(out.stdout)["turns"]]

    out = run_cli("sessions", "gc", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert available() == [True, True], "within the default 30 days everything is kept"
    config = tmp_path / "config" / "config.toml"
    config.write_text(config.read_text() + "[checkpoints]\nretention_days = 0\n")
    out = run_cli("sessions", "gc", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    amount, unit = out.stdout.split()[1:3]
    assert unit == "MiB" or (unit == "KiB" and float(amount) >= 400), out.stdout
    # The old turn's tree (with old.bin) is gone; the new one equals the files now, which a
    # listing snapshots again.
    assert available() == [False, True]
    out = run_cli("rewind", "--continue", "--to", "1", "--files-only", cwd=repo, env=env)
    assert out.returncode == 2
    assert "gone" in out.stderr
    assert subprocess.run(["git", "status"], cwd=repo, capture_output=True, check=False).returncode == 0
