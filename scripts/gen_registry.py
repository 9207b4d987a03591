#!/usr/bin/env python3
"""Generate python/skipjack/models/registry.json from a models.dev data snapshot.

    python scripts/gen_registry.py [--data DIR] [--out FILE]

Reads the snapshot's TOML tree the way models.dev's own build does (provider models inherit
from `models/<lab>/<id>.toml` through `base_model`, minus `base_model_omit`), which yields the
same catalog shape as models.dev's `api.json`, then runs the package's one conversion on it.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "python"))

from skipjack.models.catalog import catalog_from_builtins  # noqa: E402
from skipjack.models.convert import convert_catalog  # noqa: E402
from skipjack.models.entries import encode_registry  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "models.dev"
DEFAULT_OUT = REPO / "python" / "skipjack" / "models" / "registry.json"

# Lab metadata a provider model does not inherit (models.dev's build drops these too).
_NOT_INHERITED = {"id", "benchmarks", "license", "links", "weights"}
_LINK_TEXT = re.compile(r"^[\w./@:+-]+\.toml\s*$")


def read_toml(path: Path) -> dict[str, Any] | None:
    """Parse a TOML file, following a symlink that a checkout stored as a text file of its target.

    None for a link whose target is gone (the snapshot has a few; models.dev's build skips them).
    """
    for _ in range(8):
        if not path.exists():
            return None
        text = path.read_text(encoding="utf-8")
        if not _LINK_TEXT.match(text):
            return tomllib.loads(text)
        path = (path.parent / text.strip()).resolve()
    raise ValueError(f"{path}: symlink chain too long")


def must_read(path: Path) -> dict[str, Any]:
    data = read_toml(path)
    if data is None:
        raise FileNotFoundError(path)
    return data


def model_files(root: Path) -> list[tuple[str, Path]]:
    """(id, path) for every `**/*.toml` under root; the id is the relative path minus `.toml`."""
    if not root.is_dir():
        return []
    return sorted((p.relative_to(root).as_posix()[: -len(".toml")], p) for p in root.rglob("*.toml"))


def merge_deep(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else (arrays included) in `override` replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_deep(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def omit(target: dict[str, Any], dotted: str) -> None:
    """Delete a dotted path, then any table the deletion left empty."""
    parts = dotted.split(".")
    chain = [target]
    for part in parts[:-1]:
        nxt = chain[-1].get(part)
        if not isinstance(nxt, dict):
            return
        chain.append(nxt)
    chain[-1].pop(parts[-1], None)
    for depth in range(len(chain) - 1, 0, -1):
        if chain[depth]:
            break
        chain[depth - 1].pop(parts[depth - 1], None)


def load_catalog(data: Path) -> dict[str, Any]:
    labs = {lab_id: must_read(p) for lab_id, p in model_files(data / "models")}
    catalog: dict[str, Any] = {}
    for provider_toml in sorted((data / "providers").glob("*/provider.toml")):
        pid = provider_toml.parent.name
        provider = must_read(provider_toml) | {"id": pid}
        models: dict[str, Any] = {}
        for mid, path in model_files(provider_toml.parent / "models"):
            raw = read_toml(path)
            if raw is None:
                print(f"skipped {path}: dangling link", file=sys.stderr)
                continue
            if "base_model" in raw:
                base_id = raw.pop("base_model")
                if base_id not in labs:
                    raise ValueError(f"{path}: base_model {base_id!r} not found under models/")
                omitted = raw.pop("base_model_omit", [])
                inherited = {k: v for k, v in labs[base_id].items() if k not in _NOT_INHERITED}
                raw = merge_deep(inherited, raw)
                for dotted in omitted:
                    omit(raw, dotted)
            models[mid] = raw | {"id": mid}
        provider["models"] = models
        catalog[pid] = provider
    return catalog


def snapshot_source(data: Path) -> dict[str, str]:
    text = (data / "SOURCE.txt").read_text(encoding="utf-8")
    commit = re.search(r"commit ([0-9a-f]{7,40})", text)
    date = re.search(r"\((\d{4}-\d{2}-\d{2})\)", text)
    if commit is None:
        raise ValueError(f"{data / 'SOURCE.txt'}: no commit found")
    return {
        "name": "models.dev",
        "url": "https://models.dev",
        "license": "MIT",
        "commit": commit.group(1),
        "date": date.group(1) if date else "",
    }


def generate(data: Path) -> bytes:
    source = snapshot_source(data)
    catalog = catalog_from_builtins(load_catalog(data))
    note = (
        f"Generated from models.dev snapshot {source['commit']} by scripts/gen_registry.py. "
        "Do not edit by hand: rerun the script (custom models belong in config)."
    )
    return encode_registry(convert_catalog(catalog, generated=note, source=source))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="models.dev snapshot directory")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="registry file to write")
    args = parser.parse_args(argv)
    out_bytes = generate(args.data)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_bytes(out_bytes)
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(out_bytes)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
