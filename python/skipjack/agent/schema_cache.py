"""The built-in tools' argument schemas, kept between runs.

msgspec builds a tool's JSON Schema from its Args struct by evaluating the struct's
(string) annotations: ~10 ms for the built-in tools at every start, before the first
request can be encoded. The schemas are a pure function of the code, so they are cached in
the user's cache folder under a stamp of that code: the Python and msgspec versions and the
path, size and mtime of every loaded `skipjack` module (any type an annotation names must be
imported by the module that names it, so its file is in the stamp). A file changed, a
package upgraded, a different set of modules: another stamp, computed afresh. The cache is
only ever an optimisation: unreadable, corrupt or unwritable, the schema is computed.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any, TypeAlias

import msgspec

FILE_NAME = "tool-schemas.json"
MAX_STAMPS = 8
"""Stamps kept in the file (a UI session and a headless run load different modules)."""

_lock = threading.Lock()
_state: dict[str, Any] | None = None
"""`{"stamp", "schemas", "file", "dirty"}` once loaded in this process."""


Schema: TypeAlias = dict[str, Any]


def cached_schema(struct: type[msgspec.Struct], compute: Callable[[type[msgspec.Struct]], Schema]) -> Schema:
    """`compute(struct)`, from the cache when this code computed it before."""
    if not struct.__module__.startswith("skipjack."):
        return compute(struct)  # (a plugin's struct: its files are not in the stamp)
    key = f"{struct.__module__}.{struct.__qualname__}"
    with _lock:
        state = _load()
        found = state["schemas"].get(key)
        if isinstance(found, dict):
            copy: Schema = json.loads(json.dumps(found))  # callers may change theirs
            return copy
        schema = compute(struct)
        state["schemas"][key] = json.loads(json.dumps(schema))
        if not state["dirty"]:
            state["dirty"] = True
            atexit.register(_save)
        return schema


def cache_file(env: dict[str, str] | os._Environ[str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = env.get("SKIPJACK_CACHE_DIR")
    if override:
        return Path(override) / FILE_NAME
    from skipjack.user_dirs import user_cache_dir

    return user_cache_dir() / FILE_NAME


def code_stamp() -> str:
    h = sha256(f"{sys.version}\0{msgspec.__version__}".encode())
    for name in sorted(n for n in list(sys.modules) if n == "skipjack" or n.startswith("skipjack.")):
        path = getattr(sys.modules.get(name), "__file__", None)
        if not path:
            continue
        try:
            st = os.stat(path)
        except OSError:
            st = None
        h.update(f"\0{name}\0{path}\0{st.st_size if st else -1}\0{st.st_mtime_ns if st else -1}".encode())
    return h.hexdigest()


def _load() -> dict[str, Any]:
    global _state
    if _state is None:
        file = cache_file()
        stamp = code_stamp()
        schemas: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(file.read_bytes())
            entry = data.get(stamp) if isinstance(data, dict) else None
            if isinstance(entry, dict):
                schemas = entry
        _state = {"stamp": stamp, "schemas": schemas, "file": file, "dirty": False}
    return _state


def _save() -> None:
    """Merge this process's schemas into the file (atomically; the newest stamps kept)."""
    with _lock:
        state = _state
        if state is None or not state["dirty"]:
            return
        file: Path = state["file"]
        with contextlib.suppress(OSError, ValueError):
            try:
                data = json.loads(file.read_bytes())
            except (OSError, ValueError):
                data = {}
            if not isinstance(data, dict):
                data = {}
            data.pop(state["stamp"], None)
            data[state["stamp"]] = state["schemas"]
            while len(data) > MAX_STAMPS:
                data.pop(next(iter(data)))
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, file)
        state["dirty"] = False


def reset() -> None:
    """Forget what this process loaded (tests)."""
    global _state
    with _lock:
        _state = None
