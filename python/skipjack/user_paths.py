"""`~` expansion for paths a user, a tasks file, a client or a model wrote.

`pathlib.Path.expanduser` raises `RuntimeError` for `~nosuchuser/x`, for any path when HOME
is unset and no passwd entry exists, and (because pathlib drops a leading `./`) even for
`./~c`, a folder literally named `~c`. `os.path.expanduser` on the raw text has the shell's
rules instead: it expands only a leading `~`/`~user` it can resolve and leaves the rest alone.
"""

from __future__ import annotations

import os
from pathlib import Path


def expand_user(text: str | os.PathLike[str]) -> Path:
    """`text` with a leading `~` or `~user` expanded where it resolves; never raises."""
    return Path(os.path.expanduser(os.fspath(text)))
