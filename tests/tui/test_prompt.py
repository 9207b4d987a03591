"""The prompt editor: multi-line input, history, `/` and `@` completion."""

from __future__ import annotations

from pathlib import Path

from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.tui.completion import complete
from skipjack.tui.messages import UserBubble

from .helpers import SIZE, idle, make_app, until

COMMANDS = [("model", "switch model"), ("new", "new conversation"), ("help", "help")]


def test_slash_completion_only_at_the_start() -> None:
    c = complete("/m", Path("."), COMMANDS)
    assert c is not None
    assert [i.value for i in c.items] == ["/model "]
    assert c.token == "/m"
    assert complete("/model x", Path("."), COMMANDS) is None
    assert complete("see /m", Path("."), COMMANDS) is None
    assert complete("/zzz", Path("."), COMMANDS) is None


def test_at_path_completion_walks_folders(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "main.py").write_text("")
    (tmp_path / "setup.cfg").write_text("")
    (tmp_path / ".hidden").write_text("")
    (tmp_path / ".git").mkdir()
    c = complete("look at @s", tmp_path, COMMANDS)
    assert c is not None
    assert c.token == "@s"
    assert [i.value for i in c.items] == ["@src/", "@setup.cfg "]  # folders first, files end the word
    c = complete("@src/", tmp_path, COMMANDS)
    assert c is not None
    assert [i.label for i in c.items] == ["src/pkg/", "src/main.py"]
    c = complete("@", tmp_path, COMMANDS)
    assert c is not None
    assert ".hidden" not in [i.label for i in c.items]
    c = complete("@.", tmp_path, COMMANDS)
    assert c is not None
    assert [i.label for i in c.items] == [".hidden"]  # never .git
    assert complete("mail me@example", tmp_path, COMMANDS) is None
    assert complete("@nothing-here", tmp_path, COMMANDS) is None


async def test_multiline_history_and_completion_in_the_app(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    (project / "README.md").write_text("# hi\n")
    scripted.enqueue(ScriptedTurn(text="one"), ScriptedTurn(text="two"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.input
        prompt.focus()
        await pilot.press(*"first line", "ctrl+j", *"second line")
        assert prompt.text == "first line\nsecond line"
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the run")
        assert scripted.request_messages(0)[-1]["content"] == "first line\nsecond line"

        await pilot.press(*"read @READ")
        assert app.prompt_box.menu.is_open
        await pilot.press("tab")
        assert prompt.text == "read @README.md "
        assert not app.prompt_box.menu.is_open
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")

        # Up walks back through what was sent, Down returns to the draft.
        await pilot.press(*"draft")
        await pilot.press("up")
        assert prompt.text == "read @README.md"
        await pilot.press("up")
        assert prompt.text == "first line\nsecond line"
        await pilot.press("down")
        assert prompt.text == "read @README.md"
        await pilot.press("down")
        assert prompt.text == "draft"

        prompt.clear()
        await pilot.press(*"/he")
        assert app.prompt_box.menu.is_open
        await pilot.press("enter")  # takes the completion...
        assert prompt.text == "/help "
        await pilot.press("enter")  # ...and then sends it
        assert prompt.text == ""
        assert [b.text for b in app.chat.query(UserBubble)] == ["first line\nsecond line", "read @README.md"]
