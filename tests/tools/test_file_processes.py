"""The file tools under real processes: kills at random moments and two writers at once."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from skipjack.tools._atomic import is_temp_name, remove_stale_temps, temp_name

_EDITOR = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from skipjack.agent.tool import ToolContext
    from skipjack.tools.edit import EditArgs, EditTool

    async def main(path: str, first: int, count: int, tag: str) -> None:
        ctx = ToolContext(cwd=Path(path).parent)
        tool = EditTool(ctx.cwd)
        failed = 0
        for i in range(first, first + count):
            if tag == "version":
                args = EditArgs(path, old_text=f"version: {i}\\n", new_text=f"version: {i + 1}\\n")
            else:
                args = EditArgs(path, old_text="END\\n", new_text=f"{tag}-{i}\\nEND\\n")
            out = await tool.execute(args, ctx)
            if out.is_error:
                failed += 1
                print(out.content[0].text, file=sys.stderr, flush=True)
            if tag == "version":
                print(i + 1, flush=True)
        print("failed", failed, flush=True)

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    """
)


def _editor(path: Path, first: int, count: int, tag: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _EDITOR, str(path), str(first), str(count), tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_two_processes_editing_one_file_lose_nothing(tmp_path: Path) -> None:
    target = tmp_path / "shared.txt"
    target.write_text("START\nEND\n")
    procs = [_editor(target, 0, 100, "a"), _editor(target, 0, 100, "b")]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "failed 0" in out, err
    lines = target.read_text().splitlines()
    assert lines[0] == "START"
    assert lines[-1] == "END"
    assert sorted(lines[1:-1]) == sorted([f"a-{i}" for i in range(100)] + [f"b-{i}" for i in range(100)])
    # Each process's own edits stay in its order: no edit overtook another of the same writer.
    for who in "ab":
        mine = [int(x.split("-")[1]) for x in lines if x.startswith(f"{who}-")]
        assert mine == sorted(mine)
    assert [p.name for p in tmp_path.iterdir()] == ["shared.txt"]


def test_kill_during_large_edits_leaves_a_whole_file_and_no_stray_temp(tmp_path: Path) -> None:
    body = "".join(f"line {i:07d} of a large file that a killed edit must never cut short\n" for i in range(200_000))
    target = tmp_path / "big.txt"
    target.write_text(body + "version: 0\n")
    rng = random.Random(13)
    version = 0
    saw_temp = 0
    for _run in range(12):
        proc = _editor(target, version, 10_000, "version")
        assert proc.stdout is not None
        first = proc.stdout.readline()  # imports done and one edit landed: edits are under way
        assert first.strip().isdigit(), proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 0.4))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
        text = target.read_text()
        match = re.fullmatch(r"version: (\d+)\n", text[len(body) :])
        assert text.startswith(body), "the killed edit left a cut or mixed file"
        assert match is not None, text[len(body) :][:200]
        version = int(match.group(1))
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "big.txt"]
        assert all(is_temp_name(n) and ".big.txt.skipjack-" in n for n in leftovers), leftovers
        saw_temp += len(leftovers)
        # The next edit in the directory deletes the dead writer's temp files.
        proc = _editor(target, version, 1, "version")
        out, err = proc.communicate(timeout=60)
        assert "failed 0" in out, err
        version += 1
        assert [p.name for p in tmp_path.iterdir()] == ["big.txt"]
    assert target.read_text() == body + f"version: {version}\n"


def test_stale_temp_cleanup_spares_live_writers_and_other_files(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("x\n")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        ours = temp_name(target)
        dead_tmp = tmp_path / f".a.py.skipjack-{dead.pid}-0123abcd.tmp"
        live_tmp = tmp_path / f".a.py.skipjack-{alive.pid}-0123abcd.tmp"
        foreign = [tmp_path / ".a.py.1234abcd.tmp", tmp_path / f".a.py.skipjack-{dead.pid}-xyz.tmp"]
        for p in [ours, dead_tmp, live_tmp, *foreign]:
            p.write_text("partial")
        link = tmp_path / f".b.skipjack-{dead.pid}-0123abcd.tmp"
        link.symlink_to(target)  # never follow or delete something that only looks like ours
        removed = remove_stale_temps(tmp_path)
        assert removed == [dead_tmp.name]
        assert not dead_tmp.exists()
        for p in [ours, live_tmp, *foreign, link]:
            assert os.path.lexists(p), p
        # A pid reused by a process started after the temp file was written is not its writer.
        old = time.time() - 3600
        os.utime(live_tmp, (old, old))
        assert remove_stale_temps(tmp_path) == [live_tmp.name]
    finally:
        alive.kill()
        alive.wait()


@pytest.mark.parametrize("name", ["x" * 250, "with space ~.py"])
def test_temp_names_fit_and_are_marked(tmp_path: Path, name: str) -> None:
    tmp = temp_name(tmp_path / name)
    assert len(tmp.name) < 255
    assert is_temp_name(tmp.name)
    assert tmp.parent == tmp_path
