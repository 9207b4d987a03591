//! Anthropic stream events → assembler calls.
//!
//! The event kind is read from the `type` field of the data, not the `event:` line, which
//! some gateways leave out. Parsing is lenient where leniency cannot lose content: a
//! missing or odd usage field, an unknown event, block or delta type is ignored; data that
//! is not JSON at all fails the stream, since silently skipping it could drop text.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::assembler::MessageAssembler;
use crate::error::{classify_stream_error, ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::message::StopReason;
use crate::providers::lenient::lenient_count;
use crate::providers::{Decoder, Progress};
use crate::sse::SseEvent;
use crate::usage::TokenCounts;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        #[serde(default)]
        message: StartMessage,
    },
    ContentBlockStart {
        #[serde(default)]
        index: u64,
        #[serde(default)]
        content_block: StartBlock,
    },
    ContentBlockDelta {
        #[serde(default)]
        index: u64,
        #[serde(default)]
        delta: Delta,
    },
    ContentBlockStop {
        #[serde(default)]
        index: u64,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop,
    Error {
        #[serde(default)]
        error: WireError,
    },
    /// `ping` and whatever Anthropic adds later.
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default, deserialize_with = "lenient_count")]
    input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    output_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    cache_read_input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    cache_creation_input_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        #[serde(default)]
        data: String,
    },
    ToolUse {
        #[serde(default)]
        id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Server tools and their results, which this client does not request.
    #[default]
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
#[serde(tag = "type")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text {
        #[serde(default)]
        text: String,
    },
    #[serde(rename = "thinking_delta")]
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    #[serde(rename = "signature_delta")]
    Signature {
        #[serde(default)]
        signature: String,
    },
    #[serde(rename = "input_json_delta")]
    InputJson {
        #[serde(default)]
        partial_json: String,
    },
    #[default]
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireError {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

/// An error event without the `type` tag (some gateways send only `event: error`).
#[derive(Debug, Default, Deserialize)]
struct BareError {
    #[serde(default)]
    error: Option<WireError>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    /// Arrives whole; a delta aimed at it must not change the encrypted payload.
    Redacted,
    ToolUse,
}

/// What the decoder keeps about one Anthropic block `index`.
#[derive(Debug)]
struct WireBlock {
    /// The assembler's content index.
    index: usize,
    kind: Kind,
    open: bool,
    /// A whole `input` given in `content_block_start` (Anthropic sends `{}` and streams the
    /// arguments; some gateways send them here), used if no `input_json_delta` follows.
    initial_input: Option<String>,
    streamed_input: bool,
}

#[derive(Debug, Default)]
pub struct MessagesDecoder {
    blocks: HashMap<u64, WireBlock>,
    counts: TokenCounts,
    stop_reason: Option<StopReason>,
    message_stop: bool,
    saw_tool_use: bool,
}

impl Decoder for MessagesDecoder {
    fn on_event(
        &mut self,
        event: &SseEvent,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Progress, LlmError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Progress::More);
        }
        let parsed = match serde_json::from_str::<Event>(data) {
            Ok(parsed) => parsed,
            Err(_) if event.event.as_deref() == Some("error") => return Err(bare_error(data)),
            Err(e) => return Err(invalid(data, &e)),
        };
        match parsed {
            Event::MessageStart { message } => {
                if let Some(id) = message.id.as_deref() {
                    asm.set_response_id(id);
                }
                if let Some(usage) = &message.usage {
                    self.take_usage(usage);
                }
            }
            Event::ContentBlockStart { index, content_block } => self.start_block(index, content_block, asm, out),
            Event::ContentBlockDelta { index, delta } => self.delta(index, delta, asm, out),
            Event::ContentBlockStop { index } => self.stop_block(index, asm, out),
            Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason.as_deref() {
                    self.stop_reason = Some(map_stop_reason(reason));
                }
                if let Some(usage) = &usage {
                    self.take_usage(usage);
                }
            }
            Event::MessageStop => {
                self.message_stop = true;
                return Ok(Progress::Complete);
            }
            Event::Error { error } => return Err(stream_error(&error.kind, &error.message)),
            Event::Other => {}
        }
        Ok(Progress::More)
    }

    /// A stream counts as finished once `message_delta` gave its stop reason: Anthropic
    /// sends it after every block has stopped, with the final usage, and `message_stop`
    /// after it carries nothing, so a connection lost between the two loses nothing.
    /// A `message_stop` without a stop reason (some gateways) is accepted as well.
    fn end(&mut self) -> Result<StopReason, LlmError> {
        match self.stop_reason {
            Some(stop) => Ok(stop),
            None if self.message_stop => Ok(if self.saw_tool_use { StopReason::ToolUse } else { StopReason::Stop }),
            None => Err(LlmError::truncated("message_stop")),
        }
    }

    fn counts(&self) -> TokenCounts {
        self.counts
    }
}

impl MessagesDecoder {
    /// Counts are cumulative, so the latest figure for each field wins.
    fn take_usage(&mut self, usage: &WireUsage) {
        let c = &mut self.counts;
        c.input = usage.input_tokens.unwrap_or(c.input);
        c.output = usage.output_tokens.unwrap_or(c.output);
        c.cache_read = usage.cache_read_input_tokens.unwrap_or(c.cache_read);
        c.cache_write = usage.cache_creation_input_tokens.unwrap_or(c.cache_write);
    }

    fn start_block(&mut self, wire: u64, block: StartBlock, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        let (index, kind, initial_input) = match block {
            StartBlock::Text { text } => {
                let index = asm.open_text(out);
                asm.push_text(index, &text, out);
                (index, Kind::Text, None)
            }
            StartBlock::Thinking { thinking, signature } => {
                let index = asm.open_thinking(out);
                asm.push_thinking(index, &thinking, out);
                if !signature.is_empty() {
                    asm.push_signature(index, &signature);
                }
                (index, Kind::Thinking, None)
            }
            StartBlock::RedactedThinking { data } => (asm.add_redacted_thinking(&data, out), Kind::Redacted, None),
            StartBlock::ToolUse { id, name, input } => {
                self.saw_tool_use = true;
                let initial = match &input {
                    Value::Object(map) if !map.is_empty() => Some(input.to_string()),
                    _ => None,
                };
                (asm.open_tool_call(&id, &name, out), Kind::ToolUse, initial)
            }
            StartBlock::Other => return,
        };
        let block = WireBlock { index, kind, open: true, initial_input, streamed_input: false };
        self.blocks.insert(wire, block);
    }

    fn delta(&mut self, wire: u64, delta: Delta, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        // A delta with no `content_block_start` before it (seen from some gateways) opens
        // the block it implies; one for a stopped block is a protocol error and dropped.
        let open_kind = match &delta {
            Delta::Text { .. } => Some(Kind::Text),
            Delta::Thinking { .. } => Some(Kind::Thinking),
            _ => None,
        };
        if let (Some(kind), false) = (open_kind, self.blocks.contains_key(&wire)) {
            let index = if kind == Kind::Text { asm.open_text(out) } else { asm.open_thinking(out) };
            self.blocks.insert(wire, WireBlock { index, kind, open: true, initial_input: None, streamed_input: false });
        }
        let Some(block) = self.blocks.get_mut(&wire).filter(|b| b.open) else { return };
        // A delta of the wrong kind for its block is dropped rather than mixed in.
        match (block.kind, delta) {
            (Kind::Text, Delta::Text { text }) => asm.push_text(block.index, &text, out),
            (Kind::Thinking, Delta::Thinking { thinking }) => asm.push_thinking(block.index, &thinking, out),
            (Kind::Thinking, Delta::Signature { signature }) => asm.push_signature(block.index, &signature),
            (Kind::ToolUse, Delta::InputJson { partial_json }) if !partial_json.is_empty() => {
                block.streamed_input = true;
                asm.push_tool_args(block.index, &partial_json, out);
            }
            _ => {}
        }
    }

    fn stop_block(&mut self, wire: u64, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        let Some(block) = self.blocks.get_mut(&wire).filter(|b| b.open) else { return };
        block.open = false;
        if let (Some(input), false) = (block.initial_input.take(), block.streamed_input) {
            asm.push_tool_args(block.index, &input, out);
        }
        asm.close(block.index, out);
    }
}

fn map_stop_reason(reason: &str) -> StopReason {
    match reason {
        "max_tokens" | "model_context_window_exceeded" => StopReason::Length,
        "tool_use" => StopReason::ToolUse,
        "refusal" => StopReason::ContentFilter,
        // end_turn, stop_sequence, pause_turn (a server tool paused the turn; the answer
        // so far is complete) and reasons Anthropic adds later.
        _ => StopReason::Stop,
    }
}

/// Classify an `error` event by Anthropic's error type, falling back to its message.
fn stream_error(kind: &str, message: &str) -> LlmError {
    let by_text = classify_stream_error(message);
    let class = match kind {
        "overloaded_error" | "api_error" => ErrorKind::Server,
        "rate_limit_error" => ErrorKind::RateLimited,
        "authentication_error" | "permission_error" => ErrorKind::Auth,
        "request_too_large" => ErrorKind::ContextOverflow,
        "invalid_request_error" | "not_found_error" if by_text == ErrorKind::ContextOverflow => by_text,
        "invalid_request_error" | "not_found_error" => ErrorKind::BadRequest,
        _ => by_text,
    };
    let text = match (kind.is_empty(), message.is_empty()) {
        (true, true) => "the server reported an error".to_owned(),
        (true, false) => message.to_owned(),
        (false, true) => kind.to_owned(),
        (false, false) => format!("{kind}: {message}"),
    };
    // The HTTP status Anthropic documents for each error type, so an error event is
    // retried exactly as the same error sent as a status would be.
    let status = match kind {
        "overloaded_error" => Some(529),
        "rate_limit_error" => Some(429),
        "api_error" => Some(500),
        "timeout_error" => Some(504),
        _ => None,
    };
    LlmError { status, ..LlmError::new(class, text) }
}

fn bare_error(data: &str) -> LlmError {
    match serde_json::from_str::<BareError>(data) {
        Ok(BareError { error: Some(e), .. }) => stream_error(&e.kind, &e.message),
        Ok(BareError { message: Some(m), .. }) => stream_error("", &m),
        _ => stream_error("", snippet(data)),
    }
}

fn invalid(data: &str, e: &serde_json::Error) -> LlmError {
    LlmError::new(ErrorKind::InvalidResponse, format!("unreadable stream event ({e}): {}", snippet(data)))
}

fn snippet(s: &str) -> &str {
    let mut end = s.len().min(200);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
