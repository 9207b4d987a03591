//! Canonical history → Gemini `contents`.
//!
//! Gemini wants the results of one step's calls together in one user turn, answering the
//! calls in order, and the model turn replayed with every `thoughtSignature` on the part it
//! came with. Signatures (and thoughts) are replayed only to the model that issued them;
//! anything else would be rejected. Gemini 3 and later reject a replayed step whose first
//! call has no signature at all (history from another model, a compacted or failed turn):
//! such a call carries Google's documented skip-validation sentinel instead.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{json, Value};

use super::wire::{Blob, Content, FunctionCall, FunctionResponse, Part, Role, GENERATED_ID_PREFIX};
use crate::message::{AssistantContent, AssistantMessage, InputContent, Message, StopReason, ToolResultMessage};
use crate::model::Model;

pub(super) fn convert<'a>(model: &Model, messages: &'a [Message]) -> Vec<Content<'a>> {
    let answered: HashSet<&str> = messages
        .iter()
        .filter_map(|m| match m {
            Message::ToolResult(r) => Some(r.tool_call_id.as_str()),
            _ => None,
        })
        .collect();
    let mut out: Vec<Content<'a>> = Vec::with_capacity(messages.len());
    for message in messages {
        let (role, parts) = match message {
            Message::User(u) => (Role::User, input_parts(&u.content)),
            Message::Assistant(a) => (Role::Model, model_parts(model, a, &answered)),
            Message::ToolResult(r) => (Role::User, tool_result_parts(r)),
        };
        if parts.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => out.push(Content { role, parts }),
        }
    }
    for content in &mut out {
        if content.role == Role::User {
            // The function responses answer the previous model turn; a message typed while
            // the tools ran follows them. The sort is stable, so the responses keep the
            // calls' order.
            content.parts.sort_by_key(|p| p.function_response.is_none());
        }
    }
    out
}

fn input_parts(content: &[InputContent]) -> Vec<Part<'_>> {
    content
        .iter()
        .filter_map(|c| match c {
            InputContent::Text(t) if t.text.is_empty() => None,
            InputContent::Text(t) => Some(Part { text: Some(&t.text), ..Part::default() }),
            InputContent::Image(i) => {
                Some(Part { inline_data: Some(Blob { mime_type: &i.mime_type, data: &i.data }), ..Part::default() })
            }
        })
        .collect()
}

/// A call's id goes back only when the server issued it.
fn issued_id(id: &str) -> Option<&str> {
    (!id.is_empty() && !id.starts_with(GENERATED_ID_PREFIX)).then_some(id)
}

fn tool_result_parts(r: &ToolResultMessage) -> Vec<Part<'_>> {
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
            InputContent::Image(i) => {
                images.push(Part {
                    inline_data: Some(Blob { mime_type: &i.mime_type, data: &i.data }),
                    ..Part::default()
                });
            }
        }
    }
    // Gemini documents `output` for a result and `error` for a failure.
    let response = if r.is_error { json!({ "error": text }) } else { json!({ "output": text }) };
    let mut parts = vec![Part {
        function_response: Some(FunctionResponse { id: issued_id(&r.tool_call_id), name: &r.tool_name, response }),
        ..Part::default()
    }];
    // Images a tool returned travel as inline data in the same turn (a function response
    // carries JSON only on the 2.x models).
    parts.extend(images);
    parts
}

/// The signature Google documents for a call whose real one is unavailable.
const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// Gemini 3 and later require a signature on the first call of every replayed step.
fn requires_call_signatures(model: &Model) -> bool {
    let name = model.id.rsplit('/').next().unwrap_or(&model.id);
    let Some(version) = name.strip_prefix("gemini-") else {
        return false;
    };
    let major: String = version.chars().take_while(char::is_ascii_digit).collect();
    major.parse::<u32>().is_ok_and(|m| m >= 3)
}

fn model_parts<'a>(model: &Model, m: &'a AssistantMessage, answered: &HashSet<&str>) -> Vec<Part<'a>> {
    // Signatures and thoughts are only good for the model that issued them.
    let same_issuer = m.api == model.api.as_str() && m.provider == model.provider && m.model == model.id;
    // A failed or cancelled stream can end on a call that was never run; a call without its
    // response is rejected, so such calls are left out.
    let partial = matches!(m.stop_reason, StopReason::Error | StopReason::Aborted);
    let mut parts = Vec::with_capacity(m.content.len());
    // A carrier block's signature, waiting for the part it belongs on (the next one).
    let mut pending: Option<&'a str> = None;
    for block in &m.content {
        match block {
            AssistantContent::Thinking(t) if !same_issuer || t.redacted => {}
            AssistantContent::Thinking(t) if t.thinking.is_empty() => {
                pending = t.signature.as_deref().filter(|s| !s.is_empty());
            }
            AssistantContent::Thinking(t) => parts.push(Part {
                text: Some(&t.thinking),
                thought: Some(true),
                thought_signature: t.signature.as_deref().filter(|s| !s.is_empty()),
                ..Part::default()
            }),
            AssistantContent::Text(t) => {
                let signature = pending.take();
                if !t.text.is_empty() || signature.is_some() {
                    parts.push(Part { text: Some(&t.text), thought_signature: signature, ..Part::default() });
                }
            }
            AssistantContent::ToolCall(call) => {
                let signature = pending.take();
                if partial && !answered.contains(call.id.as_str()) {
                    continue;
                }
                // Arguments that failed to parse are not an object Gemini would take; the
                // paired response carries the error instead.
                let args = match (&call.arguments, &call.arguments_error) {
                    (Value::Object(_), None) => Cow::Borrowed(&call.arguments),
                    _ => Cow::Owned(Value::Object(serde_json::Map::new())),
                };
                parts.push(Part {
                    function_call: Some(FunctionCall { id: issued_id(&call.id), name: &call.name, args }),
                    thought_signature: signature,
                    ..Part::default()
                });
            }
        }
    }
    // A model turn of nothing but thoughts led nowhere and is rejected as such.
    if parts.iter().all(|p| p.thought == Some(true)) {
        parts.clear();
    }
    // Only the first of parallel calls is signed; the others legitimately carry none.
    if requires_call_signatures(model) {
        if let Some(first) = parts.iter_mut().find(|p| p.function_call.is_some()) {
            first.thought_signature = first.thought_signature.or(Some(SKIP_SIGNATURE));
        }
    }
    parts
}
