"""skipjack's per-user config, data and cache folders (before any `SKIPJACK_*_DIR` override).

On Linux they are the XDG base directories, worked out here by the rules `platformdirs`
follows there: an absolute `$XDG_CONFIG_HOME` (`_DATA_`, `_CACHE_`) or else `~/.config`
(`~/.local/share`, `~/.cache`), `~` being an absolute `$HOME` or else the user's passwd entry.
Importing `platformdirs` cost ~39 M instructions (it brings `tempfile` and `random`), 7 % of a
`skipjack run` before its first request, paid at every start for three paths; the tests hold
these answers equal to platformdirs' across `HOME`/`XDG_*` spellings. Elsewhere (macOS,
Windows) platformdirs answers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from skipjack.errors import UserError

APP = "skipjack"


def user_config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") if sys.platform == "linux" else _platformdirs("user_config_dir")


def user_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") if sys.platform == "linux" else _platformdirs("user_data_dir")


def user_cache_dir() -> Path:
    return _xdg("XDG_CACHE_HOME", ".cache") if sys.platform == "linux" else _platformdirs("user_cache_dir")


def _xdg(variable: str, under_home: str) -> Path:
    base = os.environ.get(variable, "")
    if not os.path.isabs(base):  # unset, empty or relative: the spec says to ignore it
        base = f"{_home().rstrip('/')}/{under_home}"
    return Path(os.path.join(base, APP))


def _home() -> str:
    home = os.environ.get("HOME")
    if home is not None and os.path.isabs(home):
        return home
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        # Not `~` left as is: that is a folder of that name under the working directory.
        raise UserError(
            "cannot tell your home directory (HOME is unset or relative and this user has no passwd "
            "entry): set HOME, or SKIPJACK_CONFIG_DIR, SKIPJACK_DATA_DIR and SKIPJACK_CACHE_DIR"
        ) from None


def _platformdirs(which: str) -> Path:
    import platformdirs

    return Path(getattr(platformdirs, which)(APP))
