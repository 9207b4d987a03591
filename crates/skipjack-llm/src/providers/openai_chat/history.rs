//! The canonical history as chat-completions messages.

use std::borrow::Cow;
use std::collections::HashSet;

use super::reasoning_details;
use super::wire::*;
use crate::error::LlmError;
use crate::message::{
    AssistantContent, AssistantMessage, InputContent, Message, StopReason, ToolResultMessage, UserMessage,
};
use crate::model::{Api, Model};
use crate::providers::openai_shared::arguments_text;

/// How a server wants the reasoning of earlier assistant turns back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReasoningReplay {
    /// Not at all: OpenAI, Azure and unknown servers reject or ignore extra message fields.
    Strip,
    /// OpenRouter: each turn's `reasoning_details`, unmodified and in order, to the same
    /// model (signatures and encrypted blocks are only valid for the model that made them).
    Details,
    /// DeepSeek and Moonshot (Kimi): an assistant turn that called tools must carry its
    /// `reasoning_content` in every later request of the conversation (400 otherwise); on
    /// other turns it is ignored. A tool-call turn made by another model gets an empty one,
    /// which satisfies the rule without putting words in the model's mouth.
    Content,
}

pub(super) fn convert_messages<'a>(
    model: &Model,
    replay: ReasoningReplay,
    history: &'a [Message],
    out: &mut Vec<WireMessage<'a>>,
) -> Result<(), LlmError> {
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
                if let Some(m) = assistant_message(model, replay, a, &answered)? {
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

/// `None` when the turn has nothing to replay. Thinking goes back only as `replay` allows.
fn assistant_message<'a>(
    model: &Model,
    replay: ReasoningReplay,
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
    // Reasoning is the issuing model's own: never replayed to another model or from a
    // failed turn, whose signatures may be cut short.
    let own = !failed && a.api == Api::OpenAiChat.as_str() && a.provider == model.provider && a.model == model.id;
    let thinking = || {
        a.content.iter().filter_map(|b| match b {
            AssistantContent::Thinking(t) => Some(t),
            _ => None,
        })
    };
    let (reasoning_content, reasoning_details) = match replay {
        ReasoningReplay::Strip => (None, Vec::new()),
        ReasoningReplay::Details if own => (
            None,
            thinking()
                .filter_map(|t| t.signature.as_deref().and_then(reasoning_details::from_signature))
                .flatten()
                .collect(),
        ),
        ReasoningReplay::Details => (None, Vec::new()),
        ReasoningReplay::Content => {
            let reasoning: String = if own { thinking().map(|t| t.thinking.as_str()).collect() } else { String::new() };
            let needed = !tool_calls.is_empty() || !reasoning.is_empty();
            (needed.then_some(reasoning), Vec::new())
        }
    };
    let content = if text.is_empty() { None } else { Some(text) };
    Ok(Some(WireMessage::Assistant { content, tool_calls, reasoning_content, reasoning_details }))
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
