"""`expand_user` takes whatever a user, tasks file, client or model wrote without raising."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.user_paths import expand_user


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert expand_user("~/a b/c") == tmp_path / "a b" / "c"
    assert expand_user("~") == tmp_path


@pytest.mark.parametrize("text", ["~nosuchuser-skipjack/x", "./~c", "a/~/b", "~nosuchuser-skipjack"])
def test_what_does_not_resolve_stays_literal_and_never_raises(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOME", raising=False)
    assert expand_user(text) == Path(text)


def test_pathlib_would_have_raised_here() -> None:
    # Why the module exists: pathlib drops the `./` and looks up a user named `c`.
    with pytest.raises(RuntimeError):
        Path("./~c").expanduser()
