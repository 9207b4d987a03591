"""Property tests as an attacker: however a denied command is wrapped, chained or nested,
the policy never allows it; and no input crashes the parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skipjack.safety import ApprovalPolicy, Decision, parse_command_line

BENIGN = ["true", "ls -la", "echo hi", "git status", "cat README.md", ":", "x=1", "sleep 0"]
SEPARATORS = [" && ", " || ", "; ", " | ", "\n", " & ", " |& "]
WRAPPERS = ["env", "env -i", "env A=1", "sudo", "sudo -u root", "doas", "nice", "nice -n 5", "nohup", "timeout 5",
            "timeout -s KILL 5", "time", "command", "exec", "stdbuf -oL", "ionice -c3", "setsid", "xargs", "xargs -0",
            "chroot /", "builtin command"]  # fmt: skip
RM_SPELLINGS = ["rm -rf x", "rm -fr x", "rm -r -f x", "rm -Rf x", "rm -rfv x", "rm --recursive --force x",
                "/bin/rm -rf x", "\\rm -rf x", "'rm' -rf x", "rm -f -R x", "rm --force -r x"]  # fmt: skip
ENCLOSURES = ["{}", "$({})", "`{}`", "({})", "{{ {}; }}", "if true; then {}; fi", "bash -c '{}'", "sh -c '{}'",
              "cat <(\n{}\n)", "for i in 1; do {}; done", "f() {{ {}; }}; f", "! {}",
              "find . -exec {} \\;"]  # fmt: skip


@st.composite
def hostile_lines(draw: st.DrawFn) -> str:
    inner = draw(st.sampled_from(RM_SPELLINGS))
    for wrapper in draw(st.lists(st.sampled_from(WRAPPERS), max_size=3)):
        inner = f"{wrapper} {inner}"
    enclosure = draw(st.sampled_from(ENCLOSURES))
    if "'" in enclosure and "'" in inner:
        inner = inner.replace("'rm'", "rm")
    line = enclosure.format(inner)
    before = draw(st.lists(st.sampled_from(BENIGN), max_size=2))
    after = draw(st.lists(st.sampled_from(BENIGN), max_size=2))
    parts = [*before, line, *after]
    seps = [draw(st.sampled_from(SEPARATORS)) for _ in parts[1:]]
    out = draw(st.sampled_from(["", " ", "\t", "  "])) + parts[0]
    for sep, part in zip(seps, parts[1:], strict=True):
        out += sep + part
    return out


@settings(max_examples=400, deadline=None)
@given(line=hostile_lines())
def test_a_denied_command_is_never_allowed(line: str) -> None:
    for mode in ("yolo", "auto-edit", "plan"):
        policy = ApprovalPolicy(mode, Path("/nonexistent-project"), sandboxed=True, allow=["bash: *"],
                                deny=["bash: rm -rf *"])  # fmt: skip
        verdict = policy.check("bash", {"command": line})
        assert verdict.decision is not Decision.ALLOW, (mode, line)
        if not parse_command_line(line).opaque:
            assert verdict.decision is Decision.DENY, (mode, line, verdict.reason)


@settings(max_examples=300, deadline=None)
@given(line=st.text(max_size=200))
def test_any_text_parses_without_raising(line: str) -> None:
    parsed = parse_command_line(line)
    assert all(c.argv for c in parsed.commands)


@settings(max_examples=200, deadline=None)
@given(line=st.text(alphabet="rm -f$`'\"\\;&|(){}<>\n\tx", max_size=40))
def test_shell_soup_is_never_allowed_by_a_narrow_rule_unless_every_command_is_rm_f(line: str) -> None:
    policy = ApprovalPolicy("ask", Path("/nonexistent-project"), sandboxed=True, allow=["bash: rm -f x"])
    verdict = policy.check("bash", {"command": line})
    if verdict.decision is Decision.ALLOW:
        parsed = parse_command_line(line)
        assert not parsed.opaque
        assert not parsed.writes
        assert all(c.argv in {("rm", "-f", "x"), ("rm", "x", "-f")} for c in parsed.commands), line


_CRASH_HUNT = """
import random, sys
from skipjack.safety.commands import parse_command_line
rng = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    chars = []
    for _ in range(rng.randint(0, 200)):
        r = rng.random()
        if r < 0.5:
            chars.append(chr(rng.randint(0, 127)))
        elif r < 0.8:
            chars.append(chr(rng.randint(128, 0x10FFFF)))
        else:
            chars.append(rng.choice("$(){}`'\\"<>|&;\\n"))
    parse_command_line("".join(chars))
print("survived")
"""


@pytest.mark.parametrize("seed", [3, 4])
def test_the_parser_survives_any_unicode_in_a_subprocess(seed: int) -> None:
    """tree-sitter-bash segfaulted (a crash of skipjack, not an exception) on some lines with
    characters beyond U+FFFF; seeds 3 and 4 crashed within 20,000 lines before the guard."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _CRASH_HUNT, str(seed), "20000"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "survived"


def test_an_emoji_does_not_carry_a_denied_command_past_the_rules() -> None:
    line = "rm -rf build  # 🚀 clean"
    assert parse_command_line(line).opaque
    for mode in ("ask", "auto-edit", "yolo"):
        policy = ApprovalPolicy(
            mode, Path("/nonexistent-project"), sandboxed=True, allow=["bash: rm *"], deny=["bash: rm -rf *"]
        )
        assert policy.check("bash", {"command": line}).decision is not Decision.ALLOW, mode
