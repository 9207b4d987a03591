"""User and project extensions written as markdown files: custom commands, Agent Skills,
subagent definitions; and hooks (commands run on agent events) from the config."""

from skipjack.extensions.catalog import ExtensionProblem, Extensions, load_extensions
from skipjack.extensions.commands import CustomCommand
from skipjack.extensions.definitions import AgentDefinition
from skipjack.extensions.skills import Skill

__all__ = ["AgentDefinition", "CustomCommand", "ExtensionProblem", "Extensions", "Skill", "load_extensions"]
