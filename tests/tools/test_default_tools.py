from __future__ import annotations

from pathlib import Path

import msgspec

from skipjack.tools import default_tools


def test_every_tool_has_a_unique_name_and_a_valid_schema(tmp_path: Path) -> None:
    tools = default_tools(tmp_path)
    names = [t.name for t in tools]
    assert names == ["read", "edit", "write", "bash", "grep", "find", "web_fetch", "todo"]
    for tool in tools:
        spec = tool.spec()
        assert spec.description
        assert spec.parameters["type"] == "object"
        assert spec.parameters["properties"]
        # The schema must survive a JSON round trip as sent to a provider.
        assert msgspec.json.decode(msgspec.json.encode(spec.parameters)) == spec.parameters


def test_file_tools_key_concurrency_by_resolved_path(tmp_path: Path) -> None:
    tools = {t.name: t for t in default_tools(tmp_path)}
    edit, write = tools["edit"], tools["write"]
    key = str((tmp_path / "a.py").resolve())
    assert edit.concurrency_key(edit.parse_args({"path": "./a.py", "old_text": "x", "new_text": "y"})) == key
    assert write.concurrency_key(write.parse_args({"path": str(tmp_path / "a.py"), "content": ""})) == key
    assert tools["bash"].concurrency_key(tools["bash"].parse_args({"command": "true"})) is None
