#!/usr/bin/env bash
# A venv for the benchmarks, apart from the development one: skipjack built in release mode,
# plus the peers it is compared with, at pinned versions so a rerun measures the same code.
#
#   bash bench/setup.sh        # prints the venv's python
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BENCH_VENV:-$ROOT/.cache/bench-venv}"
WHEELS="$ROOT/.cache/bench-wheels"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
"${PIP[@]}" install "maturin>=1.7,<2" \
    "openai==3.57.0" "httpx==0.28.1" "orjson==3.13.0" "tiny-agent-os==1.2.29" >&2
# TunaCode (timed only for its startup) pins an older Textual than skipjack's: its own venv,
# so it starts as its users' installs do.
TUNA="$ROOT/.cache/tunacode-venv"
if [[ ! -x "$TUNA/bin/tunacode" ]]; then
    python3 -m venv "$TUNA"
    "$TUNA/bin/python" -m pip --disable-pip-version-check -q install "tunacode-cli==0.2.3" >&2
fi
rm -rf "$WHEELS"
(cd "$ROOT" && "$VENV/bin/maturin" build --release -q -o "$WHEELS" >&2)
"${PIP[@]}" install --force-reinstall --no-deps "$WHEELS"/skipjack-*.whl >&2
"${PIP[@]}" install "$WHEELS"/skipjack-*.whl >&2
echo "$VENV/bin/python"
