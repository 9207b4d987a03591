"""How each agent is installed, pointed at the server, started headless, and asked its cost.

Every agent runs as its own users run it unattended, with config, data and home directories in a
fresh temporary folder (so no run sees another's sessions or caches) and everything that would
reach the internet switched off: update checks, analytics, litellm's remote price map.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / ".cache"
API_KEY = "sk-bench-not-a-real-key"


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]


@dataclass
class Agent:
    name: str
    label: str
    fmt: str
    """The server's reply format for this agent (`script.py`)."""
    launch: Callable[[str, Path, Path, int, str], Launch]
    """(base_url, workdir, home, turns, prompt) -> how to start it."""
    cost: Callable[[Path, Path, Path], float | None]
    """(stdout file, workdir, home) -> the cost the agent computed, USD (None: it reports none)."""
    installed: Callable[[], str | None]
    """None when runnable, else why not."""
    completed: Callable[[Path, Path, int], bool] = lambda out, work, turns: True
    """An agent-specific check of its own outcome beyond the server's (e.g. aider's edits on disk)."""


def base_env(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "TZ", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        NO_COLOR="1",
        PYTHONDONTWRITEBYTECODE="0",
    )
    env.setdefault("PATH", "/usr/bin:/bin")
    return env


# -- skipjack --------------------------------------------------------------------------

SKIPJACK_EXE = os.environ.get("BENCH_SKIPJACK") or str(CACHE / "bench-venv" / "bin" / "skipjack")


def skipjack_launch(base: str, work: Path, home: Path, turns: int, prompt: str) -> Launch:
    config = home / "skipjack-config"
    config.mkdir(parents=True, exist_ok=True)
    # The registry's openai/gpt-4.1 (and its prices) with the base URL moved to the server.
    (config / "config.toml").write_text(f'model = "openai/gpt-4.1"\n\n[providers.openai]\nbase_url = "{base}"\n')
    env = base_env(home) | {
        "SKIPJACK_CONFIG_DIR": str(config),
        "SKIPJACK_DATA_DIR": str(home / "skipjack-data"),
        "SKIPJACK_CACHE_DIR": str(home / "skipjack-cache"),
        "OPENAI_API_KEY": API_KEY,
    }
    argv = [SKIPJACK_EXE, "run", "--json", "--approval", "yolo", "--max-turns", str(turns + 5), prompt]
    return Launch(argv, env)


def skipjack_cost(out: Path, work: Path, home: Path) -> float | None:
    for line in reversed(out.read_text(errors="replace").splitlines()):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("type") == "result":
            return float(event["cost"])
    return None


def skipjack_installed() -> str | None:
    return None if Path(SKIPJACK_EXE).exists() else f"{SKIPJACK_EXE} missing: run bash bench/agent/setup.sh"


# -- mini-swe-agent --------------------------------------------------------------------

MINI = CACHE / "agent-mini"
LITELLM_OFFLINE = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}


def mini_launch(base: str, work: Path, home: Path, turns: int, prompt: str) -> Launch:
    env = (
        base_env(home)
        | LITELLM_OFFLINE
        | {
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_API_BASE": base,
            "OPENAI_BASE_URL": base,
            "MSWEA_CONFIGURED": "true",  # skip its first-run setup wizard
            "MSWEA_GLOBAL_CONFIG_DIR": str(home / "mswea"),
            "MSWEA_SILENT_STARTUP": "1",
        }
    )
    argv = [
        str(MINI / "bin" / "mini"),
        "--yolo",
        "--exit-immediately",
        "--model",
        "openai/gpt-4.1",
        "--cost-limit",
        "0",
        "--output",
        str(home / "mini-trajectory.json"),
        "--task",
        prompt,
    ]
    return Launch(argv, env)


def mini_cost(out: Path, work: Path, home: Path) -> float | None:
    path = home / "mini-trajectory.json"
    if not path.exists():
        return None
    info = json.loads(path.read_text()).get("info", {})
    stats = info.get("model_stats", {})
    cost = stats.get("instance_cost")
    return None if cost is None else float(cost)


def venv_installed(venv: Path, exe: str) -> Callable[[], str | None]:
    def check() -> str | None:
        return None if (venv / "bin" / exe).exists() else f"not installed ({venv.name}: run bash bench/agent/setup.sh)"

    return check


# -- aider -----------------------------------------------------------------------------

AIDER = CACHE / "agent-aider"


def aider_launch(base: str, work: Path, home: Path, turns: int, prompt: str) -> Launch:
    # Aider downloads litellm's price list on first use and caches it for a day: seed the cache
    # with the copy litellm ships (a returning user's state), so the run stays offline.
    caches = home / ".aider" / "caches"
    caches.mkdir(parents=True, exist_ok=True)
    [prices] = AIDER.glob("lib/python*/site-packages/litellm/model_prices_and_context_window_backup.json")
    shutil.copyfile(prices, caches / "model_prices_and_context_window.json")
    env = base_env(home) | LITELLM_OFFLINE | {"OPENAI_API_KEY": API_KEY, "OPENAI_API_BASE": base}
    argv = [str(AIDER / "bin" / "python"), str(HERE / "drivers" / "aider_driver.py"), str(turns)]
    return Launch(argv, env)


def driver_cost(out: Path, work: Path, home: Path) -> float | None:
    """The agent's own running total, printed last by its driver (drivers/*.py)."""
    for line in reversed(out.read_text(errors="replace").splitlines()):
        if line.startswith("AGENT_TOTAL_COST "):
            return float(line.split()[1])
    return None


def aider_completed(out: Path, work: Path, turns: int) -> bool:
    text = (work / "notes.txt").read_text()
    return all(f"line {k:02d}: done" in text for k in range(turns))


# -- TunaCode --------------------------------------------------------------------------

TUNACODE = CACHE / "tunacode-venv"  # bench/setup.sh installs it (tunacode-cli 0.2.3)


def tunacode_launch(base: str, work: Path, home: Path, turns: int, prompt: str) -> Launch:
    env = base_env(home) | {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": base}
    argv = [str(TUNACODE / "bin" / "python"), str(HERE / "drivers" / "tunacode_driver.py"), prompt]
    return Launch(argv, env)


# -- Kimi CLI --------------------------------------------------------------------------

KIMI = CACHE / "agent-kimi"


def kimi_launch(base: str, work: Path, home: Path, turns: int, prompt: str) -> Launch:
    config = home / "kimi-config.toml"
    config.write_text(
        'default_model = "bench"\ntelemetry = false\n\n'
        f'[providers.bench]\ntype = "openai_legacy"\nbase_url = "{base}"\napi_key = "{API_KEY}"\n\n'
        '[models.bench]\nprovider = "bench"\nmodel = "gpt-4.1"\nmax_context_size = 1047576\n'
    )
    env = base_env(home) | {"KIMI_SHARE_DIR": str(home / ".kimi")}
    argv = [
        str(KIMI / "bin" / "kimi"),
        "--config-file",
        str(config),
        "--print",
        "--output-format",
        "stream-json",
        "--yolo",
        "--prompt",
        prompt,
    ]
    return Launch(argv, env)


def no_cost(out: Path, work: Path, home: Path) -> float | None:
    return None


AGENTS = [
    Agent(
        "skipjack",
        "skipjack (`run --json`)",
        "tools-skipjack",
        skipjack_launch,
        skipjack_cost,
        skipjack_installed,
    ),
    Agent(
        "mini",
        "mini-swe-agent 2.4.6 (`mini`, litellm)",
        "tools-mini",
        mini_launch,
        mini_cost,
        venv_installed(MINI, "mini"),
    ),
    Agent(
        "aider",
        "aider 0.86.2 (`Coder.run()`, litellm)",
        "aider",
        aider_launch,
        driver_cost,
        venv_installed(AIDER, "aider"),
        aider_completed,
    ),
    Agent(
        "tunacode",
        "TunaCode 0.2.3 (`process_request`, tinyAgent)",
        "tools-tunacode",
        tunacode_launch,
        driver_cost,
        venv_installed(TUNACODE, "tunacode"),
    ),
    Agent(
        "kimi",
        "Kimi CLI 1.51.0 (`kimi --print`)",
        "tools-kimi",
        kimi_launch,
        no_cost,
        venv_installed(KIMI, "kimi"),
    ),
]
"""Peers this harness cannot drive headless against a local server, and why (reported as such)."""
NOT_DRIVEN: dict[str, str] = {}

if sys.platform != "linux":  # pragma: no cover - the tree accounting reads /proc
    raise SystemExit("bench/agent runs on Linux only")
