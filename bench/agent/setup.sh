#!/usr/bin/env bash
# The agent benchmark's installs: skipjack from a release wheel in the bench venv (bench/setup.sh),
# and each peer agent at a pinned version in a venv of its own under .cache/ (their pins clash:
# aider pins litellm and numpy, TunaCode an older Textual, Kimi CLI needs Python >= 3.13).
#
#   bash bench/agent/setup.sh            # everything
#   SKIP_SKIPJACK=1 bash bench/agent/setup.sh   # peers only
# A peer that fails to install is reported and skipped; bench/agent/run.py marks its row
# "not installed" instead of dropping it.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/.cache"
mkdir -p "$CACHE"

if [[ -z "${SKIP_SKIPJACK:-}" ]]; then
    bash "$ROOT/bench/setup.sh" >/dev/null || { echo "bench/setup.sh failed" >&2; exit 1; }
fi

# Python for a peer: the newest of the wanted versions found (pyenv or PATH).
find_python() {
    local v
    for v in "$@"; do
        for p in "${PYENV_ROOT:-$HOME/.pyenv}/versions/$v"*/bin/python3 "$(command -v "python$v" 2>/dev/null)"; do
            if [[ -n "$p" && -x "$p" ]]; then echo "$p"; return 0; fi
        done
    done
    return 1
}

# install NAME PYTHONS REQUIREMENT...
install() {
    local name="$1" pys="$2"; shift 2
    local venv="$CACHE/agent-$name"
    if [[ -f "$venv/.installed" && "$(cat "$venv/.installed")" == "$*" ]]; then return 0; fi
    local py
    # shellcheck disable=SC2086
    if ! py="$(find_python $pys)"; then
        echo "agent-$name: no Python among $pys; skipped" >&2
        return 0
    fi
    rm -rf "$venv"
    "$py" -m venv "$venv" &&
        "$venv/bin/python" -m pip --disable-pip-version-check -q install "$@" >&2 &&
        echo "$*" >"$venv/.installed" ||
        echo "agent-$name: install failed; skipped" >&2
}

install mini "3.12 3.11" "mini-swe-agent==2.4.6"
install aider "3.12 3.11" "aider-chat==0.86.2"
# 1.52.0, the last release, is a stub that only prints "no longer maintained" (every entry point
# is short-circuited): 1.51.0 is the last working Python Kimi CLI.
install kimi "3.13" "kimi-cli==1.51.0"
