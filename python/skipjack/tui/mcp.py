"""The UI's MCP parts: server notices at start, MCP prompts as slash commands, `@server:uri`
resource completion. The controller does the work (`Controller.mcp`: it expands
`/mcp__server__prompt args` and attaches `@server:uri` in any front end); this module only
offers them in the UI. Hooks (one line each):

- app.py `attach`: `self.run_worker(show_server_states(self.controller), group="mcp", …)`
- app.py `submit`: `if text.startswith("/") and not is_prompt_command(text):`
- app.py `PromptBox(...)`: `lambda: commands.completions() + prompt_completions(self.controller)`
- app.py `PromptBox(...)`: `lambda before_cursor: resource_completion(self.controller, before_cursor)`
  (the prompt lists these before the `@path` items for the same word)
"""

from __future__ import annotations

from skipjack.controller import Controller
from skipjack.tui.completion import Completion, Item

MAX_ITEMS = 50


def is_prompt_command(text: str) -> bool:
    """`/mcp__server__prompt …`: sent as a prompt (the controller expands it), not a UI command."""
    return text.startswith("/mcp__")


def prompt_completions(controller: Controller | None) -> list[tuple[str, str]]:
    """(name, help) for every MCP prompt, as the slash-command menu lists commands."""
    if controller is None:
        return []
    out = []
    for name, description, args in controller.mcp.prompt_commands():
        usage = " ".join(f"<{a}>" for a in args)
        out.append((name, f"{usage}  {description}".strip()))
    return out


def resource_completion(controller: Controller | None, before_cursor: str) -> Completion | None:
    """`@server:uri` items for the word being typed after `@` (once it names a server, or
    when nothing is typed yet)."""
    if controller is None:
        return None
    at = before_cursor.rfind("@")
    if at < 0 or (at > 0 and not before_cursor[at - 1].isspace()):
        return None
    partial = before_cursor[at + 1 :]
    if any(c.isspace() for c in partial):
        return None
    items = [
        Item(f"@{ref} ", f"@{ref}  {name}") for ref, name in controller.mcp.resource_refs() if ref.startswith(partial)
    ]
    return Completion(before_cursor[at:], items[:MAX_ITEMS]) if items else None


async def show_server_states(controller: Controller | None) -> None:
    """Once the servers are up (or failed), report them: a failure becomes a `warning`
    event, which the chat shows as a notice, and the tools are ready before the first prompt."""
    if controller is not None:
        await controller.mcp.before_prompt()
