"""Real trees, compared byte for byte (content, mode bits, symlink targets)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

Tree = dict[str, tuple[str, int, bytes]]


def read_tree(root: Path, *, skip: tuple[str, ...] = (".git",)) -> Tree:
    """Every file and symlink under `root`: path -> (kind, permission bits, bytes or link target)."""
    out: Tree = {}
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel_dir, d)) not in skip and d != ".git"]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel in skip or name == ".git":
                continue
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(full).encode())
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), Path(full).read_bytes())
    return out
