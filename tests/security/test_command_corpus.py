"""Every line of `command_corpus.toml` through the real policy: its decision, and the
"always allow" rules it offers where the corpus names them."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from skipjack.safety import ApprovalPolicy, Decision
from skipjack.tools.bash import BashArgs

CORPUS = Path(__file__).with_name("command_corpus.toml")


@dataclass(frozen=True)
class Case:
    group: str
    line: str
    expect: Decision
    mode: Any
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    sandboxed: bool = True
    sandbox: bool = True
    cwd: str | None = None
    suggest: list[str] | None = None


def load_cases() -> Iterator[Any]:
    data = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    for group in data["group"]:
        for i, raw in enumerate(group["cases"]):
            entry = {"line": raw[0], "expect": raw[1]} if isinstance(raw, list) else dict(raw)
            case = Case(
                group=group["name"],
                line=entry["line"],
                expect=Decision(entry["expect"]),
                mode=group["mode"],
                allow=group.get("allow", []),
                deny=group.get("deny", []),
                sandboxed=group.get("sandboxed", True),
                sandbox=entry.get("sandbox", group.get("sandbox", True)),
                cwd=entry.get("cwd", group.get("cwd")),
                suggest=entry.get("suggest"),
            )
            yield pytest.param(case, id=f"{case.group}-{i}-{case.line[:40]!r}")


CASES = list(load_cases())


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 200


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("corpus")
    root = base / "project"
    for d in (".git/hooks", ".skipjack", "src", "out"):
        (root / d).mkdir(parents=True)
    (base / "outside").mkdir()
    (base / "home").mkdir()
    (root / "link-out").symlink_to(base / "outside")
    return root


@pytest.mark.parametrize("case", CASES)
def test_corpus_line(case: Case, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(project.parent / "home"))
    policy = ApprovalPolicy(case.mode, project, sandboxed=case.sandboxed, allow=case.allow, deny=case.deny)
    args = BashArgs(command=case.line, cwd=case.cwd)
    verdict = policy.check("bash", {"command": args.command, "cwd": args.cwd, "sandbox": case.sandbox})
    assert verdict.decision is case.expect, verdict.reason
    if case.suggest is not None:
        assert list(verdict.suggested_rules) == case.suggest
    if verdict.suggested_rules:
        # An offered rule, once accepted, must allow the very line it was offered for.
        policy.allow_always(verdict.suggested_rule or "")
        assert policy.check("bash", {"command": case.line, "cwd": case.cwd}).decision is Decision.ALLOW
