"""Snapshots of a server's state, for `mcp list`, the UI and the controller's events (no SDK
import here: the session reads these while the SDK may still be loading on the MCP thread)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

State = Literal["starting", "ready", "failed", "dead", "stopped", "disabled"]


@dataclass(frozen=True)
class ToolEntry:
    exposed: str
    """`mcp__server__tool`, as the model sees it."""
    tool: Any
    """The SDK's `Tool`."""
    schema: dict[str, Any]
    read_only: bool


@dataclass(frozen=True)
class ServerStatus:
    name: str
    kind: str
    source: str
    state: State
    error: str | None
    tools: list[str]
    start_seconds: float | None
    """Spawn or connect → tools listed; None until listed."""
    restarts: int
    warnings: list[str] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)
    """The SDK's `Prompt`s."""
    resources: list[Any] = field(default_factory=list)
    """The SDK's `Resource`s."""
