"""The parser's output: commands, assignments, wrappers, redirections, opaque reasons."""

from __future__ import annotations

import pytest

from skipjack.safety.commands import parse_command_line
from skipjack.safety.rules import compile_pattern, split_flags


def argvs(line: str, *, wrappers: bool = False) -> list[tuple[str, ...]]:
    return [c.argv for c in parse_command_line(line).commands if wrappers or not c.wrapper]


def test_lists_pipelines_and_newlines_yield_every_command() -> None:
    assert argvs("a 1 && b 2 || c 3; d 4 & e 5 | f 6\ng 7") == [
        ("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5"), ("f", "6"), ("g", "7"),
    ]  # fmt: skip


def test_substitutions_and_compound_commands_are_walked() -> None:
    found = set(argvs("echo $(a) `b` <(c) >(d); (e); { f; }; if g; then h; fi; for i in $(j); do k; done"))
    assert {("a",), ("b",), ("c",), ("d",), ("e",), ("f",), ("g",), ("h",), ("j",), ("k",)} <= found
    assert set(argvs("fn() { inner x; }; case y in y) z;; esac")) == {("inner", "x"), ("z",)}
    assert ("rm", "x") in argvs("cat <<EOF\n$(rm x)\nEOF")


def test_names_are_normalised_and_quotes_removed() -> None:
    for line in ("/bin/rm a", "/usr/bin/rm a", "\\rm a", "'rm' a", '"rm" a', "r'm' a", "  rm a", "\trm 'a'"):
        assert argvs(line) == [("rm", "a")], line
    assert argvs('echo $\'a\\tb\' "c\\"d"') == [("echo", "a\tb", 'c"d')]


def test_assignments_are_split_off() -> None:
    (command,) = parse_command_line("FOO=1 BAR='x y' make -j2").commands
    assert command.argv == ("make", "-j2")
    assert command.assignments == ("FOO=1", "BAR='x y'")


@pytest.mark.parametrize(
    ("line", "inner", "via"),
    [
        ("env -i -u B A=1 rm x", ("rm", "x"), ("env",)),
        ("sudo -u root -E rm x", ("rm", "x"), ("sudo",)),
        ("doas -u root rm x", ("rm", "x"), ("doas",)),
        ("nice -n 5 rm x", ("rm", "x"), ("nice",)),
        ("nohup rm x", ("rm", "x"), ("nohup",)),
        ("timeout -k 1 5 rm x", ("rm", "x"), ("timeout",)),
        ("time -p rm x", ("rm", "x"), ("time",)),
        ("command -p rm x", ("rm", "x"), ("command",)),
        ("exec -a n rm x", ("rm", "x"), ("exec",)),
        ("stdbuf -o L rm x", ("rm", "x"), ("stdbuf",)),
        ("ionice -c3 rm x", ("rm", "x"), ("ionice",)),
        ("setsid -f rm x", ("rm", "x"), ("setsid",)),
        ("chroot --userspec=u / rm x", ("rm", "x"), ("chroot",)),
        ("xargs -0 -I {} rm x", ("rm", "x"), ("xargs",)),
        ("find . -exec rm x \\;", ("rm", "x"), ("find -exec",)),
        ("bash -c 'rm x'", ("rm", "x"), ("bash -c",)),
        ("sh -xc 'rm x'", ("rm", "x"), ("sh -c",)),
        ("timeout 5 sudo bash -c 'rm x'", ("rm", "x"), ("timeout", "sudo", "bash -c")),
    ],
)
def test_wrappers_are_unwrapped(line: str, inner: tuple[str, ...], via: tuple[str, ...]) -> None:
    parsed = parse_command_line(line)
    assert not parsed.opaque, parsed.opaque_reasons
    real = [c for c in parsed.commands if not c.wrapper and c.name == "rm"]
    assert [(c.argv, c.via) for c in real] == [(inner, via)]


def test_xargs_without_a_command_runs_echo_and_command_v_runs_nothing() -> None:
    assert argvs("xargs") == [("echo",)]
    assert argvs("command -v rm", wrappers=False) == []


@pytest.mark.parametrize(
    ("line", "writes"),
    [
        ("a > f", [(">", None, "f")]),
        ("a 2> f", [(">", "2", "f")]),
        ("a 9>f", [(">", "9", "f")]),
        ("a >> f", [(">>", None, "f")]),
        ("a &> f", [("&>", None, "f")]),
        ("a &>> f", [("&>>", None, "f")]),
        ("a >| f", [(">|", None, "f")]),
        ("a >& f", [("&>", None, "f")]),
        ("a 2>&1 >&2 1>&- < in <<< s", []),
        ("a > /dev/null 2>/dev/stderr", []),
        ("a > $OUT", [(">", None, None)]),
        ("cat <<EOF > f\nx\nEOF", [(">", None, "f")]),
        ("echo >(cat > g)", [(">", None, "g")]),
    ],
)
def test_redirections_that_write(line: str, writes: list[tuple[str, str | None, str | None]]) -> None:
    parsed = parse_command_line(line)
    assert [(r.op, r.fd, r.target) for r in parsed.writes] == writes


@pytest.mark.parametrize(
    "line",
    ["eval x", "source f", ". f", "$X a", "${X} a", "$(echo rm) x", "r* x", "ls (", "ls 'x", "echo a | bash",
     "bash f.sh", "bash -c \"$S\"", "sudo -s", "env --bogus ls", "time -o f ls", "cat <<EOF\n`x`\nEOF",
     "ls <> f"],
)  # fmt: skip
def test_opaque_lines(line: str) -> None:
    assert parse_command_line(line).opaque


def test_nesting_is_bounded() -> None:
    line = "ls"
    for _ in range(8):
        line = "bash -c " + repr(line).replace("\\'", "'")
    assert parse_command_line(line).opaque


def test_cd_marks_the_directory_unknown() -> None:
    assert parse_command_line("cd x && ls").changes_dir
    assert parse_command_line("env -C x ls").changes_dir
    assert not parse_command_line("ls").changes_dir


@pytest.mark.parametrize(
    ("pattern", "line", "matches"),
    [
        ("rm -rf *", "rm -fr x", True),
        ("rm -rf *", "rm -r -f x", True),
        ("rm -rf *", "rm -Rf x", True),
        ("rm -rf *", "rm --recursive --force x", True),
        ("rm -rf *", "rm -rfv x", True),
        ("rm -rf *", "rm -r x", False),
        ("rm -rf *", "rm -- -rf", False),
        ("/bin/rm -rf *", "rm -rf x", True),
        ("git status *", "git status", True),
        ("git status *", "git -C x status", False),
        ("git status*", "git status --short", True),
        ("ls -la", "ls -al", True),
        ("ls -la", "ls -la x", False),
        ("ls -la", "ls -lah", False),
        ("python -m pytest *", "python -m pytest -q", True),
        ("python -m pytest *", "python x.py -m pytest", False),
        ("*", "anything at all", True),
    ],
)
def test_pattern_semantics(pattern: str, line: str, matches: bool) -> None:
    (command,) = parse_command_line(line).commands
    assert compile_pattern(pattern).matches(command) is matches


def test_flag_spellings_are_one_flag() -> None:
    assert split_flags("rm", ["-Rf", "x"]) == split_flags("rm", ["--recursive", "--force", "x"])
    assert split_flags("rm", ["--recur", "--fo", "x"])[0] == frozenset({"--recursive", "--force"})
    assert split_flags("ls", ["-la"])[0] == frozenset({"-l", "-a"})


def test_absurd_nesting_is_opaque_not_a_crash() -> None:
    assert parse_command_line("(" * 5000 + "ls" + ")" * 5000).opaque
    assert parse_command_line("echo " + "$(" * 3000 + "ls" + ")" * 3000).opaque
