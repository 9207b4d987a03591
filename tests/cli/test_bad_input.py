"""Bad input to the installed command: each case is one sentence on stderr and exit 2, never a
traceback, a hang, or a run that starts anyway (the scripted server must see no request)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.cli.helpers import SKIPJACK, isolated_env, run_cli

from skipjack.sessions import SessionStore
from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

TIMEOUT = 30


def run_raw(
    *args: str | bytes, cwd: Path, env: dict[str, str], stdin: bytes | int | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The command with byte-level arguments and stdin, which `run_cli`'s text mode cannot send."""
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | env
    kwargs: dict[str, object] = {"stdin": stdin} if isinstance(stdin, int) else {"input": stdin}
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        [os.fsencode(SKIPJACK), *args], cwd=cwd, env=full_env, capture_output=True, timeout=TIMEOUT, **kwargs
    )


def assert_one_sentence(returncode: int, stderr: str | bytes, *needles: str) -> None:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    assert returncode == 2, text
    assert "Traceback" not in text
    lines = text.strip("\n").split("\n")
    assert len(lines) == 1, text
    assert lines[0].startswith("skipjack: "), text
    for needle in needles:
        assert needle in lines[0], text


@pytest.fixture
def answering(server: SSEServer) -> SSEServer:
    """A server that would complete the run, so a check that lets bad input through fails the
    test by exiting 0 instead of hanging it."""
    server.enqueue(turn_reply(ScriptedTurn(text="done")))
    return server


# -- the prompt -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe fix it", b"fix \xed\xa0\x80 it", b"overlong \xc0\xaf slash", b"cut \xe2\x82"],
    ids=["bom-like", "encoded-surrogate", "overlong", "truncated"],
)
def test_prompt_on_stdin_not_utf8(tmp_path: Path, repo: Path, answering: SSEServer, data: bytes) -> None:
    out = run_raw("run", cwd=repo, env=isolated_env(tmp_path), stdin=data)
    assert_one_sentence(out.returncode, out.stderr, "stdin", "not UTF-8")
    assert answering.requests == []


def test_prompt_on_stdin_without_end_is_capped(tmp_path: Path, repo: Path, answering: SSEServer) -> None:
    fd = os.open("/dev/zero", os.O_RDONLY)
    try:
        out = run_raw("run", cwd=repo, env=isolated_env(tmp_path), stdin=fd)
    finally:
        os.close(fd)
    assert_one_sentence(out.returncode, out.stderr, "stdin", "larger than")
    assert answering.requests == []


def test_prompt_argument_not_utf8(tmp_path: Path, repo: Path, answering: SSEServer) -> None:
    out = run_raw("run", b"fix \xff it", cwd=repo, env=isolated_env(tmp_path))
    assert_one_sentence(out.returncode, out.stderr, "prompt", "UTF-8")
    assert answering.requests == []


def test_a_good_prompt_on_stdin_still_runs(tmp_path: Path, repo: Path, answering: SSEServer) -> None:
    out = run_raw("run", cwd=repo, env=isolated_env(tmp_path), stdin="répare ça ✓\n".encode())
    assert out.returncode == 0, out.stderr
    assert answering.requests[0].json()["messages"][-1]["content"] == "répare ça ✓\n"


# -- --system-prompt-file ---------------------------------------------------------------------


def _fifo(tmp: Path) -> str:
    path = tmp / "prompt.fifo"
    os.mkfifo(path)
    return str(path)


def _directory(tmp: Path) -> str:
    return str(tmp)


def _huge(tmp: Path) -> str:
    path = tmp / "huge.md"
    with path.open("wb") as f:
        f.truncate(3 * 1024 * 1024 * 1024)  # sparse: 3 GiB that take no disk
    return str(path)


def _latin1(tmp: Path) -> str:
    path = tmp / "latin1.md"
    path.write_bytes("Tu es un assistant dévoué.".encode("latin-1"))
    return str(path)


def _link_to_zero(tmp: Path) -> str:
    path = tmp / "innocent.md"
    path.symlink_to("/dev/zero")
    return str(path)


def _missing(tmp: Path) -> str:
    return str(tmp / "no such dir" / "prompt.md")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda _: "/dev/zero", "not a regular file"),
        (_link_to_zero, "not a regular file"),
        (_fifo, "FIFO"),
        (_directory, "directory"),
        (_huge, "larger than"),
        (_latin1, "not UTF-8"),
        (_missing, "No such file"),
    ],
    ids=["dev-zero", "symlink-to-dev-zero", "fifo", "directory", "huge", "latin1", "missing"],
)
def test_system_prompt_file_that_is_not_a_text_file(
    tmp_path: Path, repo: Path, answering: SSEServer, make: Callable[[Path], str], says: str
) -> None:
    target = make(tmp_path)
    out = run_cli("run", "--system-prompt-file", target, "hi", cwd=repo, env=isolated_env(tmp_path), timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, "--system-prompt-file", says)
    assert answering.requests == []


# -- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e309", "-1", "0", "-0", "abc", "0x10", ""])
def test_max_cost_must_be_a_finite_positive_amount(
    tmp_path: Path, repo: Path, answering: SSEServer, value: str
) -> None:
    out = run_cli("run", "--max-cost", value, "hi", cwd=repo, env=isolated_env(tmp_path), timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, "--max-cost")
    assert answering.requests == []


@pytest.mark.parametrize("value", ["0", "-1", " 0", "1.5", "1e3", "many", ""])
def test_max_turns_must_be_at_least_one(tmp_path: Path, repo: Path, answering: SSEServer, value: str) -> None:
    out = run_cli("run", "--max-turns", value, "hi", cwd=repo, env=isolated_env(tmp_path), timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, "--max-turns")
    assert answering.requests == []


def test_good_limits_are_accepted(tmp_path: Path, repo: Path, answering: SSEServer) -> None:
    out = run_cli(
        "run", "--max-turns", "3", "--max-cost", "0.5", "hi", cwd=repo, env=isolated_env(tmp_path), timeout=TIMEOUT
    )
    assert out.returncode == 0, out.stderr


def test_the_ui_entry_checks_flags_before_starting(tmp_path: Path) -> None:
    """`skipjack --max-turns 0` must not open the terminal UI with a limit it can never meet."""
    out = run_cli("--max-turns", "0", cwd=tmp_path, env=isolated_env(tmp_path), timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, "--max-turns")


# -- config files -----------------------------------------------------------------------------


def _nested_arrays(path: Path) -> None:
    path.write_text("a = " + "[" * 10_000 + "]" * 10_000 + "\n")


def _nested_tables(path: Path) -> None:
    path.write_text("a = " + "{ b = " * 10_000 + "1" + " }" * 10_000 + "\n")


def _nested_just_under_the_recursion_limit(path: Path) -> None:
    path.write_text("[extra]\na = " + "[" * 200 + "]" * 200 + "\n")


def _dotted_keys_deep(path: Path) -> None:
    # Not recursive for tomllib's parser, but deep for everything that walks the result.
    path.write_text(".".join(f"k{i}" for i in range(5000)) + " = 1\n")


def _not_utf8(path: Path) -> None:
    path.write_bytes(b'model = "caf\xe9/x"\n')


def _directory_named_config(path: Path) -> None:
    path.mkdir()


def _fifo_config(path: Path) -> None:
    os.mkfifo(path)


def _huge_config(path: Path) -> None:
    with path.open("wb") as f:
        f.write(b"# " + b"x" * (2 * 1024 * 1024) + b"\n")


def _link_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _dangling_link(path: Path) -> None:
    path.symlink_to(path.parent / "gone.toml")


CONFIG_CASES = [
    (_nested_arrays, "nested"),
    (_nested_tables, "nested"),
    (_nested_just_under_the_recursion_limit, "nested"),
    (_dotted_keys_deep, "nested"),
    (_not_utf8, "not UTF-8"),
    (_directory_named_config, "directory"),
    (_fifo_config, "FIFO"),
    (_huge_config, "larger than"),
    (_link_to_dev_zero, "not a regular file"),
    (_dangling_link, "No such file"),
]
CONFIG_IDS = [
    "arrays-10000-deep",
    "inline-tables-10000-deep",
    "arrays-200-deep",
    "dotted-key-5000-deep",
    "not-utf8",
    "directory",
    "fifo",
    "huge",
    "symlink-to-dev-zero",
    "dangling-symlink",
]


@pytest.mark.parametrize(("make", "says"), CONFIG_CASES, ids=CONFIG_IDS)
def test_bad_project_config(
    tmp_path: Path, repo: Path, answering: SSEServer, make: Callable[[Path], None], says: str
) -> None:
    nested = repo / "src" / ".skipjack"
    nested.mkdir(parents=True)
    path = nested / "config.toml"
    make(path)
    out = run_cli("run", "hi", cwd=repo / "src", env=isolated_env(tmp_path), timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, str(path), says)
    assert answering.requests == []


@pytest.mark.parametrize(("make", "says"), CONFIG_CASES, ids=CONFIG_IDS)
def test_bad_user_config(
    tmp_path: Path, repo: Path, answering: SSEServer, make: Callable[[Path], None], says: str
) -> None:
    env = isolated_env(tmp_path)
    user = Path(env["SKIPJACK_CONFIG_DIR"]) / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.unlink(missing_ok=True)  # the `repo` fixture's user config (trusting the repo) gives way
    make(user)
    for args in (["run", "hi"], ["config", "show"]):
        out = run_cli(*args, cwd=repo, env=env, timeout=TIMEOUT)
        assert_one_sentence(out.returncode, out.stderr, str(user), says)
    assert answering.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a 0000 file: permission bits do not apply")
def test_unreadable_config(tmp_path: Path, repo: Path, answering: SSEServer) -> None:
    path = repo / ".skipjack" / "config.toml"
    path.chmod(0)
    out = run_cli("run", "hi", cwd=repo, env=isolated_env(tmp_path), timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, str(path), "Permission denied")


# -- where to work, which session -------------------------------------------------------------


def test_cwd_that_is_not_a_directory(tmp_path: Path, repo: Path, answering: SSEServer) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for target in (str(repo / "hello.py"), str(tmp_path / "nowhere"), str(loop)):
        out = run_cli("run", "--cwd", target, "hi", cwd=repo, env=isolated_env(tmp_path), timeout=TIMEOUT)
        assert_one_sentence(out.returncode, out.stderr, "--cwd")
    assert answering.requests == []


@pytest.mark.parametrize("session", ["20260101-000000-abcdef", "*", "YEAR*", "../../etc/passwd", "2", "WHOLE?"])
def test_session_that_does_not_exist_here(tmp_path: Path, repo: Path, answering: SSEServer, session: str) -> None:
    """Only another project has a session: patterns and prefixes must not reach it."""
    env = isolated_env(tmp_path)
    other = tmp_path / "other-project"
    other.mkdir()
    theirs = SessionStore(Path(env["SKIPJACK_DATA_DIR"]) / "sessions").create(other, "scripted/m1")
    theirs.close()
    session = session.replace("YEAR", theirs.id[:4]).replace("WHOLE", theirs.id[:-1])
    out = run_cli("run", "--session", session, "hi", cwd=repo, env=env, timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, "session")
    assert answering.requests == []


# -- session ids in `skipjack sessions` -------------------------------------------------------


def _sessions_in_two_projects(tmp_path: Path, repo: Path) -> tuple[SessionStore, str, str]:
    env = isolated_env(tmp_path)
    store = SessionStore(Path(env["SKIPJACK_DATA_DIR"]) / "sessions")
    other = tmp_path / "other-project"
    other.mkdir()
    mine, theirs = store.create(repo, "scripted/m1"), store.create(other, "scripted/m1")
    for s in (mine, theirs):
        s.close()
    return store, mine.id, theirs.id


@pytest.mark.parametrize("pattern", ["*", "2*", "[0-9]*", "????????-*", "*/*"])
def test_sessions_show_and_delete_take_no_patterns(tmp_path: Path, repo: Path, pattern: str) -> None:
    store, mine, theirs = _sessions_in_two_projects(tmp_path, repo)
    env = isolated_env(tmp_path)
    for command in ("show", "export", "fork", "delete"):
        out = run_cli("sessions", command, pattern, cwd=repo, env=env, timeout=TIMEOUT)
        assert_one_sentence(out.returncode, out.stderr, "not a session id")
        assert theirs not in out.stdout
    assert sorted(p.stem for p in store.root.glob("*/*.jsonl")) == sorted([mine, theirs])


def test_sessions_prefix_is_this_projects_only(tmp_path: Path, repo: Path) -> None:
    store, mine, theirs = _sessions_in_two_projects(tmp_path, repo)
    env = isolated_env(tmp_path)
    shown = run_cli("sessions", "show", mine[:-2], cwd=repo, env=env, timeout=TIMEOUT)
    if not theirs.startswith(mine[:-2]):
        assert shown.returncode == 0, shown.stderr
        assert mine in shown.stdout
    unique_theirs = next(theirs[:i] for i in range(1, len(theirs) + 1) if not mine.startswith(theirs[:i]))
    out = run_cli("sessions", "show", unique_theirs, cwd=repo, env=env, timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, "no session of this project")
    # Deleting takes the whole id, and only then.
    out = run_cli("sessions", "delete", mine[:-1], cwd=repo, env=env, timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, "whole session id")
    out = run_cli("sessions", "delete", mine, cwd=repo, env=env, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert [p.stem for p in store.root.glob("*/*.jsonl")] == [theirs]


# -- the same family, found by sweeping ---------------------------------------------------------


@pytest.mark.parametrize("url", ["not a url", "ftp://x", "http://[::1", "http://h:99999", "http://", "localhost:8080"])
def test_base_url_that_is_not_an_http_url(tmp_path: Path, repo: Path, answering: SSEServer, url: str) -> None:
    out = run_cli("run", "--base-url", url, "--model", "x", "hi", cwd=repo, env=isolated_env(tmp_path), timeout=TIMEOUT)
    assert_one_sentence(out.returncode, out.stderr, "--base-url")
    assert answering.requests == []


def test_api_key_env_not_utf8(tmp_path: Path, repo: Path, answering: SSEServer) -> None:
    env = isolated_env(tmp_path)
    out = run_raw("run", "--base-url", answering.url, "--api-key-env", b"K\xff", "hi", cwd=repo, env=env)
    assert_one_sentence(out.returncode, out.stderr, "--api-key-env", "UTF-8")
    assert answering.requests == []


def test_export_to_a_place_that_cannot_be_written(tmp_path: Path, repo: Path) -> None:
    _, mine, _ = _sessions_in_two_projects(tmp_path, repo)
    env = isolated_env(tmp_path)
    for target in (str(tmp_path), str(tmp_path / "missing" / "out.md")):
        out = run_cli("sessions", "export", mine, "-o", target, cwd=repo, env=env, timeout=TIMEOUT)
        assert_one_sentence(out.returncode, out.stderr, "cannot write", target)
    good = tmp_path / "out.md"
    out = run_cli("sessions", "export", mine, "-o", str(good), cwd=repo, env=env, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert mine in good.read_text()


def test_huge_instructions_file_is_skipped_with_a_warning(tmp_path: Path, repo: Path, answering: SSEServer) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as f:
        f.truncate(2 * 1024 * 1024 * 1024)  # sparse: 2 GiB that would otherwise go into every request
    (repo / "AGENTS.md").symlink_to(big)
    out = run_cli("run", "hi", cwd=repo, env=isolated_env(tmp_path), timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert "AGENTS.md is larger than" in out.stderr
    assert len(answering.requests[0].body) < 1024 * 1024
