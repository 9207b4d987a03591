//! The canonical history as Responses input items.
//!
//! Rules the API enforces, and how each is kept:
//! - a reasoning item must be followed by the item it led to: reasoning is sent only ahead
//!   of another item of the same turn, never last;
//! - reasoning is only valid with the encrypted payload the same model issued: blocks from
//!   another API, provider or model (a session that switched models) are dropped, since the
//!   server would reject them and turning them into text would put words in the model's
//!   mouth;
//! - every call needs its output: a failed turn's calls that were never answered are left out.

use std::borrow::Cow;
use std::collections::HashSet;

use super::wire::{
    ContentPart, FunctionCallItem, FunctionCallOutputItem, InputItem, MessageItem, ReasoningItem, REASONING,
};
use crate::error::LlmError;
use crate::message::{AssistantContent, AssistantMessage, InputContent, Message, StopReason, ToolResultMessage};
use crate::model::{Api, Model};
use crate::providers::openai_shared::arguments_text;

pub(super) fn convert<'a>(model: &Model, history: &'a [Message], out: &mut Vec<InputItem<'a>>) -> Result<(), LlmError> {
    let answered: HashSet<&str> = history
        .iter()
        .filter_map(|m| match m {
            Message::ToolResult(r) => Some(r.tool_call_id.as_str()),
            _ => None,
        })
        .collect();
    // Images a tool returned, sent as one user message after the run of outputs (as on the
    // chat API): a function_call_output carries text on every server that speaks this API.
    let mut pending_images: Vec<ContentPart<'a>> = Vec::new();
    for message in history {
        if !matches!(message, Message::ToolResult(_)) {
            flush_images(&mut pending_images, out);
        }
        match message {
            Message::User(u) => {
                let content = input_parts(&u.content);
                if !content.is_empty() {
                    out.push(InputItem::Message(MessageItem { kind: "message", role: "user", content }));
                }
            }
            Message::Assistant(a) => assistant_items(model, a, &answered, out)?,
            Message::ToolResult(r) => out.push(tool_output(r, &mut pending_images)),
        }
    }
    flush_images(&mut pending_images, out);
    Ok(())
}

fn flush_images<'a>(pending: &mut Vec<ContentPart<'a>>, out: &mut Vec<InputItem<'a>>) {
    if !pending.is_empty() {
        out.push(InputItem::Message(MessageItem { kind: "message", role: "user", content: std::mem::take(pending) }));
    }
}

fn image_part(mime_type: &str, data: &str) -> ContentPart<'static> {
    ContentPart::InputImage { image_url: format!("data:{mime_type};base64,{data}") }
}

fn input_parts(content: &[InputContent]) -> Vec<ContentPart<'_>> {
    content
        .iter()
        .filter_map(|c| match c {
            InputContent::Text(t) if t.text.is_empty() => None,
            InputContent::Text(t) => Some(ContentPart::InputText { text: Cow::Borrowed(&t.text) }),
            InputContent::Image(i) => Some(image_part(&i.mime_type, &i.data)),
        })
        .collect()
}

/// The reasoning item a thinking block may be replayed as, when `model` can accept it.
fn replayable_reasoning(model: &Model, m: &AssistantMessage, signature: Option<&str>) -> Option<ReasoningItem> {
    let same_issuer = m.api == Api::OpenAiResponses.as_str() && m.provider == model.provider && m.model == model.id;
    if !same_issuer {
        return None;
    }
    let item: ReasoningItem = serde_json::from_str(signature?).ok()?;
    (item.kind == REASONING && !item.id.is_empty() && !item.encrypted_content.is_empty()).then_some(item)
}

fn assistant_items<'a>(
    model: &Model,
    m: &'a AssistantMessage,
    answered: &HashSet<&str>,
    out: &mut Vec<InputItem<'a>>,
) -> Result<(), LlmError> {
    let partial = matches!(m.stop_reason, StopReason::Error | StopReason::Aborted);
    let start = out.len();
    for block in &m.content {
        match block {
            AssistantContent::Thinking(t) => {
                if let Some(item) = replayable_reasoning(model, m, t.signature.as_deref()) {
                    out.push(InputItem::Reasoning(item));
                }
            }
            AssistantContent::Text(t) if t.text.is_empty() => {}
            AssistantContent::Text(t) => out.push(InputItem::Message(MessageItem {
                kind: "message",
                role: "assistant",
                content: vec![ContentPart::OutputText { text: &t.text, annotations: [] }],
            })),
            AssistantContent::ToolCall(call) if partial && !answered.contains(call.id.as_str()) => {}
            AssistantContent::ToolCall(call) => out.push(InputItem::FunctionCall(FunctionCallItem {
                kind: "function_call",
                call_id: &call.id,
                name: &call.name,
                arguments: arguments_text(call)?,
            })),
        }
    }
    // Reasoning that led to nothing sent (a cut-off turn, a dropped call) would be rejected.
    while out.len() > start && matches!(out.last(), Some(InputItem::Reasoning(_))) {
        out.pop();
    }
    Ok(())
}

fn tool_output<'a>(r: &'a ToolResultMessage, pending_images: &mut Vec<ContentPart<'a>>) -> InputItem<'a> {
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
        let caption = format!("Image output of tool call {} ({}):", r.tool_call_id, r.tool_name);
        pending_images.push(ContentPart::InputText { text: Cow::Owned(caption) });
        pending_images.extend(images);
    }
    InputItem::FunctionCallOutput(FunctionCallOutputItem {
        kind: "function_call_output",
        call_id: &r.tool_call_id,
        output: text,
    })
}
