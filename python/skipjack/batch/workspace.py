"""A task's workspace: its own clone at the task's ref, and the change made in it as a patch.

A clone (not a worktree of the user's repository) so that nothing a task does, not even git
metadata, lands in the user's repository, and so that URL and path repos work alike. The
patch is taken with plumbing over a private index (`write-tree` before and after the agent):
no commit, and binary-safe.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# `ext::` and other command-running transports stay off whatever the user's git config says.
_GIT = ["git", "-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]
GIT_TIMEOUT_S = 600.0


class WorkspaceError(Exception):
    pass


def git(work: Path | None, *args: str, index: Path | None = None, input: bytes | None = None) -> bytes:
    env = os.environ | {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    cmd = [*_GIT, *(["-C", str(work)] if work is not None else []), *args]
    try:
        done = subprocess.run(cmd, env=env, input=input, capture_output=True, timeout=GIT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as e:
        raise WorkspaceError(f"git {args[0]} took longer than {GIT_TIMEOUT_S:.0f} s") from e
    if done.returncode != 0:
        raise WorkspaceError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()[-500:]}")
    return done.stdout


def clone(repo: str, ref: str, work: Path) -> str:
    """A fresh clone of `repo` at `ref` in `work` (replacing any earlier attempt); the commit id."""
    if work.exists():
        shutil.rmtree(work)
    work.parent.mkdir(parents=True, exist_ok=True)
    git(None, "clone", "--quiet", "--no-checkout", "--", repo, str(work))
    try:
        sha = git(work, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").decode().strip()
    except WorkspaceError as e:
        raise WorkspaceError(f"no commit {ref!r} in {repo}") from e
    git(work, "checkout", "--quiet", "--detach", sha)
    return sha


def snapshot_tree(work: Path, index: Path) -> str:
    """The tree of everything in `work` that git would track (`.gitignore` honoured)."""
    git(work, "add", "--all", "--", ".", index=index)
    return git(work, "write-tree", index=index).decode().strip()


def patch_between(work: Path, before: str, after: str) -> bytes:
    return git(work, "diff-tree", "-p", "--binary", "--full-index", "--no-renames", before, after)
