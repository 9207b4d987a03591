"""The read tool's line scan must not depend on where its chunks split the file: the same
files are read in one chunk and in chunks so small that every line is split, and compared
(output, tags, digests)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from skipjack.tools import read as read_mod
from skipjack.tools._files import CancelFlag

PIECES = [
    "a",
    "line of text ",
    "é",
    "🦀",
    "\t",
    " ",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "x" * 50,
    "y" * (read_mod.MAX_LINE_CHARS + 3),
    "\nz" + "z" * (read_mod.MAX_LINE_CHARS - 2) + "\n",  # a whole line of exactly the limit
]


def contents(rng: random.Random) -> bytes:
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 60)))
    data = text.encode()
    if rng.random() < 0.3 and data:
        at = rng.randrange(len(data))
        data = data[:at] + b"\xff\xfe" + data[at:]  # undecodable bytes
    return data


def scan(path: Path, offset: int, limit: int) -> read_mod._Result:
    return read_mod._read_file(path, offset, limit, CancelFlag())


@pytest.mark.parametrize("seed", range(40))
def test_chunked_and_whole_line_scans_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "f.txt"
    path.write_bytes(contents(rng))
    offset, limit = rng.choice([(1, 2000), (1, 3), (2, 5), (4, 1), (1, 1)])
    if rng.random() < 0.3:
        monkeypatch.setattr(read_mod, "MAX_OUTPUT_CHARS", rng.randint(10, 300))
    whole = scan(path, offset, limit)
    for chunk in (1, 2, 3, 7):
        monkeypatch.setattr(read_mod, "_CHUNK", chunk)
        assert scan(path, offset, limit) == whole, chunk


@pytest.mark.parametrize("extra", [-1, 0, 1, 2])
def test_lines_at_the_cut_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: int) -> None:
    n = read_mod.MAX_LINE_CHARS + extra
    path = tmp_path / "long.txt"
    path.write_text(f"a\n{'é' * n}\nb\n")
    whole = scan(path, 1, 2000)
    assert ("[line cut" in whole.text) == (n > read_mod.MAX_LINE_CHARS)
    monkeypatch.setattr(read_mod, "_CHUNK", 5)
    assert scan(path, 1, 2000) == whole


def test_whole_lines_give_known_tags(tmp_path: Path) -> None:
    from skipjack.tools._text import line_digest, line_hash

    path = tmp_path / "k.txt"
    path.write_bytes(b"one\r\ntwo\rthree\n\nlast")
    r = scan(path, 1, 2000)
    assert r.text.splitlines() == [
        f"1:{line_hash('one')}|one",
        f"2:{line_hash('two')}|two",
        f"3:{line_hash('three')}|three",
        f"4:{line_hash('')}|",
        f"5:{line_hash('last')}|last",
    ]
    assert r.lines == b"".join(line_digest(t) for t in ("one", "two", "three", "", "last"))
