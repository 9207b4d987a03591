"""Which edit tool a model gets: the one it was trained on.

OpenAI's GPT-5 family and its codex models are trained on `apply_patch` (the Codex envelope);
every other model keeps the `edit` tool. This module is the one place that decides, from the
model id and the user's `tools.edit_format` setting ("auto", "apply_patch" or "edit").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from skipjack.agent.tool import Tool
from skipjack.llm.types import Model
from skipjack.tools.edit import EditTool

EditFormat = Literal["auto", "apply_patch", "edit"]

EDIT_TOOL_NAMES = frozenset({EditTool.name, "apply_patch"})
"""(`ApplyPatchTool.name`: its module is loaded only for a model that gets the tool.)"""

# The last part of the id, so `openai/gpt-5.1-codex` on OpenRouter or an Azure deployment
# named after the model match too: gpt-5, gpt-5-mini, gpt-5.2, gpt-5.3-codex, codex-mini-latest.
_PATCH_MODEL = re.compile(r"^(?:gpt-5(?:$|[.\-_])|.*codex)", re.IGNORECASE)


def wants_apply_patch(model: Model | None, edit_format: EditFormat = "auto") -> bool:
    if edit_format != "auto":
        return edit_format == "apply_patch"
    if model is None:
        return False
    return _PATCH_MODEL.match(model.id.rsplit("/", 1)[-1].strip()) is not None


def edit_tool_for(cwd: Path, model: Model | None, edit_format: EditFormat = "auto") -> Tool[Any]:
    root = cwd.resolve()
    if wants_apply_patch(model, edit_format):
        from skipjack.tools.apply_patch import ApplyPatchTool

        return ApplyPatchTool(root)
    return EditTool(root)


def with_edit_tool_for(
    tools: list[Tool[Any]], cwd: Path, model: Model | None, edit_format: EditFormat = "auto"
) -> list[Tool[Any]]:
    """`tools` with its edit tool replaced by the one `model` should get (after a model switch)."""
    chosen = edit_tool_for(cwd, model, edit_format)
    out: list[Tool[Any]] = []
    for tool in tools:
        if tool.name in EDIT_TOOL_NAMES:
            out.append(tool if tool.name == chosen.name else chosen)
        else:
            out.append(tool)
    return out
