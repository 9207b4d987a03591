"""The tool contract shared by the agent loop and every tool.

A tool declares its arguments once, as a msgspec Struct: the JSON Schema sent to the model
is generated from it and the model's arguments are validated by converting into it, so
schema and validation can never disagree.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from skipjack.llm.types import ImageContent, InputContent, TextContent
from skipjack.llm.types import Tool as ToolSpec

ArgsT = TypeVar("ArgsT", bound=msgspec.Struct)


class ToolOutput(msgspec.Struct, frozen=True):
    """What a tool returns: content for the model, and details for UIs and sessions."""

    content: list[InputContent]
    is_error: bool = False
    details: dict[str, Any] | None = None

    @staticmethod
    def text(text: str, *, is_error: bool = False, details: dict[str, Any] | None = None) -> ToolOutput:
        return ToolOutput([TextContent(text)], is_error=is_error, details=details)

    @staticmethod
    def error(message: str, *, details: dict[str, Any] | None = None) -> ToolOutput:
        return ToolOutput([TextContent(message)], is_error=True, details=details)

    @staticmethod
    def image(data_b64: str, mime_type: str, note: str | None = None) -> ToolOutput:
        blocks: list[InputContent] = [ImageContent(data_b64, mime_type)]
        if note:
            blocks.insert(0, TextContent(note))
        return ToolOutput(blocks)


class ToolError(Exception):
    """Raised by a tool for a failure the model should see and can act on."""


class ToolContext(msgspec.Struct):
    """Per-call facts a tool may use. Cancellation arrives as `asyncio.CancelledError`."""

    cwd: Path
    tool_call_id: str = ""
    on_update: Callable[[str], None] = msgspec.field(default=lambda _chunk: None)
    """Streams partial output (e.g. a shell command's lines) to the UI as it arrives."""
    state: dict[str, Any] = msgspec.field(default_factory=dict)
    """Shared across the calls of one agent (e.g. which file versions were read)."""


class Tool(abc.ABC, Generic[ArgsT]):
    """Subclass with `name`, `description`, `Args` (a msgspec Struct) and `execute`."""

    name: ClassVar[str]
    description: ClassVar[str]
    Args: type[ArgsT]

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, arguments_schema(self.Args))

    def parse_args(self, raw: dict[str, Any]) -> ArgsT:
        """Validate the model's arguments; raises `msgspec.ValidationError` naming the field."""
        return msgspec.convert(raw, self.Args, strict=False)

    def concurrency_key(self, args: ArgsT) -> str | None:
        """Calls with the same key never run at the same time (e.g. edits of one file)."""
        return None

    @abc.abstractmethod
    async def execute(self, args: ArgsT, ctx: ToolContext) -> ToolOutput: ...


def arguments_schema(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """A self-contained JSON Schema object for `struct` (its `$defs` inlined at the top);
    a built-in tool's is kept between runs (`schema_cache`)."""
    from skipjack.agent.schema_cache import cached_schema

    return cached_schema(struct, _arguments_schema)


def _arguments_schema(struct: type[msgspec.Struct]) -> dict[str, Any]:
    (schema,), components = msgspec.json.schema_components([struct], ref_template="#/$defs/{name}")
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = dict(components.pop(name))
    if components:
        schema["$defs"] = components
    schema.pop("title", None)
    return schema
