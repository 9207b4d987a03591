//! Converse stream events → assembler calls.
//!
//! The pipeline hands each event-stream frame over as an event named by its `:event-type`
//! (`exception:{type}` and `error:{code}` for failures) with the JSON payload as data.
//! Bedrock sends `metadata` (usage) after `messageStop`, so the stream is complete at
//! `metadata`; a body that ends between the two still finishes, with what usage it had.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::assembler::MessageAssembler;
use crate::error::{ErrorKind, LlmError, OVERFLOW_PATTERNS};
use crate::events::StreamEvent;
use crate::message::StopReason;
use crate::providers::lenient::{lenient_count, lenient_object};
use crate::providers::{Decoder, Progress};
use crate::sse::SseEvent;
use crate::usage::TokenCounts;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    #[serde(default)]
    content_block_index: u64,
    #[serde(default, deserialize_with = "lenient_object")]
    start: Option<StartBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    #[serde(default, deserialize_with = "lenient_object")]
    tool_use: Option<StartToolUse>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartToolUse {
    #[serde(default)]
    tool_use_id: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    #[serde(default)]
    content_block_index: u64,
    #[serde(default, deserialize_with = "lenient_object")]
    delta: Option<DeltaBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaBody {
    #[serde(default)]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient_object")]
    tool_use: Option<ToolUseDelta>,
    #[serde(default, deserialize_with = "lenient_object")]
    reasoning_content: Option<ReasoningDelta>,
}

#[derive(Debug, Default, Deserialize)]
struct ToolUseDelta {
    #[serde(default)]
    input: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningDelta {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    redacted_content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStop {
    #[serde(default)]
    content_block_index: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default, deserialize_with = "lenient_object")]
    usage: Option<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default, deserialize_with = "lenient_count")]
    input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    output_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    cache_read_input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    cache_write_input_tokens: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    /// Arrives whole; nothing else may be added to it.
    Redacted,
    ToolUse,
}

#[derive(Debug)]
struct WireBlock {
    index: usize,
    kind: Kind,
    open: bool,
}

#[derive(Debug, Default)]
pub struct ConverseDecoder {
    blocks: HashMap<u64, WireBlock>,
    counts: TokenCounts,
    stop_reason: Option<StopReason>,
}

impl Decoder for ConverseDecoder {
    fn on_event(
        &mut self,
        event: &SseEvent,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Progress, LlmError> {
        let name = event.event.as_deref().unwrap_or_default();
        if let Some(kind) = name.strip_prefix("exception:") {
            return Err(exception(kind, &event.data));
        }
        if let Some(code) = name.strip_prefix("error:") {
            let text = if event.data.is_empty() { code.to_owned() } else { format!("{code}: {}", event.data) };
            return Err(LlmError::new(ErrorKind::Server, text));
        }
        match name {
            "contentBlockStart" => {
                let start: BlockStart = parse(&event.data)?;
                if let Some(tool) = start.start.and_then(|s| s.tool_use) {
                    let index = asm.open_tool_call(&tool.tool_use_id, &tool.name, out);
                    let block = WireBlock { index, kind: Kind::ToolUse, open: true };
                    self.blocks.insert(start.content_block_index, block);
                }
            }
            "contentBlockDelta" => {
                let delta: BlockDelta = parse(&event.data)?;
                if let Some(body) = delta.delta {
                    self.delta(delta.content_block_index, body, asm, out);
                }
            }
            "contentBlockStop" => {
                let stop: BlockStop = parse(&event.data)?;
                if let Some(block) = self.blocks.get_mut(&stop.content_block_index).filter(|b| b.open) {
                    block.open = false;
                    asm.close(block.index, out);
                }
            }
            "messageStop" => {
                let stop: MessageStop = parse(&event.data)?;
                self.stop_reason = Some(map_stop_reason(stop.stop_reason.as_deref().unwrap_or_default()));
            }
            "metadata" => {
                let meta: Metadata = parse(&event.data)?;
                if let Some(usage) = meta.usage {
                    self.take_usage(&usage);
                }
                if self.stop_reason.is_some() {
                    return Ok(Progress::Complete);
                }
            }
            // `messageStart` (the role only) and whatever Bedrock adds later.
            _ => {}
        }
        Ok(Progress::More)
    }

    fn end(&mut self) -> Result<StopReason, LlmError> {
        self.stop_reason.ok_or_else(|| LlmError::truncated("messageStop"))
    }

    fn counts(&self) -> TokenCounts {
        self.counts
    }
}

impl ConverseDecoder {
    /// Bedrock's `inputTokens` already excludes cache reads and writes (its `totalTokens`
    /// is the sum of all four), so the counts are taken as they come.
    fn take_usage(&mut self, usage: &WireUsage) {
        let c = &mut self.counts;
        c.input = usage.input_tokens.unwrap_or(c.input);
        c.output = usage.output_tokens.unwrap_or(c.output);
        c.cache_read = usage.cache_read_input_tokens.unwrap_or(c.cache_read);
        c.cache_write = usage.cache_write_input_tokens.unwrap_or(c.cache_write);
    }

    /// Text and reasoning blocks have no start event: their first delta opens them. A delta
    /// of the wrong kind for its block is dropped rather than mixed in.
    fn delta(&mut self, wire: u64, body: DeltaBody, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        let reasoning = body.reasoning_content.unwrap_or_default();
        if let Some(data) = reasoning.redacted_content.as_deref() {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.blocks.entry(wire) {
                let index = asm.add_redacted_thinking(data, out);
                slot.insert(WireBlock { index, kind: Kind::Redacted, open: true });
            }
            return;
        }
        let implied = if body.text.is_some() {
            Some(Kind::Text)
        } else if reasoning.text.is_some() || reasoning.signature.is_some() {
            Some(Kind::Thinking)
        } else {
            None
        };
        if let (Some(kind), false) = (implied, self.blocks.contains_key(&wire)) {
            let index = if kind == Kind::Text { asm.open_text(out) } else { asm.open_thinking(out) };
            self.blocks.insert(wire, WireBlock { index, kind, open: true });
        }
        let Some(block) = self.blocks.get(&wire).filter(|b| b.open) else { return };
        match block.kind {
            Kind::Text => asm.push_text(block.index, body.text.as_deref().unwrap_or_default(), out),
            Kind::Thinking => {
                asm.push_thinking(block.index, reasoning.text.as_deref().unwrap_or_default(), out);
                if let Some(signature) = reasoning.signature.as_deref().filter(|s| !s.is_empty()) {
                    asm.push_signature(block.index, signature);
                }
            }
            Kind::ToolUse => {
                if let Some(input) = body.tool_use.and_then(|t| t.input) {
                    asm.push_tool_args(block.index, &input, out);
                }
            }
            Kind::Redacted => {}
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(data: &str) -> Result<T, LlmError> {
    serde_json::from_str(data).map_err(|e| {
        LlmError::new(ErrorKind::InvalidResponse, format!("unreadable stream event ({e}): {}", snippet(data)))
    })
}

fn map_stop_reason(reason: &str) -> StopReason {
    match reason {
        "max_tokens" | "model_context_window_exceeded" => StopReason::Length,
        "tool_use" => StopReason::ToolUse,
        "guardrail_intervened" | "content_filtered" => StopReason::ContentFilter,
        // end_turn, stop_sequence and reasons Bedrock adds later.
        _ => StopReason::Stop,
    }
}

/// An exception frame, classified by its type, with the HTTP status Bedrock documents for
/// it so it is retried (before any content) exactly as that status would be.
fn exception(kind: &str, data: &str) -> LlmError {
    let message = serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|v| v.get("message").or_else(|| v.get("Message")).and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| snippet(data).to_owned());
    let lower = message.to_ascii_lowercase();
    let overflow = lower.contains("too long") || OVERFLOW_PATTERNS.iter().any(|p| lower.contains(p));
    let (class, status) = match kind {
        "throttlingException" => (ErrorKind::RateLimited, Some(429)),
        "validationException" if overflow => (ErrorKind::ContextOverflow, Some(400)),
        "validationException" => (ErrorKind::BadRequest, Some(400)),
        "accessDeniedException" => (ErrorKind::Auth, Some(403)),
        "modelTimeoutException" => (ErrorKind::Timeout, Some(408)),
        "internalServerException" => (ErrorKind::Server, Some(500)),
        "serviceUnavailableException" => (ErrorKind::Server, Some(503)),
        // The model itself failed mid-answer (Bedrock's 424): not a transient server fault.
        "modelStreamErrorException" => (ErrorKind::Server, None),
        _ => (ErrorKind::Server, None),
    };
    let text = if message.is_empty() { kind.to_owned() } else { format!("{kind}: {message}") };
    LlmError { status, ..LlmError::new(class, text) }
}

fn snippet(s: &str) -> &str {
    let mut end = s.len().min(200);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
