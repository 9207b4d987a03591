"""The one content-to-text conversion and the one `provider/id` spelling."""

from __future__ import annotations

import msgspec

from skipjack.llm.types import (
    AssistantMessage,
    ImageContent,
    Model,
    TextContent,
    Usage,
    UserMessage,
    model_ref,
    text_of,
)
from skipjack.sessions import model_ref as sessions_model_ref

IMG = ImageContent(data="aGk=", mime_type="image/png")


def test_a_string_is_returned_as_is_even_with_separators_and_whitespace() -> None:
    assert text_of("  a\n\nb  ") == "  a\n\nb  "
    assert text_of("", sep="|", image="[{}]") == ""


def test_text_blocks_are_joined_and_images_left_out_by_default() -> None:
    content = [TextContent("one"), IMG, TextContent(""), TextContent("two")]
    assert text_of(content) == "one\n\ntwo"
    assert text_of(content, sep="") == "onetwo"
    assert text_of([IMG]) == ""
    assert text_of([]) == ""


def test_images_are_shown_by_mime_type_when_a_template_is_given() -> None:
    content = [TextContent("see"), IMG, ImageContent(data="", mime_type="image/jpeg")]
    assert text_of(content, image="[image: {}]") == "see\n[image: image/png]\n[image: image/jpeg]"
    assert text_of(content, sep="\n\n", image="*[image: {}]*") == "see\n\n*[image: image/png]*\n\n*[image: image/jpeg]*"


def test_braces_in_text_are_not_format_fields() -> None:
    # Only the template is formatted; user text with braces must come through untouched.
    assert text_of([TextContent("{0} {x}"), IMG], image="<{}>") == "{0} {x}\n<image/png>"


def test_model_and_message_refs_agree_with_the_session_helper() -> None:
    model = Model(provider="openrouter", id="anthropic/claude-sonnet-4.5", api="openai-chat", base_url="http://x")
    assert model.ref == "openrouter/anthropic/claude-sonnet-4.5"
    assert model.ref == model_ref(model.provider, model.id) == sessions_model_ref(model.provider, model.id)
    message = AssistantMessage(
        content=[], api="openai-chat", provider=model.provider, model=model.id, usage=Usage.zero(), stop_reason="stop"
    )
    assert message.model_ref == model.ref


def test_ref_is_not_part_of_the_wire_shape() -> None:
    # A property, not a field: encoding a model or message must not grow a `ref` key.
    model = Model(provider="p", id="m", api="openai-chat", base_url="http://x")
    assert "ref" not in msgspec.json.decode(msgspec.json.encode(model))
    msg = UserMessage(content="hi")
    assert text_of(msg.content) == "hi"
