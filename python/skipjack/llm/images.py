"""Images for models that cannot see them: the note that takes an image's place.

The core replaces any image in what it sends to such a model with the same note
(`providers/images.rs`); the agent writes it into the history when a tool returns an image,
so the user sees in the tool's result why the model was not shown it.
"""

from __future__ import annotations

from collections.abc import Sequence

from skipjack.llm.types import ImageContent, InputContent, Model, TextContent


def omitted_note(model: Model) -> str:
    return f"[image omitted: model {model.ref} does not accept images]"


def for_model(content: Sequence[InputContent], model: Model) -> list[InputContent]:
    """`content` with each image replaced by the note when `model` takes no images."""
    if model.images:
        return list(content)
    note = omitted_note(model)
    return [TextContent(note) if isinstance(c, ImageContent) else c for c in content]
