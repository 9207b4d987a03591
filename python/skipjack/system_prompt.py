"""The default system prompt: how skipjack works, where it is, and the project's instructions."""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

BASE = """\
You are skipjack, a coding agent working in the user's repository from their terminal.
You read and edit code, run commands and search the codebase with the tools you are given.

How to work:
- Understand before you change: read the relevant files and search for how things are used.
- Make the smallest change that fully solves the task, in the style of the surrounding code.
- After changing code, run the project's tests or the narrowest check that proves the change.
{edit_rule}- Prefer the grep and find tools over shell pipelines for searching.
- Shell commands run without a terminal: never start interactive programs or editors.
- Shell commands run in an OS sandbox that may block writes outside the project (and to
  .git/config, .git/hooks, .skipjack/) and network access. If a result says the sandbox blocked
  a command that truly needs it, call bash again with sandbox=false: the user will be asked.
- If a tool call is denied, do not retry it unchanged: adapt, or ask the user.
- Keep the user informed briefly; when done, say what you changed and how you checked it.
"""


EDIT_RULE = """\
- Edit files with the edit tool using the LINE:HASH tags from your latest read of that file;
  if an edit is refused because the file changed, read it again and retry.
"""

PATCH_RULE = """\
- Edit files with the apply_patch tool; if a hunk is refused because the file changed, read
  it again and redo the patch.
"""


def build_system_prompt(
    cwd: Path, instructions: str | None = None, *, tool_names: list[str] | None = None, skills: str = ""
) -> str:
    # The model is told about the edit tool it was given (apply_patch for GPT-5/codex models).
    patching = tool_names is not None and "apply_patch" in tool_names and "edit" not in tool_names
    parts = [BASE.replace("{edit_rule}", PATCH_RULE if patching else EDIT_RULE)]
    today = datetime.date.today().isoformat()
    env = f"Working directory: {cwd}\nPlatform: {platform.system()} {platform.release()}\nToday: {today}"
    if tool_names:
        env += "\nTools: " + ", ".join(tool_names)
    parts.append(env)
    if instructions and instructions.strip():
        header = "Project instructions (from the repository's AGENTS.md / CLAUDE.md files):"
        parts.append(f"{header}\n\n{instructions.strip()}")
    if skills:
        parts.append(skills)  # names and descriptions only: a skill's body is read when needed
    return "\n\n".join(parts) + "\n"
