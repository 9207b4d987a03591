"""An untrusted repository's `.mcp.json` (and `[mcp]` in its project config) starts nothing on
any path into a session: `run --continue`, `rpc` (and `rpc --continue`), `acp` (a session
the editor opens or loads in the repository, from an agent launched elsewhere) and `batch`
(whose task clones the repository)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import acp
from tests.acp.test_acp_e2e import RecordingClient
from tests.cli.helpers import SKIPJACK, isolated_env, run_cli
from tests.mcp_client.conftest import write_user_config
from tests.mcp_client.test_trust import _plant
from tests.rpc.client import RpcProcess

from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def _user_config(tmp_path: Path, server: SSEServer) -> None:
    """The model is the user's (trusted) choice; the user trusts no folder."""
    write_user_config(
        tmp_path,
        f'model = "scripted/m1"\n[providers.scripted]\nbase_url = "{server.url}"\napi = "openai-chat"\n'
        "[providers.scripted.models.m1]\ncontext_window = 100000\n",
    )


def _acp_session(tmp_path: Path, repo: Path, env: dict[str, str]) -> None:
    async def go() -> None:
        client = RecordingClient()
        # Launched outside the repository: the editor names it per session.
        async with acp.spawn_agent_process(client, str(SKIPJACK), "acp", cwd=tmp_path, env=env) as (conn, process):
            await asyncio.wait_for(conn.initialize(protocol_version=acp.PROTOCOL_VERSION), 30)
            sid = (await asyncio.wait_for(conn.new_session(cwd=str(repo), mcp_servers=[]), 30)).session_id
            await asyncio.wait_for(conn.prompt(session_id=sid, prompt=[acp.text_block("hi")]), 60)
            await asyncio.wait_for(conn.load_session(cwd=str(repo), session_id=sid, mcp_servers=[]), 30)
            assert process.stdin is not None
            process.stdin.close()
            await asyncio.wait_for(process.wait(), 30)

    asyncio.run(go())


def test_no_path_into_a_session_starts_an_untrusted_repositorys_servers(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    markers = _plant(repo, tmp_path)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], check=True
    )
    _user_config(tmp_path, server)
    env = isolated_env(tmp_path)
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | env
    for _ in range(6):
        server.enqueue(turn_reply(ScriptedTurn(text="hello")))

    # `run`, then `run --continue` of that session.
    out = run_cli("run", "--json", "hi", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    out = run_cli("run", "--continue", "--json", "again", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert not [e for e in map(json.loads, out.stdout.splitlines()) if e["type"] == "mcp_server"]
    assert ".mcp.json" in out.stderr

    # `rpc --continue`: state, then a prompt.
    rpc = RpcProcess("--continue", cwd=repo, env=env)
    try:
        state = rpc.call("get_state")
        assert state["success"], state
        assert state["data"]["mcp_servers"] == []
        assert rpc.call("prompt", text="and rpc")["success"]
        rpc.until("result", timeout=60)
        assert rpc.close() == 0
    finally:
        rpc.kill()

    # `acp`: a new session in the repository, a prompt, and the session loaded again.
    _acp_session(tmp_path, repo, full_env)

    # `batch`: the task's clone of the repository is no more trusted than the repository.
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "t1", "repo": str(repo), "prompt": "hi"}) + "\n")
    out = run_cli("batch", "run", str(tasks), "--out", "out", "--concurrency", "1", cwd=tmp_path, env=env, timeout=180)
    assert out.returncode in (0, 1), out.stderr + out.stdout
    assert (tmp_path / "out" / "results.jsonl").is_file(), out.stderr + out.stdout

    time.sleep(0.5)
    started = [m.name for m in markers if m.exists()]
    assert not started, f"an untrusted repository started {started}"
    assert len(server.requests) >= 5, "every path reached the model"
