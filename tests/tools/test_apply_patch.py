from __future__ import annotations

import asyncio
import codecs
import errno
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.config.schema import Settings
from skipjack.llm.types import Model
from skipjack.safety.policy import ApprovalPolicy, Decision, _write_paths
from skipjack.tools import default_tools, with_edit_tool_for
from skipjack.tools.apply_patch import ApplyPatchArgs, ApplyPatchTool, patch_paths


async def patch(ctx: ToolContext, text: str) -> ToolOutput:
    return await ApplyPatchTool(ctx.cwd).execute(ApplyPatchArgs(text), ctx)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


MULTI = """*** Begin Patch
*** Update File: src/app.py
@@ def greet():
     name = "x"
-    return "hello " + name
+    return "hi " + name
*** Add File: src/new.py
+VALUE = 1
+
+print(VALUE)
*** Delete File: old.txt
*** Update File: src/a.py
*** Move to: lib/b.py
@@
 import os
-x = 1
+x = 2
*** End Patch
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/app.py").write_text(
        'def other():\n    return 0\n\ndef greet():\n    name = "x"\n    return "hello " + name\n'
    )
    (tmp_path / "src/a.py").write_text("import os\nx = 1\n")
    (tmp_path / "old.txt").write_text("bye\n")
    return tmp_path


async def test_multi_file_patch_updates_adds_deletes_and_moves(ctx: ToolContext, tree: Path) -> None:
    os.chmod(tree / "src/a.py", 0o640)
    out = await patch(ctx, MULTI)
    assert not out.is_error, text_of(out)
    assert (tree / "src/app.py").read_text().endswith('    return "hi " + name\n')
    assert (tree / "src/app.py").read_text().startswith("def other():\n    return 0\n")
    assert (tree / "src/new.py").read_text() == "VALUE = 1\n\nprint(VALUE)\n"
    assert not (tree / "old.txt").exists()
    assert not (tree / "src/a.py").exists()
    assert (tree / "lib/b.py").read_text() == "import os\nx = 2\n"
    assert stat.S_IMODE((tree / "lib/b.py").stat().st_mode) == 0o640
    text = text_of(out)
    assert "Moved src/a.py to lib/b.py" in text
    assert "Deleted old.txt." in text
    assert "Created src/new.py." in text
    assert '-    return "hello " + name' in text
    assert '+    return "hi " + name' in text
    assert "--- a/src/app.py" in text
    assert "+++ b/src/app.py" in text


async def test_stale_context_refused_with_hunk_named_and_nothing_written(ctx: ToolContext, tree: Path) -> None:
    (tree / "src/a.py").write_text("import os\nx = 5\n")  # changed since the model read it
    before = snapshot(tree)
    out = await patch(ctx, MULTI)
    assert out.is_error
    msg = text_of(out)
    assert "hunk 1 (@@ ) of src/a.py" in msg or "hunk 1 of src/a.py" in msg
    assert "hunk 1 of src/a.py, patch line 14 does not apply" in msg
    assert "Nothing was written" in msg
    assert snapshot(tree) == before  # the earlier update, add and delete did not happen


async def test_second_hunk_named_when_it_fails(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "f.py").write_text("a\nb\nc\nd\ne\nf\n")
    out = await patch(
        ctx, "*** Begin Patch\n*** Update File: f.py\n@@\n a\n-b\n+B\n@@ class Gone\n e\n-f\n+F\n*** End Patch"
    )
    assert out.is_error
    assert "hunk 2 (@@ class Gone) of f.py" in text_of(out)
    out = await patch(ctx, "*** Begin Patch\n*** Update File: f.py\n@@\n a\n-b\n+B\n@@\n e\n-zz\n+F\n*** End Patch")
    assert "hunk 2 of f.py, patch line 7 does not apply" in text_of(out)
    assert (tmp_path / "f.py").read_text() == "a\nb\nc\nd\ne\nf\n"


async def test_hunks_apply_in_order_and_an_earlier_match_is_not_reused(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "f.py").write_text("x = 1\ny\nx = 1\n")
    out = await patch(ctx, "*** Begin Patch\n*** Update File: f.py\n-x = 1\n+x = 2\n*** End Patch")
    assert out.is_error
    assert "ambiguous" in text_of(out)
    assert "lines 1, 3" in text_of(out)
    out = await patch(ctx, "*** Begin Patch\n*** Update File: f.py\n@@ y\n-x = 1\n+x = 2\n*** End Patch")
    assert not out.is_error, text_of(out)
    assert (tmp_path / "f.py").read_text() == "x = 1\ny\nx = 2\n"


async def test_crlf_file_stays_crlf_and_utf16_stays_utf16(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    (tmp_path / "l.txt").write_bytes(codecs.BOM_UTF16_LE + "caf\xe9\r\nna\xefve\r\n".encode("utf-16-le"))
    # The patch itself may come with CRLF line endings too.
    text = (
        "*** Begin Patch\r\n*** Update File: w.txt\r\n one\r\n-two\r\n+TWO\r\n+2.5\r\n"
        "*** Update File: l.txt\n-na\xefve\n+na\xefve!\n*** End Patch\r\n"
    )
    out = await patch(ctx, text)
    assert not out.is_error, text_of(out)
    assert (tmp_path / "w.txt").read_bytes() == b"one\r\nTWO\r\n2.5\r\nthree\r\n"
    assert (tmp_path / "l.txt").read_bytes() == codecs.BOM_UTF16_LE + "caf\xe9\r\nna\xefve!\r\n".encode("utf-16-le")


async def test_undecodable_file_refused(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "l.txt").write_bytes(b"caf\xe9\n")
    out = await patch(ctx, "*** Begin Patch\n*** Update File: l.txt\n-caf\n+cafe\n*** End Patch")
    assert out.is_error
    assert "not valid UTF-8" in text_of(out)
    assert (tmp_path / "l.txt").read_bytes() == b"caf\xe9\n"


async def test_no_final_newline_kept(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a\nb")
    out = await patch(ctx, "*** Begin Patch\n*** Update File: f\n a\n-b\n+c\n*** End of File\n*** End Patch")
    assert not out.is_error, text_of(out)
    assert (tmp_path / "f").read_text() == "a\nc"


@pytest.mark.parametrize(
    "wrap",
    [
        "I'll fix it now.\n\n{}\n\nThat should do it.",
        "Here is the change:\n```diff\n{}\n```\n",
        "```\n{}```",
        "apply_patch <<'EOF'\n{}\nEOF\n",
    ],
)
async def test_patch_in_freeform_text(ctx: ToolContext, tmp_path: Path, wrap: str) -> None:
    (tmp_path / "f.py").write_text("a = 1\n")
    body = "*** Begin Patch\n*** Update File: f.py\n@@\n-a = 1\n+a = 2\n*** End Patch\n"
    out = await patch(ctx, wrap.format(body))
    assert not out.is_error, text_of(out)
    assert (tmp_path / "f.py").read_text() == "a = 2\n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("just prose", "no `*** Begin Patch`"),
        ("*** Begin Patch\n*** Update File: f.py\n-a = 1\n+a = 2\n", "no `*** End Patch`"),
        ("*** Begin Patch\n*** End Patch\n*** Begin Patch\n*** End Patch", "more than one"),
        ("*** Begin Patch\n*** End Patch", "changes no file"),
        ("*** Begin Patch\n*** Update File: f.py\n*** End Patch", "has no hunks"),
        ("*** Begin Patch\n*** Update File: f.py\n@@\n a = 1\n*** End Patch", "changes nothing"),
        ("*** Begin Patch\n*** Update File: f.py\n@@\n?a = 1\n*** End Patch", "must start with ' ', '-' or '+'"),
        ("*** Begin Patch\n*** Add File: n.py\nno plus\n*** End Patch", "must start with `+`"),
        ("*** Begin Patch\n *** Update File: f.py\n-a = 1\n+a = 2\n*** End Patch", "patch line 2: expected"),
        ("*** Begin Patch\n***Update File: f.py\n-a = 1\n+a = 2\n*** End Patch", "patch line 2: expected"),
        ("*** Begin Patch\n*** Update File:   \n-a\n+b\n*** End Patch", "names no file"),
        ("*** Begin Patch\n*** Update File: f.py\n-a = 1\n+a = 2\n*** Frobnicate\n*** End Patch", "unknown marker"),
        (
            "*** Begin Patch\n*** Update File: f.py\n-a = 1\n+a = 2\n*** Update File: ./f.py\n-a\n+b\n*** End Patch",
            "named twice",
        ),
        ("*** Begin Patch\n*** Add File: f.py\n+x\n*** End Patch", "already exists"),
        ("*** Begin Patch\n*** Delete File: nope.py\n*** End Patch", "no such file"),
        ("*** Begin Patch\n*** Update File: f.py\n*** Move to: g.py\n-a = 1\n+a = 3\n*** End Patch", "already exists"),
    ],
)
async def test_malformed_or_impossible_patches_refused(
    ctx: ToolContext, tmp_path: Path, text: str, fragment: str
) -> None:
    (tmp_path / "f.py").write_text("a = 1\n")
    (tmp_path / "g.py").write_text("keep\n")
    before = snapshot(tmp_path)
    out = await patch(ctx, text)
    assert out.is_error
    assert fragment in text_of(out)
    assert snapshot(tmp_path) == before


async def test_read_only_file_refused_and_nothing_else_written(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1\n")
    (tmp_path / "ro").write_text("2\n")
    os.chmod(tmp_path / "ro", 0o444)
    out = await patch(
        ctx, "*** Begin Patch\n*** Update File: a\n-1\n+one\n*** Update File: ro\n-2\n+two\n*** End Patch"
    )
    assert out.is_error
    assert "read-only" in text_of(out)
    assert (tmp_path / "a").read_text() == "1\n"


async def test_fifo_refused_without_blocking(ctx: ToolContext, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p")
    out = await patch(ctx, "*** Begin Patch\n*** Delete File: p\n*** End Patch")
    assert out.is_error
    assert "named pipe" in text_of(out)
    assert stat.S_ISFIFO((tmp_path / "p").lstat().st_mode)


async def test_symlinked_file_is_edited_through_the_link(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("a\n")
    (tmp_path / "link.txt").symlink_to("real.txt")
    out = await patch(ctx, "*** Begin Patch\n*** Update File: link.txt\n-a\n+b\n*** End Patch")
    assert not out.is_error, text_of(out)
    assert (tmp_path / "link.txt").is_symlink()
    assert (tmp_path / "real.txt").read_text() == "b\n"


def test_policy_sees_every_path_a_patch_names() -> None:
    text = (
        "prose\n```diff\n*** Begin Patch\n*** Update File: a/x.py\n*** Move to:  ~/.bashrc \n@@\n-a\n+b\n"
        "*** Add File: ../escape.py\n+x\n*** Delete File: /etc/passwd\n*** End Patch\n```"
    )
    paths = _write_paths("apply_patch", {"input": text})
    assert "x.py" not in paths  # a Codex header has no git a/ prefix
    for expected in ("a/x.py", "~/.bashrc", "../escape.py", "/etc/passwd"):
        assert expected in paths


async def test_paths_outside_the_project_are_judged_by_the_policy(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    policy = ApprovalPolicy("auto-edit", project, sandboxed=False)
    inside = "*** Begin Patch\n*** Add File: ok.py\n+x\n*** End Patch"
    assert policy.check("apply_patch", {"input": inside}).decision is Decision.ALLOW
    for escape in (
        "*** Begin Patch\n*** Add File: ../escape.py\n+x\n*** End Patch",
        "*** Begin Patch\n*** Update File: ok.py\n*** Move to: ~/moved.py\n-x\n+y\n*** End Patch",
        "*** Begin Patch\n*** Delete File: /etc/hosts\n*** End Patch",
        "Sure!\n```\n*** Begin Patch\n*** Update File: ok.py\n-x\n+y\n"
        "*** Add File:   /tmp/evil \n+x\n*** End Patch\n```",
    ):
        assert policy.check("apply_patch", {"input": escape}).decision is not Decision.ALLOW, escape


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("gpt-5", True),
        ("gpt-5-mini", True),
        ("gpt-5.2", True),
        ("gpt-5.3-codex", True),
        ("openai/gpt-5.1-codex", True),
        ("codex-mini-latest", True),
        ("GPT-5", True),
        ("gpt-50", False),
        ("gpt-4.1", False),
        ("claude-sonnet-4-5", False),
        ("my-gpt-5-finetune", False),
    ],
)
def test_edit_tool_chosen_by_model_family(tmp_path: Path, model_id: str, expected: bool) -> None:
    model = Model(provider="openai", id=model_id, api="openai-chat", base_url="http://127.0.0.1:1")
    names = [t.name for t in default_tools(tmp_path, model=model)]
    assert ("apply_patch" in names) is expected
    assert ("edit" in names) is not expected
    assert [t.name for t in default_tools(tmp_path, model=model, edit_format="edit")].count("edit") == 1
    forced = [t.name for t in default_tools(tmp_path, model=model, edit_format="apply_patch")]
    assert "apply_patch" in forced
    assert "edit" not in forced


def test_switching_model_swaps_the_edit_tool(tmp_path: Path) -> None:
    gpt = Model(provider="openai", id="gpt-5", api="openai-chat", base_url="http://127.0.0.1:1")
    other = Model(provider="x", id="m1", api="openai-chat", base_url="http://127.0.0.1:1")
    tools = default_tools(tmp_path, model=other)
    swapped = with_edit_tool_for(tools, tmp_path, gpt)
    assert [t.name for t in swapped][1] == "apply_patch"
    assert [t.name for t in with_edit_tool_for(swapped, tmp_path, other)][1] == "edit"
    assert len(swapped) == len(tools)


def test_edit_format_setting_is_validated() -> None:
    assert msgspec.convert({"tools": {"edit_format": "apply_patch"}}, Settings).tools.edit_format == "apply_patch"
    assert Settings().tools.edit_format == "auto"
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"tools": {"edit_format": "diff"}}, Settings)


def test_apply_patch_schema_survives_json(tmp_path: Path) -> None:
    spec = ApplyPatchTool(tmp_path).spec()
    assert spec.parameters["required"] == ["input"]
    assert msgspec.json.decode(msgspec.json.encode(spec.parameters)) == spec.parameters


async def test_mixed_line_endings_kept_line_by_line(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_bytes(b"a\r\nb\nc\r\nd  \r\n")
    # The model dropped the trailing spaces of `d  `: the line still matches, and is kept as on disk.
    out = await patch(ctx, "*** Begin Patch\n*** Update File: m.txt\n b\n-c\n+C\n d\n*** End Patch")
    assert not out.is_error, text_of(out)
    assert (tmp_path / "m.txt").read_bytes() == b"a\r\nb\nC\r\nd  \r\n"


async def test_appending_after_a_last_line_without_newline(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a\nb")
    out = await patch(ctx, "*** Begin Patch\n*** Update File: f\n@@ b\n+c\n*** End Patch")
    assert not out.is_error, text_of(out)
    assert (tmp_path / "f").read_text() == "a\nb\nc"


async def test_failed_write_midway_restores_the_files_already_written(
    ctx: ToolContext, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.chmod(tree / "old.txt", 0o600)
    before = snapshot(tree)
    real = ApplyPatchTool._write

    def failing(plan: Any) -> None:
        if plan.op.kind == "update" and plan.dest is not None:  # the last one: the move
            raise OSError(errno.ENOSPC, "No space left on device")
        real(plan)

    monkeypatch.setattr(ApplyPatchTool, "_write", staticmethod(failing))
    out = await patch(ctx, MULTI)
    assert out.is_error
    assert "src/a.py: not written, No space left on device" in text_of(out)
    assert "were restored" in text_of(out)
    assert snapshot(tree) == before
    assert stat.S_IMODE((tree / "old.txt").stat().st_mode) == 0o600
    assert not (tree / "lib").exists() or not any((tree / "lib").iterdir())


async def test_move_of_a_file_onto_a_path_under_a_file_refused_before_writing(ctx: ToolContext, tree: Path) -> None:
    before = snapshot(tree)
    text = MULTI.replace("*** Move to: lib/b.py", "*** Move to: old.txt/b.py").replace("*** Delete File: old.txt\n", "")
    out = await patch(ctx, text)
    assert out.is_error
    assert "old.txt/b.py: a parent of it is not a directory" in text_of(out)
    assert snapshot(tree) == before


async def test_a_directory_named_as_a_file_is_refused_with_its_name(ctx: ToolContext, tree: Path) -> None:
    out = await patch(ctx, "*** Begin Patch\n*** Delete File: src\n*** End Patch")
    assert out.is_error
    assert text_of(out).startswith("src: it is a directory")
    assert (tree / "src/app.py").exists()


def test_patch_paths_for_display_and_summaries() -> None:
    assert patch_paths(MULTI) == ["src/app.py", "src/new.py", "old.txt", "src/a.py", "lib/b.py"]
    assert patch_paths("not a patch") == []


def test_compaction_counts_patched_files_as_modified() -> None:
    from tests.sessions.helpers import usage

    from skipjack.compaction.prompt import files_touched
    from skipjack.llm.types import AssistantMessage, ToolCall

    call = ToolCall(id="1", name="apply_patch", arguments={"input": MULTI})
    message = AssistantMessage(
        content=[call], api="openai-chat", provider="t", model="m", usage=usage(), stop_reason="tool_use"
    )
    _read, modified = files_touched([message])
    assert modified == ["src/app.py", "src/new.py", "old.txt", "src/a.py", "lib/b.py"]


@pytest.mark.parametrize("rule", ["edit: *.lock", "write: *.lock", "apply_patch: *.lock"])
def test_deny_rules_for_edit_and_write_bind_apply_patch(tmp_path: Path, rule: str) -> None:
    policy = ApprovalPolicy("yolo", tmp_path, sandboxed=False, deny=[rule])
    for text in (
        "*** Begin Patch\n*** Update File: uv.lock\n-a\n+b\n*** End Patch",
        "*** Begin Patch\n*** Add File: ok.py\n+x\n*** Add File: sub/Cargo.lock\n+x\n*** End Patch",
        "*** Begin Patch\n*** Update File: ok.py\n*** Move to: x.lock\n-a\n+b\n*** End Patch",
    ):
        assert policy.check("apply_patch", {"input": text}).decision is Decision.DENY, text
    ok = "*** Begin Patch\n*** Add File: ok.py\n+x\n*** End Patch"
    assert policy.check("apply_patch", {"input": ok}).decision is Decision.ALLOW


async def test_file_changed_by_another_program_before_the_write_is_refused(
    ctx: ToolContext, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ApplyPatchTool._write

    def racing(plan: Any) -> None:
        if plan.op.kind == "update" and plan.dest is None:
            with open(plan.path, "a") as f:  # an editor saving meanwhile (same inode)
                f.write("# theirs\n")
        real(plan)

    monkeypatch.setattr(ApplyPatchTool, "_write", staticmethod(racing))
    out = await patch(ctx, MULTI)
    assert out.is_error
    assert "src/app.py: not written, it was modified by another program meanwhile" in text_of(out)
    assert (tree / "src/app.py").read_text().endswith('return "hello " + name\n# theirs\n')
    assert not (tree / "src/new.py").exists()
    assert (tree / "old.txt").exists()


async def test_cancelling_during_the_writes_leaves_the_patch_whole(
    ctx: ToolContext, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ApplyPatchTool._write
    started = threading.Event()

    def slow(plan: Any) -> None:
        started.set()
        time.sleep(0.05)
        real(plan)

    monkeypatch.setattr(ApplyPatchTool, "_write", staticmethod(slow))
    task = asyncio.create_task(patch(ctx, MULTI))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The abort waited for the write phase: every change of the patch is in, not some of them.
    assert (tree / "lib/b.py").read_text() == "import os\nx = 2\n"
    assert (tree / "src/new.py").exists()
    assert not (tree / "old.txt").exists()


async def test_nul_byte_in_a_path_and_too_many_files_refused(ctx: ToolContext, tmp_path: Path) -> None:
    out = await patch(ctx, "*** Begin Patch\n*** Add File: a\x00b\n+x\n*** End Patch")
    assert out.is_error
    assert "not a usable path" in text_of(out)
    many = "".join(f"*** Add File: f{i}\n+x\n" for i in range(201))
    out = await patch(ctx, f"*** Begin Patch\n{many}*** End Patch")
    assert out.is_error
    assert "201 files" in text_of(out)
    assert list(tmp_path.iterdir()) == []
