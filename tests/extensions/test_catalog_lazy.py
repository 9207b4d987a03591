"""The catalog loads a kind's loader only for a folder of that kind, and still finds what is
there, broken files included, when a folder exists (even an empty one, a file where a folder
should be, or a symlinked folder)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LOADERS = (
    "skipjack.extensions.commands",
    "skipjack.extensions.definitions",
    "skipjack.extensions.skills",
    "skipjack.extensions.frontmatter",
)

SCRIPT = """
import json, sys
from pathlib import Path
from skipjack.extensions import load_extensions
found = load_extensions(user_config_dir=Path(sys.argv[1]), project_root=Path(sys.argv[2]), trusted=True)
print(json.dumps({
    "loaded": sorted(m for m in sys.modules if m.startswith("skipjack.extensions.")),
    "commands": sorted(found.commands), "skills": sorted(found.skills), "agents": sorted(found.agents),
    "problems": [p.kind for p in found.problems],
}))
"""


def _load(user: Path, project: Path) -> dict[str, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(user), str(project)], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_no_folders_load_no_loaders(tmp_path: Path) -> None:
    got = _load(tmp_path / "user", tmp_path / "project")
    assert [m for m in got["loaded"] if m in LOADERS] == []
    assert got["commands"] == got["skills"] == got["agents"] == got["problems"] == []


@pytest.mark.parametrize("where", ["user", "project/.skipjack", "project/.claude"])
def test_every_kind_is_found_in_every_folder(tmp_path: Path, where: str) -> None:
    root = tmp_path / where
    (root / "commands" / "sub").mkdir(parents=True)
    (root / "commands" / "sub" / "hi.md").write_text("---\ndescription: say hi\n---\nSay hi to $ARGUMENTS\n")
    (root / "commands" / "bad.md").write_text("---\nname: [unclosed\n---\nx")
    (root / "skills" / "pdf").mkdir(parents=True)
    (root / "skills" / "pdf" / "SKILL.md").write_text("---\nname: pdf\ndescription: PDFs\n---\nUse it.\n")
    (root / "agents").mkdir()
    (root / "agents" / "rev.md").write_text("---\nname: rev\ndescription: reviews\n---\nReview.\n")
    got = _load(tmp_path / "user", tmp_path / "project")
    assert got["commands"] == ["sub:hi"]  # a subfolder namespaces its commands
    assert got["skills"] == ["pdf"]
    assert got["agents"] == ["rev"]
    assert got["problems"] == ["commands"]


def test_an_empty_folder_a_file_in_its_place_and_a_symlinked_folder(tmp_path: Path) -> None:
    (tmp_path / "user" / "commands").mkdir(parents=True)
    (tmp_path / "user" / "skills").write_text("not a folder")
    real = tmp_path / "elsewhere"
    (real / "pdf").mkdir(parents=True)
    (real / "pdf" / "SKILL.md").write_text("---\nname: pdf\ndescription: PDFs\n---\nUse it.\n")
    (tmp_path / "project" / ".skipjack").mkdir(parents=True)
    (tmp_path / "project" / ".skipjack" / "skills").symlink_to(real)
    got = _load(tmp_path / "user", tmp_path / "project")
    assert got["skills"] == ["pdf"]
    assert got["commands"] == got["agents"] == got["problems"] == []
