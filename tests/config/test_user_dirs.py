"""skipjack's own XDG folders are the ones platformdirs gives, however HOME and XDG_* are spelled:
a difference would move a user's config, sessions or cache."""

from __future__ import annotations

import itertools
import sys

import platformdirs
import pytest

from skipjack import user_dirs
from skipjack.errors import UserError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the XDG rules are worked out on Linux only")

HOMES = [None, "", "/home/u", "/home/u/", "/", "relative/home", "~", "/home/with space"]
XDGS = [None, "", "/x/y", "/x/y/", "/", "relative", " /x", "~/x", "/x/../y"]


@pytest.mark.parametrize(
    ("ours", "theirs", "variable"),
    [
        (user_dirs.user_config_dir, platformdirs.user_config_dir, "XDG_CONFIG_HOME"),
        (user_dirs.user_data_dir, platformdirs.user_data_dir, "XDG_DATA_HOME"),
        (user_dirs.user_cache_dir, platformdirs.user_cache_dir, "XDG_CACHE_HOME"),
    ],
)
def test_the_folders_are_platformdirs_answers(
    monkeypatch: pytest.MonkeyPatch, ours: object, theirs: object, variable: str
) -> None:
    for home, xdg in itertools.product(HOMES, XDGS):
        for name, value in (("HOME", home), (variable, xdg)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        assert str(ours()) == theirs("skipjack"), (home, xdg)  # type: ignore[operator]


def test_no_passwd_entry_and_no_home_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a folder named `~` under the working directory (platformdirs raises too)."""
    import pwd

    def missing(uid: int) -> object:
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", missing)
    monkeypatch.setenv("HOME", "relative")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    with pytest.raises(UserError, match="cannot tell your home directory"):
        user_dirs.user_config_dir()
    with pytest.raises(RuntimeError):
        platformdirs.user_config_dir("skipjack")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/etc/xdg-cfg")
    assert str(user_dirs.user_config_dir()) == platformdirs.user_config_dir("skipjack") == "/etc/xdg-cfg/skipjack"
