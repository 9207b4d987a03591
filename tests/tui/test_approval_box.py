"""The approval box (issue 17, items 3-5): it shows the diff of a file change before asking,
sits above the prompt with the chat at its end, and keys typed before it appeared do not
answer it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual import events

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tools import ApplyPatchTool, default_tools
from skipjack.tui import approval
from skipjack.tui.approval import ApprovalBox

from .helpers import SIZE, approval_box, idle, make_app, screen_text, type_and_send, until, until_approval

PATCH = """*** Begin Patch
*** Update File: calc.py
@@ def area(w, h):
-    return w + h
+    return w - h
*** End Patch"""


@pytest.mark.parametrize(
    ("tool", "arguments", "removed", "added"),
    [
        ("edit", {"path": "calc.py", "old_text": "w + h", "new_text": "w * h"}, "return w + h", "return w * h"),
        ("write", {"path": "calc.py", "content": "def area(w, h):\n    return w ** h\n"}, "return w + h",
         "return w ** h"),
        ("apply_patch", {"input": PATCH}, "return w + h", "return w - h"),
    ],
)  # fmt: skip
async def test_a_file_change_is_shown_as_a_diff_before_it_is_approved(
    scripted: ScriptedModel, project: Path, env: dict[str, str], tool: str, arguments: dict[str, str], removed: str,
    added: str,
) -> None:  # fmt: skip
    (project / "calc.py").write_text("def area(w, h):\n    return w + h\n")
    scripted.enqueue(ScriptedTurn(tool_calls=[ScriptedToolCall(tool, arguments)]), ScriptedTurn(text="Done."))
    tools = [*default_tools(project), ApplyPatchTool(project)] if tool == "apply_patch" else None
    app = make_app(scripted, project, env, mode="ask", tools=tools)
    if tool == "write":  # write needs a read first: the model read the file in an earlier turn
        from skipjack.tools._files import content_hash, record_read
        from skipjack.tools._text import line_digests

        path = (project / "calc.py").resolve()
        assert app.agent is not None
        record_read(app.agent.tool_state, path, content_hash(path.read_bytes()), line_digests(path.read_text()))
    async with app.run_test(size=(100, 40)) as pilot:
        await type_and_send(pilot, app, "fix area")
        box = await until_approval(pilot, app)
        text = screen_text(app)
        assert f"-    {removed}" in text
        assert f"+    {added}" in text
        assert '"old_text"' not in text, "the diff, not the raw arguments"
        assert "*** Begin Patch" not in text
        assert box.diff is not None
        assert "@@ -1,2 +1,2 @@" in box.diff
        assert (project / "calc.py").read_text() == "def area(w, h):\n    return w + h\n", "a dry run writes nothing"
        await pilot.press("y")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        assert added in (project / "calc.py").read_text()


async def test_an_edit_the_tool_would_refuse_says_so_instead_of_a_diff(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    (project / "calc.py").write_text("def area(w, h):\n    return w + h\n")
    call = ScriptedToolCall("edit", {"path": "calc.py", "old_text": "not in the file", "new_text": "x"})
    scripted.enqueue(ScriptedTurn(tool_calls=[call]), ScriptedTurn(text="Oops."))
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=(100, 40)) as pilot:
        await type_and_send(pilot, app, "edit")
        box = await until_approval(pilot, app)
        assert box.diff is None
        assert "would refuse" in screen_text(app)
        assert "was not found" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: idle(app), what="the run")


async def test_the_box_sits_above_the_prompt_with_the_reply_in_view(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    """The chat is scrolled to its end first, and the box does not cover it or the status line."""
    long_reply = "\n\n".join(f"Paragraph {i} of the explanation." for i in range(40)) + "\n\nLAST LINE OF THE REPLY"
    call = ScriptedToolCall("bash", {"command": "pytest -q"})
    scripted.enqueue(ScriptedTurn(text=long_reply, tool_calls=[call]), ScriptedTurn(text="ok"))
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        for i in range(30):
            app.chat.notice(f"older line {i}")
        await pilot.pause(0.1)
        app.chat.scroll_home(animate=False)
        app.chat.release_anchor()
        # Scrolled up, as the user left it: the reply streams in below the view.
        app.input.insert("explain and test")
        app.post_message(events.Key("enter", None))
        box = await until_approval(pilot, app)
        await pilot.pause(0.2)
        assert box.region.bottom <= app.prompt_box.region.y, "docked above the prompt"
        assert app.status.region.y >= app.prompt_box.region.bottom, "the status line stays visible"
        assert not box.region.overlaps(app.chat.region), "the chat is not covered"
        assert app.chat.scroll_y >= app.chat.max_scroll_y - 1
        assert "LAST LINE OF THE REPLY" in screen_text(app)
        await pilot.press("n", "enter")
        await until(pilot, lambda: idle(app), what="the run")


def arm_now(box: ApprovalBox) -> None:
    """As if the user had looked at the box for a while."""
    box.shown_at = time.monotonic() - 3600


async def test_keys_typed_as_the_box_appears_do_not_answer_it(
    scripted: ScriptedModel, project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typing "any progress?" as the box appeared used to mean `a`: always allow."""
    # A guard long enough that a loaded machine cannot outlast it between the box appearing
    # and the keys below; `arm_now` ends it when the test says so.
    monkeypatch.setattr(approval, "ARM_DELAY_S", 600.0)
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "touch ran.txt"})]), ScriptedTurn(text="ok")
    )
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "go")
        box = await until_approval(pilot, app, armed=False)
        # A burst, as typed at speed: all of it in flight before the box could be read.
        for ch in "any progress?":
            app.post_message(events.Key(ch, ch))
        app.post_message(events.Key("enter", None))  # not a key that answers either
        # Printable keys go back to the prompt (all of them handled: slow under load).
        await until(pilot, lambda: app.input.text == "any progress?", what="the keys back in the prompt")
        await pilot.pause(0.1)  # and the Enter after them
        assert approval_box(app) is box
        assert not box.answered
        assert not (project / "ran.txt").exists()
        assert app.input.text == "any progress?"
        arm_now(box)
        await pilot.press("n")  # now an answer: deny, with a reason
        await pilot.press(*"not yet", "enter")
        await until(pilot, lambda: idle(app), what="the run")
        assert not (project / "ran.txt").exists()
        assert app.input.text == "any progress?", "the typed text is still there to send"
        assert app.focused is app.input


def test_the_guard_lasts_300_ms() -> None:
    assert pytest.approx(0.3) == approval.ARM_DELAY_S


async def test_a_second_question_after_an_answer_is_guarded_again(
    scripted: ScriptedModel, project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approval, "ARM_DELAY_S", 600.0)
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "touch one.txt"}, id="c1")]),
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "touch two.txt"}, id="c2")]),
        ScriptedTurn(text="ok"),
    )
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "go")
        first = await until_approval(pilot, app, armed=False)
        arm_now(first)
        await pilot.press("y")
        await until(pilot, lambda: approval_box(app) not in (None, first), what="the second question")
        second = approval_box(app)
        assert second is not None
        await pilot.press("y")  # a double press of the first answer
        await pilot.pause(0.1)
        assert not second.answered
        assert not (project / "two.txt").exists()
        arm_now(second)
        await pilot.press("y")
        await until(pilot, lambda: idle(app), what="the run")
        assert (project / "one.txt").exists()
        assert (project / "two.txt").exists()


async def test_a_click_elsewhere_leaves_the_keys_with_the_open_box(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "touch ran.txt"})]), ScriptedTurn(text="ok")
    )
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "go")
        box = await until_approval(pilot, app)
        await pilot.click("#prompt")
        await pilot.pause(0.1)
        assert app.focused is box
        await pilot.press("y")
        await until(pilot, lambda: idle(app), what="the run")
        assert (project / "ran.txt").exists()
