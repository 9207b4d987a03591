//! Builds one assistant message from wire fragments and emits the canonical events.
//!
//! Every wire API drives this one type, so event order (a block's start before its deltas,
//! one end per block, exactly one terminal event) holds by construction rather than by
//! each provider's care.

use serde_json::Value;

use crate::error::{ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::message::{
    now_millis, AssistantContent, AssistantMessage, CostSource, StopReason, TextContent, ThinkingContent, ToolCall,
};
use crate::model::{Limits, Model};
use crate::usage::{Price, PriceTier, TokenCounts, Usage};

/// Content blocks one message may open; real answers have a handful, parallel tool calls
/// a few hundred.
pub const MAX_BLOCKS: usize = 10_000;

/// The index handed out for a block refused by a cap: it names no block.
const NO_BLOCK: usize = usize::MAX;

#[derive(Debug)]
enum Block {
    Text { text: String },
    Thinking { thinking: String, signature: Option<String>, redacted: bool },
    ToolCall { id: String, name: String, args: String },
}

#[derive(Debug)]
pub struct MessageAssembler {
    api: &'static str,
    provider: String,
    model: String,
    price: Option<Price>,
    tiers: Vec<PriceTier>,
    blocks: Vec<Block>,
    open: Vec<bool>,
    started: bool,
    response_id: Option<String>,
    limits: Limits,
    /// Content held so far (text, thinking, signatures, tool calls), against
    /// `limits.max_message_bytes`.
    held_bytes: usize,
    /// The first cap a server's output exceeded; the stream must end with it.
    exceeded: Option<LlmError>,
}

impl MessageAssembler {
    #[must_use]
    pub fn new(model: &Model) -> Self {
        Self::with_limits(model, Limits::default())
    }

    #[must_use]
    pub fn with_limits(model: &Model, limits: Limits) -> Self {
        Self {
            api: model.api.as_str(),
            provider: model.provider.clone(),
            model: model.id.clone(),
            price: model.price,
            tiers: model.tiers.clone(),
            blocks: Vec::new(),
            open: Vec::new(),
            started: false,
            response_id: None,
            limits,
            held_bytes: 0,
            exceeded: None,
        }
    }

    /// The cap the server's output exceeded, if any (taken once).
    pub fn take_exceeded(&mut self) -> Option<LlmError> {
        self.exceeded.take()
    }

    /// Admit `len` more bytes of content, or record the overflow and refuse.
    fn admit(&mut self, len: usize) -> bool {
        let total = self.held_bytes.saturating_add(len);
        if total > self.limits.max_message_bytes {
            let limit = self.limits.max_message_bytes;
            self.exceed(too_large("the message's content", limit, "limits.max_message_bytes"));
            return false;
        }
        self.held_bytes = total;
        true
    }

    fn exceed(&mut self, error: LlmError) {
        if self.exceeded.is_none() {
            self.exceeded = Some(error);
        }
    }

    /// Emit `start` once.
    pub fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start);
        }
    }

    pub fn set_response_id(&mut self, id: &str) {
        if self.response_id.is_none() && !id.is_empty() {
            self.response_id = Some(id.to_owned());
        }
    }

    /// Whether any content block was opened (a retry would then replay visible output).
    #[must_use]
    pub fn has_content(&self) -> bool {
        !self.blocks.is_empty()
    }

    /// Add a block, or `None` once the message has `MAX_BLOCKS` (a server opening empty
    /// blocks forever would otherwise grow memory without sending any content bytes).
    fn push_block(&mut self, block: Block) -> Option<usize> {
        if self.blocks.len() >= MAX_BLOCKS {
            self.exceed(LlmError::new(
                ErrorKind::InvalidResponse,
                format!(
                    "the message has more than {MAX_BLOCKS} content blocks; the server is not sending a real answer"
                ),
            ));
            return None;
        }
        self.blocks.push(block);
        self.open.push(true);
        Some(self.blocks.len() - 1)
    }

    /// Open a text block. Past a cap the returned index names no block, so what the
    /// decoder sends to it is dropped (the stream is ended with the cap's error).
    pub fn open_text(&mut self, out: &mut Vec<StreamEvent>) -> usize {
        self.start(out);
        let Some(index) = self.push_block(Block::Text { text: String::new() }) else { return NO_BLOCK };
        out.push(StreamEvent::TextStart { index });
        index
    }

    pub fn push_text(&mut self, index: usize, delta: &str, out: &mut Vec<StreamEvent>) {
        if delta.is_empty() || !matches!(self.blocks.get(index), Some(Block::Text { .. })) {
            return;
        }
        if !self.admit(delta.len()) {
            return;
        }
        if let Some(Block::Text { text }) = self.blocks.get_mut(index) {
            text.push_str(delta);
            out.push(StreamEvent::TextDelta { index, delta: delta.to_owned() });
        }
    }

    pub fn open_thinking(&mut self, out: &mut Vec<StreamEvent>) -> usize {
        self.start(out);
        let block = Block::Thinking { thinking: String::new(), signature: None, redacted: false };
        let Some(index) = self.push_block(block) else { return NO_BLOCK };
        out.push(StreamEvent::ThinkingStart { index });
        index
    }

    /// Redacted thinking arrives whole: its encrypted payload is kept as the signature.
    pub fn add_redacted_thinking(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> usize {
        self.start(out);
        if !self.admit(data.len()) {
            return NO_BLOCK;
        }
        let block = Block::Thinking { thinking: String::new(), signature: Some(data.to_owned()), redacted: true };
        let Some(index) = self.push_block(block) else { return NO_BLOCK };
        out.push(StreamEvent::ThinkingStart { index });
        index
    }

    pub fn push_thinking(&mut self, index: usize, delta: &str, out: &mut Vec<StreamEvent>) {
        if delta.is_empty() || !matches!(self.blocks.get(index), Some(Block::Thinking { .. })) {
            return;
        }
        if !self.admit(delta.len()) {
            return;
        }
        if let Some(Block::Thinking { thinking, .. }) = self.blocks.get_mut(index) {
            thinking.push_str(delta);
            out.push(StreamEvent::ThinkingDelta { index, delta: delta.to_owned() });
        }
    }

    /// Signatures may arrive in pieces; they are concatenated.
    pub fn push_signature(&mut self, index: usize, piece: &str) {
        if !matches!(self.blocks.get(index), Some(Block::Thinking { .. })) || !self.admit(piece.len()) {
            return;
        }
        if let Some(Block::Thinking { signature, .. }) = self.blocks.get_mut(index) {
            signature.get_or_insert_with(String::new).push_str(piece);
        }
    }

    /// Charge `len` bytes a decoder holds for this message outside its blocks (to be
    /// attached later with `set_charged_signature`) against the message's size cap.
    pub fn charge(&mut self, len: usize) -> bool {
        self.admit(len)
    }

    /// Replace a thinking block's signature with one whose bytes were already charged.
    pub fn set_charged_signature(&mut self, index: usize, value: String) {
        if let Some(Block::Thinking { signature, .. }) = self.blocks.get_mut(index) {
            *signature = Some(value);
        }
    }

    pub fn open_tool_call(&mut self, id: &str, name: &str, out: &mut Vec<StreamEvent>) -> usize {
        self.start(out);
        if !self.admit(id.len().saturating_add(name.len())) {
            return NO_BLOCK;
        }
        let block = Block::ToolCall { id: id.to_owned(), name: name.to_owned(), args: String::new() };
        let Some(index) = self.push_block(block) else { return NO_BLOCK };
        out.push(StreamEvent::ToolCallStart { index, id: id.to_owned(), name: name.to_owned() });
        index
    }

    /// Fill an id or name that was missing from the first fragment (never overwrite one).
    pub fn complete_tool_call_identity(&mut self, index: usize, new_id: Option<&str>, new_name: Option<&str>) {
        let added = new_id.map_or(0, str::len).saturating_add(new_name.map_or(0, str::len));
        if !self.admit(added) {
            return;
        }
        if let Some(Block::ToolCall { id, name, .. }) = self.blocks.get_mut(index) {
            if let Some(n) = new_id.filter(|s| !s.is_empty()) {
                if id.is_empty() {
                    n.clone_into(id);
                }
            }
            if let Some(n) = new_name.filter(|s| !s.is_empty()) {
                if name.is_empty() {
                    n.clone_into(name);
                }
            }
        }
    }

    pub fn push_tool_args(&mut self, index: usize, delta: &str, out: &mut Vec<StreamEvent>) {
        if delta.is_empty() {
            return;
        }
        let limit = self.limits.max_tool_args_bytes;
        let Some(Block::ToolCall { args, .. }) = self.blocks.get(index) else { return };
        if args.len().saturating_add(delta.len()) > limit {
            self.exceed(too_large("a tool call's arguments", limit, "limits.max_tool_args_bytes"));
            return;
        }
        if !self.admit(delta.len()) {
            return;
        }
        if let Some(Block::ToolCall { args, .. }) = self.blocks.get_mut(index) {
            args.push_str(delta);
            out.push(StreamEvent::ToolCallDelta { index, delta: delta.to_owned() });
        }
    }

    /// End one block (idempotent).
    pub fn close(&mut self, index: usize, out: &mut Vec<StreamEvent>) {
        let Some(flag) = self.open.get_mut(index) else { return };
        if !*flag {
            return;
        }
        *flag = false;
        let Some(block) = self.blocks.get(index) else { return };
        out.push(match block {
            Block::Text { text } => StreamEvent::TextEnd { index, text: text.clone() },
            Block::Thinking { thinking, signature, redacted } => StreamEvent::ThinkingEnd {
                index,
                thinking: thinking.clone(),
                signature: signature.clone(),
                redacted: *redacted,
            },
            Block::ToolCall { id, name, args } => {
                StreamEvent::ToolCallEnd { index, tool_call: finish_tool_call(id, name, args) }
            }
        });
    }

    pub fn close_all(&mut self, out: &mut Vec<StreamEvent>) {
        for index in 0..self.blocks.len() {
            self.close(index, out);
        }
    }

    /// The stream completed: close open blocks and emit `done`.
    pub fn finish(mut self, stop_reason: StopReason, counts: TokenCounts, out: &mut Vec<StreamEvent>) {
        self.start(out);
        self.close_all(out);
        let message = self.into_message(stop_reason, counts, None);
        out.push(StreamEvent::Done { message });
    }

    /// The stream failed: emit `error` carrying everything that arrived so far.
    pub fn fail(mut self, error: LlmError, counts: TokenCounts, out: &mut Vec<StreamEvent>) {
        self.start(out);
        let stop = if error.kind == ErrorKind::Aborted { StopReason::Aborted } else { StopReason::Error };
        let message = self.into_message(stop, counts, Some(&error));
        out.push(StreamEvent::Error { message, error });
    }

    fn into_message(self, stop_reason: StopReason, counts: TokenCounts, error: Option<&LlmError>) -> AssistantMessage {
        let content = self
            .blocks
            .into_iter()
            .map(|b| match b {
                Block::Text { text } => AssistantContent::Text(TextContent { text }),
                Block::Thinking { thinking, signature, redacted } => {
                    AssistantContent::Thinking(ThinkingContent { thinking, signature, redacted })
                }
                Block::ToolCall { id, name, args } => AssistantContent::ToolCall(finish_tool_call(&id, &name, &args)),
            })
            .collect();
        AssistantMessage {
            content,
            api: self.api.to_owned(),
            provider: self.provider,
            model: self.model,
            // Tiers are prices over the base one: a model with no known price has no tiers
            // either, so its cost stays zero and marked unknown rather than a tier's guess.
            usage: match &self.price {
                Some(price) => Usage::from_counts_tiered(counts, price, &self.tiers),
                None => Usage::from_counts(counts, &Price::default()),
            },
            stop_reason,
            error_message: error.map(|e| e.message.clone()),
            error_kind: error.map(|e| e.kind.as_str().to_owned()),
            cost_source: match (counts.reported_cost, self.price) {
                (Some(_), _) => CostSource::Provider,
                (None, Some(_)) => CostSource::Computed,
                (None, None) => CostSource::Unknown,
            },
            response_id: self.response_id,
            timestamp: now_millis(),
        }
    }
}

/// The error for output past a size cap, naming the setting that raises it.
#[must_use]
pub fn too_large(what: &str, limit: usize, setting: &str) -> LlmError {
    LlmError::new(
        ErrorKind::InvalidResponse,
        format!(
            "{what} exceeded the {} limit; the server sent more than the client holds (raise {setting} to allow more)",
            human_bytes(limit)
        ),
    )
}

/// `16 MiB`, `1.5 KiB`, `12 bytes`.
#[must_use]
pub fn human_bytes(n: usize) -> String {
    let (unit, scale) = match n {
        _ if n >= 1 << 30 => ("GiB", 1u64 << 30),
        _ if n >= 1 << 20 => ("MiB", 1 << 20),
        _ if n >= 1 << 10 => ("KiB", 1 << 10),
        _ => return format!("{n} bytes"),
    };
    #[allow(clippy::cast_precision_loss)] // display only
    let value = format!("{:.2}", n as f64 / scale as f64);
    format!("{} {unit}", value.trim_end_matches('0').trim_end_matches('.'))
}

/// Parse streamed arguments. Empty text means no arguments; a JSON string holding JSON
/// (double-encoded by some servers) is decoded; anything else that is not an object is
/// reported on the call with the raw text kept, never replaced by `{}`.
#[must_use]
pub fn finish_tool_call(id: &str, name: &str, raw: &str) -> ToolCall {
    let (arguments, arguments_error) = parse_arguments(raw);
    ToolCall { id: id.to_owned(), name: name.to_owned(), arguments, arguments_error }
}

fn parse_arguments(raw: &str) -> (Value, Option<String>) {
    if raw.trim().is_empty() {
        return (Value::Object(serde_json::Map::new()), None);
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => (Value::Object(map), None),
        Ok(Value::String(inner)) => match serde_json::from_str::<Value>(&inner) {
            Ok(Value::Object(map)) => (Value::Object(map), None),
            _ => (Value::String(raw.to_owned()), Some("arguments are a JSON string, not an object".to_owned())),
        },
        Ok(other) => {
            (Value::String(raw.to_owned()), Some(format!("arguments must be a JSON object, got {}", json_type(&other))))
        }
        Err(e) => (Value::String(raw.to_owned()), Some(format!("arguments are not valid JSON: {e}"))),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_or_report() {
        assert_eq!(parse_arguments(""), (serde_json::json!({}), None));
        assert_eq!(parse_arguments(r#"{"a":1}"#), (serde_json::json!({"a":1}), None));
        assert_eq!(parse_arguments(r#""{\"a\":1}""#), (serde_json::json!({"a":1}), None));
        let (v, e) = parse_arguments(r#"{"a":"#);
        assert_eq!(v, Value::String(r#"{"a":"#.into()));
        assert!(e.unwrap_or_default().contains("not valid JSON"));
        assert!(parse_arguments("[1]").1.is_some());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(16 << 20), "16 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(4 << 30), "4 GiB");
    }
}
