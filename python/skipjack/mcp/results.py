"""An MCP `CallToolResult` as a tool output: text, images (for models that take them),
embedded resources and structured content, with `isError` kept. Text is capped like the
shell tool's output (head and tail in the result, the whole spooled to a file whose path
the result names)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import mcp_types as mt

from skipjack.agent.tool import ToolOutput
from skipjack.llm.types import ImageContent, InputContent, TextContent
from skipjack.tools._output import SpooledOutput

MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""Decoded size; above it (or past `MAX_IMAGES`) an image is described, not sent."""
MAX_IMAGES = 8


def to_output(result: mt.CallToolResult, *, images: bool, server: str, tool: str) -> ToolOutput:
    spool = SpooledOutput(prefix=f"skipjack-mcp-{server}-")
    pictures: list[ImageContent] = []
    notes: list[str] = []

    def text(part: str) -> None:
        spool.feed((part if part.endswith("\n") else part + "\n").encode("utf-8", "replace"))

    for block in result.content:
        if isinstance(block, mt.TextContent):
            text(block.text)
        elif isinstance(block, mt.ImageContent):
            _image(block.data, block.mime_type, images, pictures, notes)
        elif isinstance(block, mt.AudioContent):
            notes.append(f"[audio ({block.mime_type}) not shown: the model does not take audio]")
        elif isinstance(block, mt.ResourceLink):
            text(f"[resource {block.uri}" + (f": {block.name}" if block.name else "") + "]")
        elif isinstance(block, mt.EmbeddedResource):
            res = block.resource
            if isinstance(res, mt.TextResourceContents):
                text(f"[resource {res.uri}]\n{res.text}")
            elif isinstance(res, mt.BlobResourceContents):
                mime = res.mime_type or "application/octet-stream"
                if mime.startswith("image/"):
                    _image(res.blob, mime, images, pictures, notes)
                else:
                    notes.append(
                        f"[resource {res.uri}: {mime}, {len(res.blob) * 3 // 4} bytes of binary data not shown]"
                    )
        else:
            notes.append(f"[{getattr(block, 'type', 'unknown')} content not shown]")
    structured = result.structured_content
    if structured is not None and spool.total_bytes == 0:
        # Servers should mirror structured content as text; when one does not, send the JSON.
        text(json.dumps(structured, ensure_ascii=False, indent=1))
    for note in notes:
        text(note)
    collected = spool.finish()
    body = collected.text.rstrip("\n")
    if collected.truncated:
        body += f"\n[output cut; {collected.file_note}]"
    if not body and not pictures:
        body = "(the tool returned no content)" if not result.is_error else "(the tool failed without a message)"
    content: list[InputContent] = [TextContent(body)] if body else []
    content += pictures
    details: dict[str, Any] = {"server": server, "tool": tool}
    if collected.full_output_path:
        details["full_output_path"] = collected.full_output_path
    if structured is not None:
        details["structured_content"] = structured
    return ToolOutput(content, is_error=bool(result.is_error), details=details)


def _image(data: str, mime: str, allowed: bool, pictures: list[ImageContent], notes: list[str]) -> None:
    try:
        size = len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        notes.append(f"[image ({mime}) not shown: its data is not valid base64]")
        return
    if not allowed:
        notes.append(f"[image ({mime}, {size} bytes) not shown: the model does not take images]")
    elif size > MAX_IMAGE_BYTES:
        notes.append(f"[image ({mime}, {size} bytes) not shown: over {MAX_IMAGE_BYTES // (1024 * 1024)} MiB]")
    elif len(pictures) >= MAX_IMAGES:
        notes.append(f"[image ({mime}) not shown: more than {MAX_IMAGES} images]")
    else:
        pictures.append(ImageContent(data, mime))
