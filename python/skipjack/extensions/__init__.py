"""User and project extensions written as markdown files: custom commands, Agent Skills,
subagent definitions; and hooks (commands run on agent events) from the config.

The loaders of each kind (and their front-matter parser) are imported when a folder of that
kind exists, so a run in a project with no extensions does not load them."""

from typing import TYPE_CHECKING, Any

from skipjack.extensions.catalog import ExtensionProblem, Extensions, load_extensions

if TYPE_CHECKING:
    from skipjack.extensions.commands import CustomCommand
    from skipjack.extensions.definitions import AgentDefinition
    from skipjack.extensions.skills import Skill

__all__ = ["AgentDefinition", "CustomCommand", "ExtensionProblem", "Extensions", "Skill", "load_extensions"]


def __getattr__(name: str) -> Any:
    if name == "CustomCommand":
        from skipjack.extensions.commands import CustomCommand

        return CustomCommand
    if name == "AgentDefinition":
        from skipjack.extensions.definitions import AgentDefinition

        return AgentDefinition
    if name == "Skill":
        from skipjack.extensions.skills import Skill

        return Skill
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
