//! Decoding the stream of typed events (`response.output_text.delta`, ...).
//!
//! Items are keyed by their id and output index, so deltas of parallel function calls may
//! interleave. Each `*.done` event carries the whole item: whatever its deltas missed is
//! filled in from it, so a server that skips deltas still yields the full message.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::wire::{ReasoningItem, SummaryPart, REASONING};
use crate::assembler::MessageAssembler;
use crate::error::{classify_stream_error, ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::message::StopReason;
use crate::providers::lenient::{lenient, lenient_count, lenient_object};
use crate::providers::openai_shared::excerpt;
use crate::providers::{Decoder, Progress};
use crate::sse::SseEvent;
use crate::usage::TokenCounts;

/// One event's payload; which fields are present depends on its `type`.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_count")]
    output_index: Option<u64>,
    #[serde(default, borrow)]
    item_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    delta: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_count")]
    summary_index: Option<u64>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_object")]
    item: Option<Item>,
    #[serde(default, deserialize_with = "lenient_object")]
    response: Option<Response>,
    /// The `error` event: `code`/`message` at the top, or inside `error`.
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    call_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    arguments: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    content: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient")]
    summary: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient")]
    encrypted_content: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_object")]
    usage: Option<WireUsage>,
    #[serde(default)]
    incomplete_details: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    /// Includes the cached tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    input_tokens: Option<u64>,
    /// Includes the reasoning tokens, which are billed as output.
    #[serde(default, deserialize_with = "lenient_count")]
    output_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_object")]
    input_tokens_details: Option<InputDetails>,
}

#[derive(Deserialize, Default)]
struct InputDetails {
    #[serde(default, deserialize_with = "lenient_count")]
    cached_tokens: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    Call,
}

/// One output item and the content block it fills.
#[derive(Debug)]
struct Slot {
    kind: Kind,
    item_id: Option<String>,
    output_index: Option<u64>,
    block: usize,
    /// Bytes pushed so far, to fill in what the deltas missed from the `done` event.
    len: usize,
    /// The reasoning summary part being streamed; a new one starts a new paragraph.
    part: Option<u64>,
    closed: bool,
}

#[derive(Debug, Default)]
pub struct ResponsesDecoder {
    slots: Vec<Slot>,
    finish: Option<StopReason>,
    counts: TokenCounts,
}

/// Separates the parts of one reasoning summary, as OpenAI's own clients show them.
const PART_BREAK: &str = "\n\n";

impl Decoder for ResponsesDecoder {
    fn on_event(
        &mut self,
        event: &SseEvent,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Progress, LlmError> {
        let data = event.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(Progress::More);
        }
        let ev: Event<'_> = serde_json::from_str(data).map_err(|e| {
            LlmError::new(
                ErrorKind::InvalidResponse,
                format!("a stream event is not a valid Responses event ({e}): {}", excerpt(data, 200)),
            )
        })?;
        let kind = ev.kind.as_deref().or(event.event.as_deref()).unwrap_or("");
        let id = ev.item_id.as_deref();
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                if let Some(rid) = ev.response.as_ref().and_then(|r| r.id.as_deref()) {
                    asm.set_response_id(rid);
                }
            }
            "response.output_item.added" => {
                if let Some(item) = &ev.item {
                    self.on_item_added(item, ev.output_index, asm, out);
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                if let Some(d) = ev.delta.as_deref() {
                    self.push(Kind::Text, id, ev.output_index, None, d, asm, out);
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                if let Some(d) = ev.delta.as_deref() {
                    self.push(Kind::Thinking, id, ev.output_index, ev.summary_index, d, asm, out);
                }
            }
            "response.function_call_arguments.delta" => {
                if let Some(d) = ev.delta.as_deref() {
                    self.push(Kind::Call, id, ev.output_index, None, d, asm, out);
                }
            }
            "response.function_call_arguments.done" => {
                if let Some(args) = ev.arguments.as_deref() {
                    let slot = self.slot_or_open(Kind::Call, id, ev.output_index, asm, out);
                    self.fill(slot, args, asm, out);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = &ev.item {
                    self.on_item_done(item, ev.output_index, asm, out);
                }
            }
            "response.completed" => {
                self.take_usage(ev.response.as_ref());
                self.finish = Some(StopReason::Stop);
                return Ok(Progress::Complete);
            }
            "response.incomplete" => {
                self.take_usage(ev.response.as_ref());
                let reason = ev
                    .response
                    .as_ref()
                    .and_then(|r| r.incomplete_details.as_ref())
                    .and_then(|d| d.get("reason"))
                    .and_then(Value::as_str);
                self.finish = Some(match reason {
                    Some("content_filter") => StopReason::ContentFilter,
                    // `max_output_tokens`, and any new reason: the answer was cut short.
                    _ => StopReason::Length,
                });
                return Ok(Progress::Complete);
            }
            "response.failed" => {
                self.take_usage(ev.response.as_ref());
                let error = ev.response.as_ref().and_then(|r| r.error.as_ref()).filter(|e| !e.is_null());
                return Err(error.map_or_else(
                    || LlmError::new(ErrorKind::Server, "the response failed without an error object"),
                    stream_error,
                ));
            }
            "error" => {
                let nested = ev.error.as_ref().filter(|e| e.is_object());
                return Err(match nested {
                    Some(e) => stream_error(e),
                    None => error_from_parts(ev.code.as_ref(), ev.message.as_ref()),
                });
            }
            // Part boundaries, annotations, keep-alives and anything new carry nothing the
            // deltas and `done` items do not.
            _ => {}
        }
        Ok(Progress::More)
    }

    fn end(&mut self) -> Result<StopReason, LlmError> {
        match self.finish {
            Some(StopReason::Stop) if self.slots.iter().any(|s| s.kind == Kind::Call) => Ok(StopReason::ToolUse),
            Some(reason) => Ok(reason),
            None => Err(LlmError::truncated("response.completed")),
        }
    }

    fn counts(&self) -> TokenCounts {
        self.counts
    }
}

impl ResponsesDecoder {
    fn find(&self, kind: Kind, item_id: Option<&str>, output_index: Option<u64>) -> Option<usize> {
        if let Some(id) = item_id {
            if let Some(p) = self.slots.iter().rposition(|s| s.item_id.as_deref() == Some(id)) {
                return self.slots.get(p).is_some_and(|s| s.kind == kind).then_some(p);
            }
        }
        let oi = output_index?;
        let p = self.slots.iter().rposition(|s| s.output_index == Some(oi) && s.kind == kind)?;
        // An index reused by an item with another id is a different item.
        let other_id = item_id.is_some() && self.slots.get(p).is_some_and(|s| s.item_id.is_some());
        (!other_id).then_some(p)
    }

    fn open(
        &mut self,
        kind: Kind,
        item_id: Option<&str>,
        output_index: Option<u64>,
        call: (&str, &str),
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) -> usize {
        let block = match kind {
            Kind::Text => asm.open_text(out),
            Kind::Thinking => asm.open_thinking(out),
            Kind::Call => asm.open_tool_call(call.0, call.1, out),
        };
        self.slots.push(Slot {
            kind,
            item_id: item_id.map(str::to_owned),
            output_index,
            block,
            len: 0,
            part: None,
            closed: false,
        });
        self.slots.len() - 1
    }

    fn slot_or_open(
        &mut self,
        kind: Kind,
        item_id: Option<&str>,
        output_index: Option<u64>,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) -> usize {
        match self.find(kind, item_id, output_index) {
            Some(p) => p,
            None => self.open(kind, item_id, output_index, ("", ""), asm, out),
        }
    }

    fn on_item_added(
        &mut self,
        item: &Item,
        output_index: Option<u64>,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) {
        // Text and reasoning blocks open with their first delta (or their `done` item), so
        // an item that stays empty leaves no empty block behind. A call opens now: its
        // start event names the tool.
        if item.kind.as_deref() == Some("function_call")
            && self.find(Kind::Call, item.id.as_deref(), output_index).is_none()
        {
            let call_id = item.call_id.as_deref().unwrap_or("");
            let name = item.name.as_deref().unwrap_or("");
            let slot = self.open(Kind::Call, item.id.as_deref(), output_index, (call_id, name), asm, out);
            if let Some(args) = item.arguments.as_deref() {
                self.fill(slot, args, asm, out);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: Kind,
        item_id: Option<&str>,
        output_index: Option<u64>,
        part: Option<u64>,
        delta: &str,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) {
        if delta.is_empty() {
            return;
        }
        let p = self.slot_or_open(kind, item_id, output_index, asm, out);
        let Some(slot) = self.slots.get_mut(p) else { return };
        if slot.closed {
            return;
        }
        if kind == Kind::Thinking && part.is_some() {
            if slot.part.is_some() && slot.part != part && slot.len > 0 {
                asm.push_thinking(slot.block, PART_BREAK, out);
                slot.len += PART_BREAK.len();
            }
            slot.part = part;
        }
        slot.len += delta.len();
        match kind {
            Kind::Text => asm.push_text(slot.block, delta, out),
            Kind::Thinking => asm.push_thinking(slot.block, delta, out),
            Kind::Call => asm.push_tool_args(slot.block, delta, out),
        }
    }

    /// Push the part of `full` the deltas did not deliver.
    fn fill(&mut self, p: usize, full: &str, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        let Some(slot) = self.slots.get_mut(p) else { return };
        if slot.closed || full.len() <= slot.len || !full.is_char_boundary(slot.len) {
            return;
        }
        let rest = &full[slot.len..];
        slot.len = full.len();
        match slot.kind {
            Kind::Text => asm.push_text(slot.block, rest, out),
            Kind::Thinking => asm.push_thinking(slot.block, rest, out),
            Kind::Call => asm.push_tool_args(slot.block, rest, out),
        }
    }

    fn close(&mut self, p: usize, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        if let Some(slot) = self.slots.get_mut(p) {
            slot.closed = true;
            asm.close(slot.block, out);
        }
    }

    fn on_item_done(
        &mut self,
        item: &Item,
        output_index: Option<u64>,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) {
        let id = item.id.as_deref();
        match item.kind.as_deref() {
            Some("message") => {
                let text = joined(item.content.as_deref(), &["text", "refusal"], "");
                match self.find(Kind::Text, id, output_index) {
                    Some(p) => {
                        self.fill(p, &text, asm, out);
                        self.close(p, asm, out);
                    }
                    None if !text.is_empty() => {
                        let p = self.open(Kind::Text, id, output_index, ("", ""), asm, out);
                        self.fill(p, &text, asm, out);
                        self.close(p, asm, out);
                    }
                    None => {}
                }
            }
            Some(REASONING) => {
                let summary = joined(item.summary.as_deref(), &["text"], PART_BREAK);
                let text =
                    if summary.is_empty() { joined(item.content.as_deref(), &["text"], PART_BREAK) } else { summary };
                let replay = reasoning_signature(item);
                let p = match self.find(Kind::Thinking, id, output_index) {
                    Some(p) => p,
                    None if !text.is_empty() || replay.is_some() => {
                        self.open(Kind::Thinking, id, output_index, ("", ""), asm, out)
                    }
                    None => return,
                };
                self.fill(p, &text, asm, out);
                if let (Some(sig), Some(slot)) = (replay, self.slots.get(p)) {
                    if !slot.closed {
                        asm.push_signature(slot.block, &sig);
                    }
                }
                self.close(p, asm, out);
            }
            Some("function_call") => {
                let p = self.slot_or_open(Kind::Call, id, output_index, asm, out);
                if let Some(slot) = self.slots.get(p) {
                    asm.complete_tool_call_identity(slot.block, item.call_id.as_deref(), item.name.as_deref());
                }
                if let Some(args) = item.arguments.as_deref() {
                    self.fill(p, args, asm, out);
                }
                self.name_if_anonymous(p, asm);
                self.close(p, asm, out);
            }
            _ => {}
        }
    }

    /// A call that never got a `call_id` could not be answered: give it a stable one.
    fn name_if_anonymous(&self, p: usize, asm: &mut MessageAssembler) {
        if let Some(slot) = self.slots.get(p) {
            let fallback = slot.item_id.clone().unwrap_or_else(|| format!("call_{}", slot.block));
            asm.complete_tool_call_identity(slot.block, Some(&fallback), None);
        }
    }

    fn take_usage(&mut self, response: Option<&Response>) {
        let Some(u) = response.and_then(|r| r.usage.as_ref()) else { return };
        let cached = u.input_tokens_details.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0);
        self.counts =
            TokenCounts::from_inclusive_prompt(u.input_tokens.unwrap_or(0), cached, 0, u.output_tokens.unwrap_or(0));
    }
}

/// The stored form of a reasoning item, when it can be replayed (it carries its encrypted
/// content; without it a stateless request could not refer to it).
fn reasoning_signature(item: &Item) -> Option<String> {
    let id = item.id.as_deref().filter(|s| !s.is_empty())?;
    let encrypted = item.encrypted_content.as_deref().filter(|s| !s.is_empty())?;
    let stored = ReasoningItem {
        kind: REASONING.to_owned(),
        id: id.to_owned(),
        summary: item
            .summary
            .iter()
            .flatten()
            .filter_map(|part| {
                let text = part.get("text").and_then(Value::as_str)?;
                let kind = part.get("type").and_then(Value::as_str).unwrap_or("summary_text");
                Some(SummaryPart { kind: kind.to_owned(), text: text.to_owned() })
            })
            .collect(),
        encrypted_content: encrypted.to_owned(),
    };
    serde_json::to_string(&stored).ok()
}

/// The text fields of content parts, joined.
fn joined(parts: Option<&[Value]>, fields: &[&str], sep: &str) -> String {
    let mut text = String::new();
    for part in parts.unwrap_or_default() {
        if let Some(t) = fields.iter().find_map(|f| part.get(*f).and_then(Value::as_str)) {
            if !text.is_empty() && !t.is_empty() {
                text.push_str(sep);
            }
            text.push_str(t);
        }
    }
    text
}

/// An error object (`{"code", "message", ...}`) reported in the stream.
fn stream_error(error: &Value) -> LlmError {
    error_from_parts(error.get("code"), error.get("message"))
}

fn error_from_parts(code: Option<&Value>, message: Option<&Value>) -> LlmError {
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let code = code.filter(|c| !c.is_null()).map(as_text);
    let message = message.filter(|m| !m.is_null()).map_or_else(|| "the provider reported an error".to_owned(), as_text);
    // The status the code stands for, so an error before any content is retried exactly as
    // the same error sent as an HTTP status would be (the transport decides by status).
    let status = code.as_deref().and_then(status_of_code);
    let kind = match code.as_deref() {
        Some("context_length_exceeded") => ErrorKind::ContextOverflow,
        // The prompt was refused as it stands: retrying it unchanged cannot help.
        Some("invalid_prompt" | "invalid_request_error" | "invalid_image") => ErrorKind::BadRequest,
        _ => match status {
            Some(429) => ErrorKind::RateLimited,
            Some(s) if s >= 500 => ErrorKind::Server,
            _ => classify_stream_error(&message),
        },
    };
    let text = match code {
        Some(code) => format!("{message} (code: {code})"),
        None => message,
    };
    LlmError { status, ..LlmError::new(kind, text) }
}

/// The HTTP status an error code of this API stands for (OpenAI documents these codes on
/// `response.failed` and `error` events).
fn status_of_code(code: &str) -> Option<u16> {
    if let Ok(n) = code.trim().parse::<u16>() {
        return (100..600).contains(&n).then_some(n);
    }
    match code.trim().to_ascii_lowercase().as_str() {
        "rate_limit_exceeded" | "rate_limit_error" | "too_many_requests" | "insufficient_quota" => Some(429),
        "server_error" | "internal_error" | "internal_server_error" | "api_error" => Some(500),
        "overloaded" | "server_is_overloaded" | "server_overloaded" | "service_unavailable" => Some(503),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_classified() {
        let e = |c: &str, m: &str| error_from_parts(Some(&Value::from(c)), Some(&Value::from(m))).kind;
        assert_eq!(e("context_length_exceeded", "Your input exceeds the context window"), ErrorKind::ContextOverflow);
        assert_eq!(e("rate_limit_exceeded", "slow down"), ErrorKind::RateLimited);
        assert_eq!(e("server_error", "oops"), ErrorKind::Server);
        assert_eq!(e("invalid_prompt", "refused"), ErrorKind::BadRequest);
        assert_eq!(e("new_code", "maximum context length is 10"), ErrorKind::ContextOverflow);
        assert_eq!(error_from_parts(None, None).message, "the provider reported an error");
        let status = |c: &str| error_from_parts(Some(&Value::from(c)), None).status;
        assert_eq!(status("server_error"), Some(500));
        assert_eq!(status("rate_limit_exceeded"), Some(429));
        assert_eq!(status("server_is_overloaded"), Some(503));
        assert_eq!(status("context_length_exceeded"), None);
        assert_eq!(error_from_parts(Some(&Value::from(503)), None).kind, ErrorKind::Server);
    }

    #[test]
    fn summary_parts_join_with_a_paragraph_break() {
        let parts = vec![serde_json::json!({"type": "summary_text", "text": "a"}), serde_json::json!({"text": "b"})];
        assert_eq!(joined(Some(&parts), &["text"], PART_BREAK), "a\n\nb");
        assert_eq!(joined(None, &["text"], PART_BREAK), "");
    }
}
