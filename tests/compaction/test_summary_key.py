"""A compaction model on another provider carries its own provider's key, wherever that key
is set (environment or `[keys]` in the user config), and never the conversation's key."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env

from skipjack.llm.types import AssistantMessage, Message, TextContent, Usage, UserMessage
from skipjack.runtime import RunOptions, attach_session, build_runtime
from skipjack.sessions import Session, SessionStore
from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def _config(main: SSEServer, other: SSEServer, keys: str) -> str:
    return f"""model = "main/big"
{keys}
[compaction]
model = "other/cheap"
[providers.main]
base_url = "{main.url}"
api = "openai-chat"
api_key_env = "MAIN_TEST_KEY"
[providers.main.models.big]
context_window = 100000
[providers.other]
base_url = "{other.url}"
api = "openai-chat"
api_key_env = "OTHER_TEST_KEY"
[providers.other.models.cheap]
context_window = 32000
"""


def _history() -> list[AssistantMessage | UserMessage]:
    out: list[AssistantMessage | UserMessage] = []
    for i in range(12):
        out.append(UserMessage(f"question {i} " + "words " * 400))
        out.append(
            AssistantMessage(
                content=[TextContent("answer " * 400)],
                api="openai-chat",
                provider="main",
                model="big",
                usage=Usage.zero(),
                stop_reason="stop",
            )
        )
    return out


def _recorded(session: Session) -> list[Message]:
    for message in _history():
        session.append_message(message)
    return session.messages()


@pytest.mark.parametrize("where", ["config", "env"])
async def test_summary_request_to_another_provider_carries_that_providers_key(tmp_path: Path, where: str) -> None:
    with SSEServer() as main, SSEServer() as other:
        other.enqueue(turn_reply(ScriptedTurn(text="the summary")))
        env = isolated_env(tmp_path)
        (tmp_path / "config").mkdir()
        keys = '[keys]\nmain = "k-main"\nother = "k-other"' if where == "config" else ""
        if where == "env":
            env |= {"MAIN_TEST_KEY": "k-main", "OTHER_TEST_KEY": "k-other"}
        (tmp_path / "config" / "config.toml").write_text(_config(main, other, keys))
        project = tmp_path / "project"
        project.mkdir()
        runtime = build_runtime(RunOptions(cwd=project), env=env)
        assert runtime.agent.options.api_key == "k-main"
        session = SessionStore(env=env).create(project, "main/big")
        try:
            attach_session(runtime, session, resume=False)
            assert runtime.compactor is not None
            result = await runtime.compactor.compact(_recorded(session))
        finally:
            session.close()
        assert result is not None, runtime.compactor.errors
        assert len(other.requests) == 1
        assert other.requests[0].headers.get("authorization") == "Bearer k-other"
        assert not main.requests


async def test_summary_model_without_a_key_gets_none_not_the_conversations(tmp_path: Path) -> None:
    with SSEServer() as main, SSEServer() as other:
        other.enqueue(turn_reply(ScriptedTurn(text="the summary")))
        env = isolated_env(tmp_path)
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "config.toml").write_text(_config(main, other, '[keys]\nmain = "k-main"'))
        project = tmp_path / "project"
        project.mkdir()
        runtime = build_runtime(RunOptions(cwd=project), env=env)
        session = SessionStore(env=env).create(project, "main/big")
        try:
            attach_session(runtime, session, resume=False)
            assert runtime.compactor is not None
            await runtime.compactor.compact(_recorded(session))
        finally:
            session.close()
        assert other.requests
        assert "k-main" not in other.requests[0].headers.get("authorization", "")
