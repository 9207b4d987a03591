"""Approval prompts answered with one key: allow once, always (rule remembered), deny with a reason."""

from __future__ import annotations

from pathlib import Path

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.approval import ApprovalScreen
from skipjack.tui.tool_panel import ToolPanel

from .helpers import SIZE, idle, make_app, screen_text, type_and_send, until


def bash_turn(command: str, call_id: str = "call_0") -> ScriptedTurn:
    return ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": command}, id=call_id)])


def tool_result(scripted: ScriptedModel, request: int) -> str:
    results = [m for m in scripted.request_messages(request) if m["role"] == "tool"]
    content = results[-1]["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


async def test_allow_once_runs_the_command(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    scripted.enqueue(bash_turn("echo approved > out.txt"), ScriptedTurn(text="Done."))
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "write the file")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the approval prompt")
        text = screen_text(app)
        assert "echo approved > out.txt" in text
        assert "allow" in text
        assert app.status.state == "waiting for approval: bash"
        assert not (project / "out.txt").exists()  # nothing runs before the answer
        await pilot.press("y")
        await until(pilot, lambda: idle(app), what="the run")
        assert (project / "out.txt").read_text() == "approved\n"
        assert app.query_one(ToolPanel).status == "done"


async def test_deny_with_a_reason_reaches_the_model(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(bash_turn("rm -rf build && touch gone.txt"), ScriptedTurn(text="OK, I won't."))
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "clean up")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the approval prompt")
        await pilot.press("n")
        await pilot.press(*"keep the build")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        assert not (project / "gone.txt").exists()
        assert "keep the build" in tool_result(scripted, 1)
        panel = app.query_one(ToolPanel)
        assert panel.status == "denied"
        assert panel.has_class("-error")


async def test_escape_denies_without_a_reason(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    scripted.enqueue(bash_turn("touch x.txt"), ScriptedTurn(text="Fine."))
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "touch")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the approval prompt")
        await pilot.press("escape")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        assert not (project / "x.txt").exists()
        assert "declined" in tool_result(scripted, 1)


async def test_always_allow_adds_a_rule_for_the_session(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(
        bash_turn("touch one.txt", "c1"),
        bash_turn("touch  'one.txt'", "c2"),
        ScriptedTurn(text="Both ran."),
    )
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "touch twice")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the approval prompt")
        # Narrow: the exact command (touch has no subcommands), never `touch *`.
        assert "always `bash: touch one.txt`" in screen_text(app)
        await pilot.press("a")
        # The second call matches the new rule: no second question.
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 3, what="the run")
        assert (project / "one.txt").exists()
        assert not isinstance(app.screen, ApprovalScreen)


async def test_plan_mode_refuses_writes_without_asking(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    call = ScriptedToolCall("write", {"path": "new.txt", "content": "x"})
    scripted.enqueue(ScriptedTurn(tool_calls=[call]), ScriptedTurn(text="Planned only."))
    app = make_app(scripted, project, env, mode="plan")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "plan it")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        assert not (project / "new.txt").exists()
        assert "plan mode" in tool_result(scripted, 1)
        # /approval switches the mode for the session
        await type_and_send(pilot, app, "/approval auto-edit")
        await until(pilot, lambda: app.policy is not None and app.policy.mode == "auto-edit", what="the mode")
        assert "auto-edit" in app.status.content.plain  # type: ignore[union-attr]
