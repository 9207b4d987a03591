//! The canonical history as chat-completions messages.

use std::borrow::Cow;
use std::collections::HashSet;

use super::wire::*;
use crate::error::LlmError;
use crate::message::{
    AssistantContent, AssistantMessage, InputContent, Message, StopReason, ToolResultMessage, UserMessage,
};
use crate::providers::openai_shared::arguments_text;

pub(super) fn convert_messages<'a>(history: &'a [Message], out: &mut Vec<WireMessage<'a>>) -> Result<(), LlmError> {
    // A failed turn may hold a tool call the loop never ran; OpenAI rejects a call without
    // its result, so such calls are only replayed when a result for them exists.
    let answered: HashSet<&str> = history
        .iter()
        .filter_map(|m| match m {
            Message::ToolResult(r) => Some(r.tool_call_id.as_str()),
            _ => None,
        })
        .collect();

    // Images from a run of tool results, sent as one user message after the run: the tool
    // role is text-only on most servers, and a user message between two tool results would
    // break the "every call is followed by its result" rule.
    let mut pending_images: Vec<WirePart<'a>> = Vec::new();
    for message in history {
        if !matches!(message, Message::ToolResult(_)) {
            flush_images(&mut pending_images, out);
        }
        match message {
            Message::User(u) => out.push(WireMessage::User { content: user_content(u) }),
            Message::Assistant(a) => {
                if let Some(m) = assistant_message(a, &answered)? {
                    out.push(m);
                }
            }
            Message::ToolResult(r) => out.push(tool_result(r, &mut pending_images)),
        }
    }
    flush_images(&mut pending_images, out);
    Ok(())
}

fn flush_images<'a>(pending: &mut Vec<WirePart<'a>>, out: &mut Vec<WireMessage<'a>>) {
    if !pending.is_empty() {
        out.push(WireMessage::User { content: WireContent::Parts(std::mem::take(pending)) });
    }
}

fn image_part(mime_type: &str, data: &str) -> WirePart<'static> {
    WirePart::ImageUrl { image_url: WireImageUrl { url: format!("data:{mime_type};base64,{data}") } }
}

fn user_content(u: &UserMessage) -> WireContent<'_> {
    if let [InputContent::Text(t)] = u.content.as_slice() {
        return WireContent::Text(Cow::Borrowed(&t.text));
    }
    if u.content.is_empty() {
        return WireContent::Text(Cow::Borrowed(""));
    }
    WireContent::Parts(
        u.content
            .iter()
            .map(|c| match c {
                InputContent::Text(t) => WirePart::Text { text: Cow::Borrowed(&t.text), cache_control: None },
                InputContent::Image(i) => image_part(&i.mime_type, &i.data),
            })
            .collect(),
    )
}

/// `None` when the turn has nothing to replay. Thinking is dropped: the chat-completions
/// protocol has no portable way to send it back.
fn assistant_message<'a>(
    a: &'a AssistantMessage,
    answered: &HashSet<&str>,
) -> Result<Option<WireMessage<'a>>, LlmError> {
    let failed = matches!(a.stop_reason, StopReason::Error | StopReason::Aborted);
    // Blocks of the one `content` channel are split only by interleaved reasoning, so plain
    // concatenation gives back exactly what the model sent.
    let text: String = a.text();
    let mut tool_calls = Vec::new();
    for block in &a.content {
        if let AssistantContent::ToolCall(call) = block {
            if failed && !answered.contains(call.id.as_str()) {
                continue;
            }
            tool_calls.push(WireToolCall {
                id: &call.id,
                kind: "function",
                function: WireFunctionCall { name: &call.name, arguments: arguments_text(call)? },
            });
        }
    }
    if text.is_empty() && tool_calls.is_empty() {
        return Ok(None);
    }
    let content = if text.is_empty() { None } else { Some(text) };
    Ok(Some(WireMessage::Assistant { content, tool_calls }))
}

fn tool_result<'a>(r: &'a ToolResultMessage, pending_images: &mut Vec<WirePart<'a>>) -> WireMessage<'a> {
    let mut text = String::new();
    let mut images = Vec::new();
    for c in &r.content {
        match c {
            InputContent::Text(t) => {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&t.text);
            }
            InputContent::Image(i) => images.push(image_part(&i.mime_type, &i.data)),
        }
    }
    if !images.is_empty() {
        if text.is_empty() {
            "(the image is attached in the next message)".clone_into(&mut text);
        }
        pending_images.push(WirePart::Text { text: Cow::Owned(images_caption(r)), cache_control: None });
        pending_images.extend(images);
    }
    WireMessage::Tool { tool_call_id: &r.tool_call_id, content: WireContent::Text(Cow::Owned(text)) }
}

fn images_caption(r: &ToolResultMessage) -> String {
    format!("Image output of tool call {} ({}):", r.tool_call_id, r.tool_name)
}
