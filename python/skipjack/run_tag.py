"""Each skipjack process's run tag: what a signal exit sweeps by (`tools._procgroup.kill_tagged`).

Kept apart from the tools package so `cli.main` can tag the run before anything starts
without paying for the tools' imports (`--version` must stay fast).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

RUN_TAG_VAR = "SKIPJACK_RUN_TAG"
"""Set, fresh, in each skipjack process's environment by `cli.main` (a new one even under a
parent skipjack, so a skipjack run by the agent's shell never sweeps up its parent's
processes): every process it starts inherits it."""

ANCESTOR_TAGS_VAR = "SKIPJACK_ANCESTOR_RUN_TAGS"
"""The run tags of every skipjack above this one, colon-separated: a skipjack started by the
agent's shell keeps its parents' tags here, so the parent's sweep still reaches the
grandchildren the nested run started (in groups and sessions of their own)."""

MAX_ANCESTORS = 16
"""Nesting deeper than this is no real use; the cap keeps the variable (and every command's
environment) small even when `cli.main` runs many times in one process."""


def tag_this_run(environ: MutableMapping[str, str]) -> None:
    """Give this process a fresh run tag, keeping any parent's in the ancestors' list."""
    parent = environ.get(RUN_TAG_VAR)
    if parent:
        ancestors = [t for t in environ.get(ANCESTOR_TAGS_VAR, "").split(":") if t]
        environ[ANCESTOR_TAGS_VAR] = ":".join([*ancestors, parent][-MAX_ANCESTORS:])
    environ[RUN_TAG_VAR] = os.urandom(16).hex()
