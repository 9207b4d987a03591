"""Writing the two small objects of each snapshot (the wrapper tree and the modes blob)
straight into the shadow repository's object store.

Hand-written on purpose: git's loose-object format is fixed and documented
(`<type> <size>\\0<body>`, zlib-compressed, named by its SHA-1), and writing these objects
here saves two `git` processes per checkpoint (`hash-object`, `mktree`), a third of a
checkpoint's cost. Only objects we build are written this way; git writes every file's blob.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zlib
from pathlib import Path


def write_object(git_dir: Path, kind: str, body: bytes) -> str:
    data = f"{kind} {len(body)}".encode() + b"\0" + body
    oid = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    directory = git_dir / "objects" / oid[:2]
    path = directory / oid[2:]
    if path.exists():
        return oid
    directory.mkdir(exist_ok=True)
    tmp = directory / f"tmp_obj_{os.getpid()}_{os.urandom(4).hex()}"
    try:
        with open(tmp, "xb") as f:
            f.write(zlib.compress(data, 1))
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return oid


def tree_body(entries: list[tuple[str, str, str]]) -> bytes:
    """(mode, name, object id) entries, in git's order (a tree's name sorts as `name/`)."""

    def key(entry: tuple[str, str, str]) -> bytes:
        mode, name, _ = entry
        return name.encode() + (b"/" if mode == "40000" else b"")

    return b"".join(
        f"{mode} {name}".encode() + b"\0" + bytes.fromhex(oid) for mode, name, oid in sorted(entries, key=key)
    )
