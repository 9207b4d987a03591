from __future__ import annotations

import random
import re

from skipjack.tools._diff import describe_change

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def check_hunks(diff: str, old: list[str], new: list[str]) -> int:
    """Every hunk's header points at lines that really hold its old and new text."""
    lines = diff.splitlines()[2:]  # past the ---/+++ header
    hunks = 0
    i = 0
    while i < len(lines):
        match = HUNK.match(lines[i])
        assert match, lines[i]
        old_start, old_len = int(match.group(1)), int(match.group(2) or 1)
        new_start, new_len = int(match.group(3)), int(match.group(4) or 1)
        body = []
        i += 1
        while i < len(lines) and not lines[i].startswith("@@"):
            body.append(lines[i])
            i += 1
        old_side = [b[1:] for b in body if b[0] in " -"]
        new_side = [b[1:] for b in body if b[0] in " +"]
        o = old_start - 1 if old_len else old_start
        n = new_start - 1 if new_len else new_start
        assert old_side == old[o : o + old_len]
        assert new_side == new[n : n + new_len]
        hunks += 1
    return hunks


def test_hunk_line_numbers_are_right_after_trimming() -> None:
    rng = random.Random(7)
    for _ in range(300):
        old = [f"line {rng.randrange(40)}" for _ in range(rng.randrange(0, 120))]
        new = list(old)
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(new) + 1)
            kind = rng.choice(["insert", "delete", "replace"])
            if kind == "insert" or not new:
                new[at:at] = [f"new {rng.randrange(1000)}" for _ in range(rng.randrange(1, 4))]
            elif kind == "delete":
                del new[at : at + rng.randrange(1, 4)]
            else:
                new[at : at + 1] = [f"changed {rng.randrange(1000)}"]
        if new == old:
            continue
        before = "".join(f"{line}\n" for line in old)
        after = "".join(f"{line}\n" for line in new)
        change = describe_change(before, after, "f.txt")
        assert check_hunks(change.diff, old, new) >= 1
        assert change.tags or not new


def test_far_down_a_long_file() -> None:
    old = [f"row {i}" for i in range(10_000)]
    new = list(old)
    new[9_000] = "ROW 9000"
    change = describe_change("\n".join(old) + "\n", "\n".join(new) + "\n", "big.txt")
    assert "@@ -8998,7 +8998,7 @@" in change.diff
    assert check_hunks(change.diff, old, new) == 1
    assert change.tags.splitlines()[1].startswith("9001:")
