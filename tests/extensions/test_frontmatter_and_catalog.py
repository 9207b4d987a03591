"""Front matter, names, discovery and precedence of commands, skills and agent definitions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skipjack.extensions import load_extensions
from skipjack.extensions.commands import split_invocation, substitute_arguments
from skipjack.extensions.frontmatter import FrontMatterError, parse


def test_front_matter_parses_yaml_and_keeps_the_body() -> None:
    meta, body = parse("---\nname: x\ndescription: >\n  folded\n  text\ntools: [read, grep]\n---\n# Body\n")
    assert meta == {"name": "x", "description": "folded text\n", "tools": ["read", "grep"]}
    assert body == "# Body\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("---\nname: [unclosed\n---\nbody", "not valid YAML"),
        ("---\nname: x\nbody without end", "never closed"),
        ("---\n- a list\n---\nbody", "must be a mapping"),
        ("---\n!!python/object/apply:os.system ['touch /tmp/pwned']\n---\n", "not valid YAML"),
    ],
)
def test_malformed_front_matter_is_an_error_with_a_reason(text: str, error: str) -> None:
    with pytest.raises(FrontMatterError, match=error):
        parse(text)


def test_no_front_matter_and_a_bom_are_fine() -> None:
    assert parse("just a prompt\n") == ({}, "just a prompt\n")
    assert parse("\ufeff---\na: 1\n---\nx") == ({"a": 1}, "x")


def test_arguments_are_substituted_once() -> None:
    assert substitute_arguments("$1 then $2 ($ARGUMENTS) $3.", 'a "b c"') == 'a then b c (a "b c") .'
    # An argument holding `$1` is not expanded again.
    assert substitute_arguments("say $ARGUMENTS", "$1 $ARGUMENTS") == "say $1 $ARGUMENTS"
    # An unbalanced quote falls back to words rather than failing.
    assert substitute_arguments("$1|$2", "it's fine") == "it's|fine"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/review a b", ("review", "a b")),
        ("  /review", ("review", "")),
        ("/git:commit\nmore lines", ("git:commit", "more lines")),
        ("//not a command", None),
        ("plain", None),
        ("/", None),
    ],
)
def test_split_invocation(text: str, expected: tuple[str, str] | None) -> None:
    assert split_invocation(text) == expected


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_discovery_precedence_names_and_problems(tmp_path: Path) -> None:
    user, project = tmp_path / "user", tmp_path / "project"
    write(user / "commands" / "review.md", "---\ndescription: user review\n---\nuser\n")
    write(project / ".claude" / "commands" / "review.md", "---\ndescription: claude review\n---\nclaude\n")
    write(project / ".skipjack" / "commands" / "review.md", "---\ndescription: skipjack review\n---\nours\n")
    write(project / ".skipjack" / "commands" / "git" / "commit.md", "Commit the staged changes.\n")
    write(project / ".skipjack" / "commands" / "bad name.md", "x\n")
    write(project / ".skipjack" / "commands" / "empty.md", "---\ndescription: nothing\n---\n\n")
    write(user / "skills" / "pdf" / "SKILL.md", "---\ndescription: PDFs\n---\n")
    write(user / "skills" / "toolong" / "SKILL.md", f"---\ndescription: {'x' * 2000}\n---\n")
    write(
        user / "agents" / "reviewer.md",
        "---\ndescription: reviews\ntools: Read, Grep, Bash(git diff:*)\n---\nBe strict.\n",
    )
    write(user / "agents" / "bad.md", "---\ndescription: bad\napproval: root\n---\n")
    found = load_extensions(user_config_dir=user, project_root=project, trusted=True)
    assert found.commands["review"].description == "skipjack review"
    assert found.commands["git:commit"].description == "Commit the staged changes."
    assert found.skills["pdf"].name == "pdf"
    reviewer = found.agents["reviewer"]
    assert reviewer.tools == ("read", "grep", "bash")
    assert reviewer.system_prompt == "Be strict."
    problems = {p.path.name if p.path.name != "SKILL.md" else p.path.parent.name: p.message for p in found.problems}
    assert set(problems) == {"bad name.md", "empty.md", "toolong", "bad.md"}
    assert "approval" in problems["bad.md"]


def test_an_untrusted_project_is_not_searched(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for where in (".skipjack", ".claude"):
        write(project / where / "commands" / "x.md", "x\n")
        write(project / where / "skills" / "s" / "SKILL.md", "---\ndescription: s\n---\n")
        write(project / where / "agents" / "a.md", "---\ndescription: a\n---\n")
    found = load_extensions(user_config_dir=tmp_path / "user", project_root=project, trusted=False)
    assert (found.commands, found.skills, found.agents) == ({}, {}, {})
    assert all(project not in p.parents for paths in found.searched.values() for p in paths)


def test_a_symlink_loop_and_unreadable_files_do_not_stop_discovery(tmp_path: Path) -> None:
    user = tmp_path / "user"
    write(user / "commands" / "ok.md", "fine\n")
    os.symlink(user / "commands", user / "commands" / "loop")
    os.symlink("/dev/zero", user / "commands" / "zero.md")
    found = load_extensions(user_config_dir=user, project_root=None, trusted=False)
    assert "ok" in found.commands
    assert any("zero.md" in str(p.path) for p in found.problems)
