//! Canonical history → Anthropic `messages`.
//!
//! Anthropic is stricter than the canonical form: roles alternate, tool results travel as
//! `tool_result` blocks in a user turn (all results of one step in one turn, before any
//! text), thinking must carry the signature it was issued with, and empty blocks or turns
//! are rejected. Whatever cannot be sent validly is turned into nothing rather than into
//! a request that fails on every retry.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use crate::message::{AssistantContent, AssistantMessage, InputContent, Message, StopReason, ToolResultMessage};
use crate::model::Model;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(super) struct CacheControl {
    #[serde(rename = "type")]
    kind: &'static str,
}

pub(super) const EPHEMERAL: CacheControl = CacheControl { kind: "ephemeral" };

#[derive(Debug, Serialize)]
pub(super) struct ImageSource<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    media_type: &'a str,
    data: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Block<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Image {
        source: ImageSource<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        input: Cow<'a, Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    ToolResult {
        tool_use_id: Cow<'a, str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        content: Vec<Block<'a>>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
}

impl Block<'_> {
    /// Mark this block as a cache breakpoint; false for blocks Anthropic will not cache on.
    pub(super) fn set_cache_control(&mut self) -> bool {
        match self {
            Self::Text { cache_control, .. }
            | Self::Image { cache_control, .. }
            | Self::ToolUse { cache_control, .. }
            | Self::ToolResult { cache_control, .. } => {
                *cache_control = Some(EPHEMERAL);
                true
            }
            Self::Thinking { .. } | Self::RedactedThinking { .. } => false,
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct WireMessage<'a> {
    pub(super) role: Role,
    pub(super) content: Vec<Block<'a>>,
}

/// The `messages` array for `model`.
pub(super) fn convert<'a>(model: &Model, messages: &'a [Message]) -> Vec<WireMessage<'a>> {
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
            Message::Assistant(a) => (Role::Assistant, assistant_blocks(model, a, &answered)),
            Message::ToolResult(r) => (Role::User, vec![tool_result(r)]),
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
            // A user turn answering tool calls must open with its tool_result blocks; a
            // steering message typed while the tools ran follows them.
            message.content.sort_by_key(|b| !matches!(b, Block::ToolResult { .. }));
        }
    }
    out
}

fn input_blocks(content: &[InputContent]) -> Vec<Block<'_>> {
    content
        .iter()
        .filter_map(|c| match c {
            // Anthropic rejects empty text blocks.
            InputContent::Text(t) if t.text.is_empty() => None,
            InputContent::Text(t) => Some(Block::Text { text: &t.text, cache_control: None }),
            InputContent::Image(i) => Some(Block::Image {
                source: ImageSource { kind: "base64", media_type: &i.mime_type, data: &i.data },
                cache_control: None,
            }),
        })
        .collect()
}

fn tool_result(r: &ToolResultMessage) -> Block<'_> {
    Block::ToolResult {
        tool_use_id: tool_id(&r.tool_call_id),
        content: input_blocks(&r.content),
        is_error: r.is_error,
        cache_control: None,
    }
}

fn assistant_blocks<'a>(model: &Model, m: &'a AssistantMessage, answered: &HashSet<&str>) -> Vec<Block<'a>> {
    // A signature is only good for the provider that issued it; another's is rejected.
    let signatures_valid = m.api == model.api.as_str() && m.provider == model.provider;
    // A failed or cancelled stream can end on a call that was never run; sending it
    // without a result is rejected, so such calls are left out.
    let partial = matches!(m.stop_reason, StopReason::Error | StopReason::Aborted);
    m.content
        .iter()
        .filter_map(|c| match c {
            AssistantContent::Text(t) if t.text.is_empty() => None,
            AssistantContent::Text(t) => Some(Block::Text { text: &t.text, cache_control: None }),
            AssistantContent::Thinking(t) => {
                let signature = t.signature.as_deref().filter(|s| !s.is_empty() && signatures_valid)?;
                Some(if t.redacted {
                    Block::RedactedThinking { data: signature }
                } else {
                    Block::Thinking { thinking: &t.thinking, signature }
                })
            }
            AssistantContent::ToolCall(call) if partial && !answered.contains(call.id.as_str()) => None,
            AssistantContent::ToolCall(call) => Some(Block::ToolUse {
                id: tool_id(&call.id),
                name: &call.name,
                // Arguments that failed to parse are not an object Anthropic would take;
                // the paired tool_result carries the error instead.
                input: match (&call.arguments, &call.arguments_error) {
                    (Value::Object(_), None) => Cow::Borrowed(&call.arguments),
                    _ => Cow::Owned(Value::Object(serde_json::Map::new())),
                },
                cache_control: None,
            }),
        })
        .collect()
}

/// Anthropic accepts tool ids matching `^[a-zA-Z0-9_-]+$`; ids minted by other APIs
/// (a history that switched models) are mapped into that alphabet, the same way on the
/// call and on its result so the pair still matches.
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
