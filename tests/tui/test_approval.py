"""Approval prompts answered with one key: allow once, always (rule remembered), deny with a reason."""

from __future__ import annotations

from pathlib import Path

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.tool_panel import ToolPanel

from .helpers import SIZE, approval_box, idle, make_app, screen_text, type_and_send, until, until_approval


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
        await until_approval(pilot, app)
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
        await until_approval(pilot, app)
        await pilot.press("n")
        await pilot.press(*"keep the build")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        assert not (project / "gone.txt").exists()
        assert "keep the build" in tool_result(scripted, 1)
        panel = app.query_one(ToolPanel)
        assert panel.status == "denied"
        assert panel.has_class("-error")


async def test_escape_in_the_box_stops_the_run_as_everywhere_else(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    """Esc aborts a run wherever the focus is; in the box it used to mean "deny and go on"
    (issue 17, 16), so the model was asked again and went on with something else."""
    scripted.enqueue(bash_turn("touch x.txt"), ScriptedTurn(text="Fine, something else then."))
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "touch")
        await until_approval(pilot, app)
        await pilot.press("escape")
        await until(pilot, lambda: idle(app), what="the run to stop")
        await pilot.pause(0.2)
        assert not (project / "x.txt").exists()
        assert len(scripted.requests) == 1, "no further model request after Esc"
        assert approval_box(app) is None
        assert app.focused is app.input
        assert app.query_one(ToolPanel).status in ("denied", "stopped")


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
        await until_approval(pilot, app)
        # Narrow: the exact command (touch has no subcommands), never `touch *`.
        assert "always allow `bash: touch one.txt` this session" in screen_text(app)
        await pilot.press("a")
        # The second call matches the new rule: no second question.
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 3, what="the run")
        assert (project / "one.txt").exists()
        assert approval_box(app) is None


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
        await until(
            pilot, lambda: app.controller is not None and app.controller.approval_mode == "auto-edit", what="the mode"
        )
        assert "auto-edit" in app.status.content.plain  # type: ignore[union-attr]
