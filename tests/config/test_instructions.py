"""AGENTS.md / CLAUDE.md from the repository root down to cwd, and noticing changes."""

from __future__ import annotations

import os
from pathlib import Path

from skipjack.config import InstructionsWatcher, load_instructions


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "svc" / "api").mkdir(parents=True)
    (root / "AGENTS.md").write_text("Root rules.\n")
    (root / "svc" / "CLAUDE.md").write_text("Service rules.\n")
    (root / "svc" / "api" / "AGENTS.md").write_text("API rules.\n")
    (root / "svc" / "api" / "CLAUDE.md").write_text("Ignored: AGENTS.md wins here.\n")
    (tmp_path / "AGENTS.md").write_text("Outside the repository.\n")
    return root


def test_files_from_root_to_cwd_in_order_with_headers(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    got = load_instructions(root / "svc" / "api", root)
    assert got.files == [root / "AGENTS.md", root / "svc/CLAUDE.md", root / "svc/api/AGENTS.md"]
    assert got.text == (
        "## Instructions from AGENTS.md\n\nRoot rules.\n\n"
        "## Instructions from svc/CLAUDE.md\n\nService rules.\n\n"
        "## Instructions from svc/api/AGENTS.md\n\nAPI rules."
    )
    # The repository root is found from cwd when not given.
    assert load_instructions(root / "svc" / "api").text == got.text


def test_only_cwd_outside_a_repository(tmp_path: Path) -> None:
    d = tmp_path / "loose"
    d.mkdir()
    assert load_instructions(d, None).files == []
    (d / "CLAUDE.md").write_text("Loose rules.")
    got = load_instructions(d, None)
    assert got.text == "## Instructions from CLAUDE.md\n\nLoose rules."


def test_an_empty_file_adds_no_section(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "AGENTS.md").write_text("  \n")
    got = load_instructions(root, root)
    assert got.files == [root / "AGENTS.md"]
    assert got.text == ""


def test_watcher_notices_edits_new_files_and_removals(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    cwd = root / "svc" / "api"
    w = InstructionsWatcher(cwd, root)
    assert not w.changed()
    assert w.poll() is None

    (root / "AGENTS.md").write_text("Root rules, revised.\n")
    assert w.changed()
    new = w.poll()
    assert new is not None
    assert "Root rules, revised." in new.text
    assert not w.changed()

    # Same size, new mtime: still a change.
    path = root / "svc" / "api" / "AGENTS.md"
    st = path.stat()
    path.write_text("API rulez.\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert w.changed()
    assert "API rulez." in w.reload().text

    # A file appearing where there was none, then a removal.
    (root / "svc" / "AGENTS.md").write_text("Service AGENTS.\n")
    assert w.changed()
    assert "svc/AGENTS.md" in w.reload().text
    assert "Service rules." not in w.current.text
    (root / "svc" / "AGENTS.md").unlink()
    assert w.changed()
    assert "Service rules." in w.reload().text
