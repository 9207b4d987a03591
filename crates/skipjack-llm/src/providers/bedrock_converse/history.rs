//! Canonical history → Converse `messages`.
//!
//! Converse is as strict as Anthropic's API, which most Bedrock traffic ends up at: roles
//! alternate, a step's tool results travel in one user turn before any text, reasoning is
//! replayed only with the signature it was issued with, and empty text is rejected.
//! Converse also refuses `toolUse`/`toolResult` blocks in a request without `toolConfig`, so
//! a request sent without tools (a compaction summary) carries past calls as text.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use crate::message::{AssistantContent, AssistantMessage, InputContent, Message, StopReason, ToolResultMessage};
use crate::model::{Api, Model};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(super) struct CachePoint {
    #[serde(rename = "type")]
    kind: &'static str,
}

pub(super) const CACHE_POINT: CachePoint = CachePoint { kind: "default" };

#[derive(Debug, Serialize)]
pub(super) struct ImageSource<'a> {
    bytes: &'a str,
}

#[derive(Debug, Serialize)]
pub(super) struct Image<'a> {
    format: &'a str,
    source: ImageSource<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolUse<'a> {
    tool_use_id: Cow<'a, str>,
    name: &'a str,
    input: Cow<'a, Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolResult<'a> {
    tool_use_id: Cow<'a, str>,
    content: Vec<Block<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub(super) struct ReasoningText<'a> {
    text: &'a str,
    signature: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) enum Reasoning<'a> {
    ReasoningText(ReasoningText<'a>),
    RedactedContent(&'a str),
}

/// A Converse content block: a one-key object naming its kind.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) enum Block<'a> {
    Text(Cow<'a, str>),
    Image(Image<'a>),
    ToolUse(ToolUse<'a>),
    ToolResult(ToolResult<'a>),
    ReasoningContent(Reasoning<'a>),
    CachePoint(CachePoint),
}

#[derive(Debug, Serialize)]
pub(super) struct WireMessage<'a> {
    pub(super) role: Role,
    pub(super) content: Vec<Block<'a>>,
}

/// The `messages` array for `model`; `tools_on_wire` says whether the request has a
/// `toolConfig` (without one, tool calls and results are sent as text).
pub(super) fn convert<'a>(model: &Model, messages: &'a [Message], tools_on_wire: bool) -> Vec<WireMessage<'a>> {
    let answered: HashSet<&str> = messages
        .iter()
        .filter_map(|m| match m {
            Message::ToolResult(r) => Some(r.tool_call_id.as_str()),
            _ => None,
        })
        .collect();
    let mut out: Vec<WireMessage<'a>> = Vec::with_capacity(messages.len());
    for message in messages {
        let (role, content) = match message {
            Message::User(u) => (Role::User, input_blocks(&u.content)),
            Message::Assistant(a) => (Role::Assistant, assistant_blocks(model, a, &answered, tools_on_wire)),
            Message::ToolResult(r) => (Role::User, vec![tool_result(r, tools_on_wire)]),
        };
        if content.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == role => last.content.extend(content),
            _ => out.push(WireMessage { role, content }),
        }
    }
    for message in &mut out {
        if message.role == Role::User {
            message.content.sort_by_key(|b| !matches!(b, Block::ToolResult(_)));
        }
    }
    out
}

/// Converse names the image format, not the MIME type; other types are sent as a note.
fn image_format(mime: &str) -> Option<&'static str> {
    match mime.to_ascii_lowercase().as_str() {
        "image/png" => Some("png"),
        "image/jpeg" | "image/jpg" => Some("jpeg"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

pub(super) fn input_blocks(content: &[InputContent]) -> Vec<Block<'_>> {
    content
        .iter()
        .filter_map(|c| match c {
            // Converse rejects blank text blocks.
            InputContent::Text(t) if t.text.trim().is_empty() => None,
            InputContent::Text(t) => Some(Block::Text(Cow::Borrowed(&t.text))),
            InputContent::Image(i) => Some(match image_format(&i.mime_type) {
                Some(format) => Block::Image(Image { format, source: ImageSource { bytes: &i.data } }),
                None => Block::Text(Cow::Owned(format!("[an image of type {} that Bedrock cannot take]", i.mime_type))),
            }),
        })
        .collect()
}

fn tool_result(r: &ToolResultMessage, tools_on_wire: bool) -> Block<'_> {
    let mut content = input_blocks(&r.content);
    if !tools_on_wire {
        let text = r.content.iter().filter_map(|c| match c {
            InputContent::Text(t) => Some(t.text.as_str()),
            InputContent::Image(_) => None,
        });
        let text: Vec<&str> = text.collect();
        return Block::Text(Cow::Owned(format!("[result of tool {}]\n{}", r.tool_name, text.join("\n"))));
    }
    if content.is_empty() {
        // A result block needs content; an empty tool output still answers its call.
        content.push(Block::Text(Cow::Borrowed("(no output)")));
    }
    Block::ToolResult(ToolResult {
        tool_use_id: tool_id(&r.tool_call_id),
        content,
        status: r.is_error.then_some("error"),
    })
}

fn assistant_blocks<'a>(
    model: &Model,
    m: &'a AssistantMessage,
    answered: &HashSet<&str>,
    tools_on_wire: bool,
) -> Vec<Block<'a>> {
    // A signature is only good for the provider that issued it; another's is rejected.
    let signatures_valid = m.api == Api::BedrockConverse.as_str() && m.provider == model.provider;
    let partial = matches!(m.stop_reason, StopReason::Error | StopReason::Aborted);
    m.content
        .iter()
        .filter_map(|c| match c {
            AssistantContent::Text(t) if t.text.trim().is_empty() => None,
            AssistantContent::Text(t) => Some(Block::Text(Cow::Borrowed(&t.text))),
            AssistantContent::Thinking(t) => {
                let signature = t.signature.as_deref().filter(|s| !s.is_empty() && signatures_valid)?;
                Some(Block::ReasoningContent(if t.redacted {
                    Reasoning::RedactedContent(signature)
                } else {
                    Reasoning::ReasoningText(ReasoningText { text: &t.thinking, signature })
                }))
            }
            AssistantContent::ToolCall(call) if partial && !answered.contains(call.id.as_str()) => None,
            AssistantContent::ToolCall(call) if !tools_on_wire => {
                Some(Block::Text(Cow::Owned(format!("[called tool {} with {}]", call.name, call.arguments))))
            }
            AssistantContent::ToolCall(call) => Some(Block::ToolUse(ToolUse {
                tool_use_id: tool_id(&call.id),
                name: &call.name,
                input: match (&call.arguments, &call.arguments_error) {
                    (Value::Object(_), None) => Cow::Borrowed(&call.arguments),
                    _ => Cow::Owned(Value::Object(serde_json::Map::new())),
                },
            })),
        })
        .collect()
}

/// Converse takes tool ids matching `^[a-zA-Z0-9_-]+$`; ids minted by other APIs are mapped
/// into that alphabet, the same way on the call and its result so the pair still matches.
fn tool_id(id: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.chars().all(ok) {
        Cow::Borrowed(id)
    } else if id.is_empty() {
        Cow::Borrowed("_")
    } else {
        Cow::Owned(id.chars().map(|c| if ok(c) { c } else { '_' }).collect())
    }
}
