"""Approvals for MCP tools (`mcp: server/tool` rules, plan mode and `readOnlyHint`), and the
names and schemas the model is shown."""

from __future__ import annotations

from pathlib import Path

import mcp_types as mt
import pytest

from skipjack.mcp.results import to_output
from skipjack.mcp.schema import MAX_NAME, check_schema, split_name, tool_name
from skipjack.safety.policy import ApprovalPolicy, Decision

TOOLS = {
    "mcp__github__create_issue": ("github", "create_issue", False),
    "mcp__github__list_issues": ("github", "list_issues", True),
    "mcp__git__git_status": ("git", "git_status", True),
    "mcp__gitx__push": ("gitx", "push", False),
    "mcp__srv__a__b": ("srv", "a__b", False),
}


def _policy(tmp_path: Path, mode: str, allow: tuple[str, ...] = (), deny: tuple[str, ...] = ()) -> ApprovalPolicy:
    policy = ApprovalPolicy(mode, tmp_path, sandboxed=True, allow=allow, deny=deny)  # type: ignore[arg-type]
    policy.mcp_tools = dict(TOOLS)
    return policy


def test_ask_mode_asks_and_suggests_the_narrow_rule(tmp_path: Path) -> None:
    verdict = _policy(tmp_path, "ask").check("mcp__github__create_issue", {"title": "x"})
    assert verdict.decision is Decision.ASK
    assert verdict.suggested_rules == ("mcp: github/create_issue",)
    # Read-only hints do not skip the question outside plan mode.
    assert _policy(tmp_path, "ask").check("mcp__github__list_issues", {}).decision is Decision.ASK


def test_allow_rules_are_globs_over_server_slash_tool(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "ask", allow=("mcp: github/*",))
    assert policy.check("mcp__github__create_issue", {}).decision is Decision.ALLOW
    # `github/*` says nothing of a server whose name merely starts the same way.
    assert policy.check("mcp__gitx__push", {}).decision is Decision.ASK
    assert policy.check("mcp__git__git_status", {}).decision is Decision.ASK
    # A tool name holding `__` is still that server's tool, matched by its real name.
    assert _policy(tmp_path, "ask", allow=("mcp: srv/a__b",)).check("mcp__srv__a__b", {}).decision is Decision.ALLOW
    # Arguments cannot smuggle a subject the rule would match.
    assert policy.check("mcp__gitx__push", {"path": "github/x", "url": "github/x"}).decision is Decision.ASK


def test_deny_wins_in_every_mode(tmp_path: Path) -> None:
    for mode in ("plan", "ask", "auto-edit", "yolo"):
        policy = _policy(tmp_path, mode, allow=("mcp: github/*",), deny=("mcp: github/list_*",))
        assert policy.check("mcp__github__list_issues", {}).decision is Decision.DENY, mode


def test_plan_mode_runs_read_only_hinted_tools_only(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "plan", allow=("mcp: github/*",))
    assert policy.check("mcp__github__list_issues", {}).decision is Decision.ALLOW
    assert policy.check("mcp__github__create_issue", {}).decision is Decision.DENY
    # A name no server offers now is never taken as read-only.
    assert policy.check("mcp__github__list_everything", {}).decision is Decision.DENY


def test_yolo_allows_everything_but_deny_rules(tmp_path: Path) -> None:
    assert _policy(tmp_path, "yolo").check("mcp__gitx__push", {}).decision is Decision.ALLOW


def test_names_are_safe_for_providers_and_distinct() -> None:
    assert tool_name("git", "git_status") == "mcp__git__git_status"
    assert tool_name("my.server", "do thing/now") == "mcp__my_server__do_thing_now"
    long_a, long_b = tool_name("s", "x" * 100 + "a"), tool_name("s", "x" * 100 + "b")
    assert len(long_a) == MAX_NAME
    assert long_a != long_b
    assert split_name("mcp__git__git_status") == ("git", "git_status")
    assert split_name("bash") is None
    assert split_name("mcp__onlyserver") is None


@pytest.mark.parametrize(
    ("raw", "kept", "note"),
    [
        (None, True, "empty object"),
        ({"properties": {"a": {"type": "string"}}}, True, '"type": "object"'),
        ({"type": "object", "anyOf": [{"required": ["a"]}], "properties": {}}, True, "anyOf"),
        ({"type": "object", "properties": {"a": {}}, "required": ["a", "ghost"]}, True, "required"),
        ({"type": "array"}, False, 'not "object"'),
        ({"type": "object", "properties": {"a": {"$ref": "https://evil.example/schema"}}}, False, "another document"),
        ({"type": "object", "properties": "nope"}, False, "properties"),
        ("a string", False, "not a JSON object"),
        ({"type": "object", "properties": {"a": {"default": float("nan")}}}, False, "plain JSON"),
        ({"type": "object", "properties": {f"p{i}": {"description": "x" * 100} for i in range(1000)}}, False, "bytes"),
    ],
)
def test_schemas_are_repaired_or_the_tool_skipped(raw: object, kept: bool, note: str) -> None:
    checked = check_schema(raw)
    assert (checked.schema is not None) is kept
    assert note in "; ".join(checked.notes)
    if checked.schema is not None:
        assert checked.schema["type"] == "object"
        assert isinstance(checked.schema["properties"], dict)
        for key in ("anyOf", "oneOf", "allOf"):
            assert key not in checked.schema


def test_a_good_schema_passes_unchanged() -> None:
    raw = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "$defs": {"x": {}}}
    checked = check_schema(raw)
    assert checked.schema == raw
    assert checked.notes == []


def test_results_map_every_content_kind() -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    result = mt.CallToolResult(
        content=[
            mt.TextContent(type="text", text="hello"),
            mt.ImageContent(type="image", data=png, mime_type="image/png"),
            mt.ImageContent(type="image", data="not base64!!", mime_type="image/png"),
            mt.EmbeddedResource(
                type="resource", resource=mt.TextResourceContents(uri="file:///a.txt", text="inside a.txt")
            ),
            mt.AudioContent(type="audio", data="AAAA", mime_type="audio/wav"),
        ],
        is_error=True,
    )
    out = to_output(result, images=True, server="s", tool="t")
    assert out.is_error
    text = out.content[0].text  # type: ignore[union-attr]
    assert "hello" in text
    assert "inside a.txt" in text and "file:///a.txt" in text  # noqa: PT018
    assert "not valid base64" in text
    assert "audio" in text
    assert [c.mime_type for c in out.content[1:]] == ["image/png"]  # type: ignore[union-attr]
    no_images = to_output(result, images=False, server="s", tool="t")
    assert len(no_images.content) == 1
    assert "does not take images" in no_images.content[0].text  # type: ignore[union-attr]


def test_structured_only_results_are_sent_as_json() -> None:
    result = mt.CallToolResult(content=[], structured_content={"answer": 42})
    out = to_output(result, images=False, server="s", tool="t")
    assert '"answer": 42' in out.content[0].text  # type: ignore[union-attr]
    assert out.details is not None
    assert out.details["structured_content"] == {"answer": 42}
