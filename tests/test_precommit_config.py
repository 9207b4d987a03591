"""The pre-commit hooks call the Makefile's lint targets (the Makefile says pre-commit uses
it): no hook may drift into its own copy of a lint command, and every lint target is hooked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")  # comes with pre-commit, a dev dependency

ROOT = Path(__file__).resolve().parents[1]


def _hooks() -> list[dict[str, Any]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_every_hook_is_a_local_make_target_run_once() -> None:
    targets = _make_targets()
    for hook in _hooks():
        assert hook["language"] == "system", hook
        assert hook["pass_filenames"] is False, hook  # the targets lint the whole tree
        entry = hook["entry"].split()
        assert entry[0] == "make", hook
        assert len(entry) == 2, hook
        assert entry[1] in targets, hook


def test_every_lint_target_of_make_lint_is_hooked() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = re.search(r"^lint: (.*)$", makefile, re.M)
    assert lint is not None
    hooked = {hook["entry"].split()[1] for hook in _hooks()}
    assert set(lint.group(1).split()) == hooked


@pytest.mark.parametrize(
    ("hook_id", "path", "runs"),
    [
        ("lint-python", "python/skipjack/llm/types.py", True),
        ("lint-python", "python/skipjack/_llm.pyi", True),
        ("lint-python", "tests/llm/test_event_kinds.py", True),
        ("lint-python", "pyproject.toml", True),
        ("lint-python", "crates/skipjack-llm/src/lib.rs", False),
        ("lint-python", "README.md", False),
        ("lint-rust", "crates/skipjack-llm/src/lib.rs", True),
        ("lint-rust", "crates/skipjack-py/Cargo.toml", True),
        ("lint-rust", "Cargo.lock", True),
        ("lint-rust", "rustfmt.toml", True),
        ("lint-rust", "python/skipjack/llm/types.py", False),
    ],
)
def test_hooks_run_for_the_files_their_target_lints(hook_id: str, path: str, runs: bool) -> None:
    hook = next(h for h in _hooks() if h["id"] == hook_id)
    # pre-commit matches `files` with re.search on the repository-relative path.
    assert bool(re.search(hook["files"], path)) is runs
