"""The hook runner alone: Claude Code's exit-code and JSON contract, timeouts, matchers."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from skipjack.config.schema import HookCommand, HookMatcher
from skipjack.extensions.hooks import HookFailure, HookRunner


def runner(tmp_path: Path, hooks: dict[str, list[HookMatcher]], failures: list[HookFailure]) -> HookRunner:
    return HookRunner(
        hooks,
        project_dir=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        sandbox_for=lambda sandboxed: None,
        on_failure=failures.append,
        base_payload=lambda: {"session_id": "s1", "cwd": str(tmp_path)},
    )


def py(code: str) -> HookCommand:
    return HookCommand(command=f"{sys.executable} -c {json.dumps(code)}", timeout=20)


async def run(tmp_path: Path, event: str, code: str, payload: dict[str, Any], **kw: Any) -> Any:
    failures: list[HookFailure] = []
    r = runner(tmp_path, {event: [HookMatcher([py(code)], **kw)]}, failures)
    result = await r.run(event, payload, tool_name=payload.get("skipjack_tool_name"))  # type: ignore[arg-type]
    return result, failures


async def test_the_payload_reaches_stdin(tmp_path: Path) -> None:
    code = "import json,sys; d=json.load(sys.stdin); open('got.json','w').write(json.dumps(d))"
    await run(tmp_path, "PreToolUse", code, {"tool_name": "Bash", "tool_input": {"command": "ls"}})
    got = json.loads((tmp_path / "got.json").read_text())
    assert got == {
        "session_id": "s1",
        "cwd": str(tmp_path),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
    }


@pytest.mark.parametrize(
    ("code", "blocked", "permission", "reason"),
    [
        ("import sys; print('nope', file=sys.stderr); sys.exit(2)", True, "deny", "nope"),
        ("import json; print(json.dumps({'decision': 'block', 'reason': 'old style'}))", True, "deny", "old style"),
        (
            "import json; print(json.dumps({'hookSpecificOutput': {'permissionDecision': 'ask',"
            " 'permissionDecisionReason': 'check'}}))",
            False,
            "ask",
            "check",
        ),
        ("import json; print(json.dumps({'decision': 'approve'}))", False, "allow", ""),
        ("print('not json')", False, None, ""),
        ("import sys; print('{broken', file=sys.stdout)", False, None, ""),
    ],
)
async def test_pre_tool_use_decisions(
    tmp_path: Path, code: str, blocked: bool, permission: str | None, reason: str
) -> None:
    result, failures = await run(tmp_path, "PreToolUse", code, {"tool_name": "Bash", "skipjack_tool_name": "bash"})
    assert (result.blocked, result.permission, result.reason) == (blocked, permission, reason)
    assert failures == []


async def test_the_strictest_of_several_hooks_wins(tmp_path: Path) -> None:
    allow = py("import json; print(json.dumps({'decision': 'approve'}))")
    deny = py("import sys; print('no', file=sys.stderr); sys.exit(2)")
    failures: list[HookFailure] = []
    r = runner(tmp_path, {"PreToolUse": [HookMatcher([allow]), HookMatcher([deny]), HookMatcher([allow])]}, failures)
    result = await r.run("PreToolUse", {}, tool_name="bash")
    assert result.permission == "deny"
    assert result.blocked


@pytest.mark.parametrize(
    ("matcher", "tool", "runs"),
    [
        ("Bash", "bash", True),
        ("bash", "bash", True),
        ("Edit|Write", "write", True),
        ("Edit|Write", "apply_patch", True),
        ("Edit", "edit_extra", False),
        ("Bas", "bash", False),
        ("*", "anything", True),
        ("", "anything", True),
    ],
)
async def test_matchers(tmp_path: Path, matcher: str, tool: str, runs: bool) -> None:
    failures: list[HookFailure] = []
    r = runner(tmp_path, {"PreToolUse": [HookMatcher([HookCommand(command="true")], matcher)]}, failures)
    assert bool(r.commands_for("PreToolUse", tool)) is runs


async def test_a_bad_matcher_and_an_unknown_event_are_problems(tmp_path: Path) -> None:
    hooks = {"PreToolUse": [HookMatcher([HookCommand(command="true")], "(")], "BeforeEverything": []}
    r = runner(tmp_path, hooks, [])
    assert len(r.problems) == 2


async def test_a_timed_out_hook_and_its_children_are_killed(tmp_path: Path) -> None:
    failures: list[HookFailure] = []
    hook = HookCommand(command="sleep 60 & echo $! > child.pid; sleep 60", timeout=0.5)
    r = runner(tmp_path, {"Stop": [HookMatcher([hook])]}, failures)
    started = time.monotonic()
    result = await r.run("Stop", {})
    assert time.monotonic() - started < 10
    assert not result.blocked
    assert "timed out" in failures[0].message
    child = int((tmp_path / "child.pid").read_text())
    for _ in range(100):  # up to 5 s
        if not _running(child):
            break
        await asyncio.sleep(0.05)
    assert not _running(child), "the hook's background child outlived its timeout"


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


async def test_prompt_context_and_post_tool_use_feedback(tmp_path: Path) -> None:
    result, _ = await run(tmp_path, "UserPromptSubmit", "print('branch main')", {"prompt": "x"})
    assert result.context == ["branch main"]
    code = "import json; print(json.dumps({'hookSpecificOutput': {'additionalContext': 'lint ok'}}))"
    result, _ = await run(tmp_path, "PostToolUse", code, {"skipjack_tool_name": "edit"})
    assert result.context == ["lint ok"]
    assert not result.blocked
