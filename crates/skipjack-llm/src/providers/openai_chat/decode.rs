//! Decoding the stream: every variant seen in the wild, without letting an odd field drop content.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::assembler::MessageAssembler;
use crate::error::{classify_stream_error, ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::message::StopReason;
use crate::providers::lenient::{lenient, lenient_count, lenient_object};
use crate::providers::openai_shared::excerpt;
use crate::providers::{Decoder, Progress};
use crate::sse::SseEvent;
use crate::usage::TokenCounts;

use super::reasoning_details::DetailsAccumulator;
// ---------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------

/// One `data:` payload. Unknown fields (`system_fingerprint`, llama.cpp `timings`,
/// `obfuscation`, `provider`, ...) are ignored by serde's default.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default, deserialize_with = "lenient_object")]
    usage: Option<WireUsage>,
    /// Groq reported usage only here before it supported `stream_options`.
    #[serde(default, deserialize_with = "lenient_object")]
    x_groq: Option<XGroq>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct XGroq {
    #[serde(default, deserialize_with = "lenient_object")]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default, deserialize_with = "lenient_count")]
    index: Option<u64>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
    /// Moonshot reports usage inside the choice.
    #[serde(default, deserialize_with = "lenient_object")]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    /// OpenAI's refusal channel: shown as text, since it is the model's answer.
    #[serde(default, deserialize_with = "lenient")]
    refusal: Option<String>,
    /// DeepSeek, vLLM, llama.cpp.
    #[serde(default, deserialize_with = "lenient")]
    reasoning_content: Option<String>,
    /// OpenRouter, Ollama.
    #[serde(default, deserialize_with = "lenient")]
    reasoning: Option<String>,
    /// OpenRouter's structured form; it repeats `reasoning` when both are present.
    #[serde(default, deserialize_with = "lenient")]
    reasoning_details: Option<Vec<Value>>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default, deserialize_with = "lenient_count")]
    index: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    /// Text fragments normally; a few servers send the whole object at once.
    #[serde(default)]
    arguments: Option<Value>,
}

/// Every field optional and type-tolerant: a usage object never makes a chunk unreadable.
#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default, deserialize_with = "lenient_count")]
    prompt_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    completion_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_object")]
    prompt_tokens_details: Option<PromptDetails>,
    /// OpenRouter, top-level form.
    #[serde(default, deserialize_with = "lenient_count")]
    cache_write_tokens: Option<u64>,
    /// Moonshot.
    #[serde(default, deserialize_with = "lenient_count")]
    cached_tokens: Option<u64>,
    /// DeepSeek: `prompt_tokens` = hit + miss.
    #[serde(default, deserialize_with = "lenient_count")]
    prompt_cache_hit_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    prompt_cache_miss_tokens: Option<u64>,
    /// OpenRouter's charge in USD.
    #[serde(default, deserialize_with = "lenient_number")]
    cost: Option<f64>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default, deserialize_with = "lenient_count")]
    cached_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    cache_write_tokens: Option<u64>,
}

fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }))
}

/// Usage merged field by field over the stream (some servers repeat it, some split it).
#[derive(Debug, Default, Clone, Copy)]
struct UsageState {
    prompt: Option<u64>,
    completion: Option<u64>,
    cached: Option<u64>,
    cache_write: Option<u64>,
    hit: Option<u64>,
    miss: Option<u64>,
    cost: Option<f64>,
}

impl UsageState {
    fn merge(&mut self, u: &WireUsage) {
        let details = u.prompt_tokens_details.as_ref();
        let set = |slot: &mut Option<u64>, v: Option<u64>| {
            if v.is_some() {
                *slot = v;
            }
        };
        set(&mut self.prompt, u.prompt_tokens);
        set(&mut self.completion, u.completion_tokens);
        set(&mut self.cached, details.and_then(|d| d.cached_tokens).or(u.cached_tokens));
        set(&mut self.cache_write, details.and_then(|d| d.cache_write_tokens).or(u.cache_write_tokens));
        set(&mut self.hit, u.prompt_cache_hit_tokens);
        set(&mut self.miss, u.prompt_cache_miss_tokens);
        if u.cost.is_some() {
            self.cost = u.cost;
        }
    }

    fn counts(&self) -> TokenCounts {
        let prompt = self.prompt.unwrap_or_else(|| self.hit.unwrap_or(0).saturating_add(self.miss.unwrap_or(0)));
        // DeepSeek also mirrors the hit count into `cached_tokens`; either is the same figure.
        let cache_read = self.hit.or(self.cached).unwrap_or(0);
        let mut counts = TokenCounts::from_inclusive_prompt(
            prompt,
            cache_read,
            self.cache_write.unwrap_or(0),
            self.completion.unwrap_or(0),
        );
        counts.reported_cost = self.cost;
        counts
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Text,
    Thinking,
}

/// One streamed tool call: how the wire names it and which content block it fills.
#[derive(Debug)]
struct CallSlot {
    /// 0 when the server sends no index.
    wire_index: u64,
    wire_id: Option<String>,
    block: usize,
}

#[derive(Debug, Default)]
pub struct ChatDecoder {
    /// The open text or thinking block.
    stream_block: Option<(Channel, usize)>,
    calls: Vec<CallSlot>,
    finish: Option<StopReason>,
    done: bool,
    usage: UsageState,
    /// OpenRouter's structured reasoning, merged across fragments for replay.
    details: DetailsAccumulator,
    /// The thinking block the details are attached to (the message's first).
    details_block: Option<usize>,
}

impl Decoder for ChatDecoder {
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
        if data == "[DONE]" {
            self.done = true;
            self.name_anonymous_calls(asm);
            self.attach_details(asm, out);
            return Ok(Progress::Complete);
        }
        if event.event.as_deref() == Some("error") {
            let body = serde_json::from_str::<Value>(data).unwrap_or_else(|_| Value::String(data.to_owned()));
            return Err(stream_error(body.get("error").unwrap_or(&body)));
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
            LlmError::new(
                ErrorKind::InvalidResponse,
                format!("a stream chunk is not a valid chat completion chunk ({e}): {}", excerpt(data, 200)),
            )
        })?;
        if let Some(id) = chunk.id.as_deref() {
            asm.set_response_id(id);
        }
        let mut error: Option<LlmError> = None;
        for choice in chunk.choices.iter().flatten() {
            // Only one completion is requested; a server echoing others is ignored.
            if choice.index.is_some_and(|i| i != 0) {
                continue;
            }
            if let Some(delta) = &choice.delta {
                self.on_delta(delta, asm, out);
            }
            if let Some(u) = &choice.usage {
                self.usage.merge(u);
            }
            if let Some(reason) = choice.finish_reason.as_deref() {
                if reason == "error" {
                    let detail = chunk.error.as_ref().or(choice.error.as_ref());
                    error = Some(detail.map_or_else(
                        || {
                            LlmError::new(
                                ErrorKind::Server,
                                "the provider ended the response with finish_reason \"error\"",
                            )
                        },
                        stream_error,
                    ));
                } else {
                    self.finish = Some(map_finish_reason(reason));
                    self.name_anonymous_calls(asm);
                    self.attach_details(asm, out);
                }
            }
        }
        if let Some(u) = chunk.x_groq.as_ref().and_then(|x| x.usage.as_ref()) {
            self.usage.merge(u);
        }
        if let Some(u) = &chunk.usage {
            self.usage.merge(u);
        }
        if let Some(e) = chunk.error.as_ref().filter(|e| !e.is_null()) {
            return Err(stream_error(e));
        }
        match error {
            Some(e) => Err(e),
            None => Ok(Progress::More),
        }
    }

    fn end(&mut self) -> Result<StopReason, LlmError> {
        let reason = match self.finish {
            Some(reason) => reason,
            // Some servers end with `[DONE]` alone.
            None if self.done => StopReason::Stop,
            None => return Err(LlmError::truncated("a finish reason or [DONE]")),
        };
        // Some servers say `stop` after tool calls; the calls still want running.
        Ok(if reason == StopReason::Stop && !self.calls.is_empty() { StopReason::ToolUse } else { reason })
    }

    fn counts(&self) -> TokenCounts {
        self.usage.counts()
    }
}

impl ChatDecoder {
    fn on_delta(&mut self, delta: &Delta, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        // Reasoning sources are alternatives, not parts: OpenRouter sends the same text in
        // `reasoning` and `reasoning_details`, so the first non-empty one is used.
        let reasoning = [delta.reasoning_content.as_deref(), delta.reasoning.as_deref()]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty());
        for d in delta.reasoning_details.iter().flatten() {
            let added = self.details.merge(d);
            if !asm.charge(added) {
                break;
            }
        }
        if let Some(r) = reasoning {
            self.push(Channel::Thinking, r, asm, out);
        } else if let Some(details) = &delta.reasoning_details {
            for d in details {
                let piece = d.get("text").or_else(|| d.get("summary")).and_then(Value::as_str);
                if let Some(p) = piece {
                    self.push(Channel::Thinking, p, asm, out);
                }
            }
        }
        for text in [delta.content.as_deref(), delta.refusal.as_deref()].into_iter().flatten() {
            self.push(Channel::Text, text, asm, out);
        }
        for call in delta.tool_calls.iter().flatten() {
            self.on_tool_call(call, asm, out);
        }
    }

    fn push(&mut self, channel: Channel, delta: &str, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        if delta.is_empty() {
            return;
        }
        let index = match self.stream_block {
            Some((c, i)) if c == channel => i,
            other => {
                if let Some((_, i)) = other {
                    asm.close(i, out);
                }
                let i = match channel {
                    Channel::Text => asm.open_text(out),
                    Channel::Thinking => asm.open_thinking(out),
                };
                if channel == Channel::Thinking && self.details_block.is_none() {
                    self.details_block = Some(i);
                }
                self.stream_block = Some((channel, i));
                i
            }
        };
        match channel {
            Channel::Text => asm.push_text(index, delta, out),
            Channel::Thinking => asm.push_thinking(index, delta, out),
        }
    }

    fn on_tool_call(&mut self, call: &ToolCallDelta, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        let id = call.id.as_deref().filter(|s| !s.is_empty());
        let function = call.function.as_ref();
        let name = function.and_then(|f| f.name.as_deref()).filter(|s| !s.is_empty());
        let slot = match self.find_call(call.index, id) {
            Some(slot) => {
                // Servers that repeat id and name in every fragment: fill, never append.
                asm.complete_tool_call_identity(slot.block, id, name);
                if slot.wire_id.is_none() {
                    slot.wire_id = id.map(str::to_owned);
                }
                slot.block
            }
            None => {
                if let Some((_, i)) = self.stream_block.take() {
                    asm.close(i, out);
                }
                let block = asm.open_tool_call(id.unwrap_or(""), name.unwrap_or(""), out);
                self.calls.push(CallSlot {
                    wire_index: call.index.unwrap_or(0),
                    wire_id: id.map(str::to_owned),
                    block,
                });
                block
            }
        };
        match function.and_then(|f| f.arguments.as_ref()) {
            Some(Value::String(s)) => asm.push_tool_args(slot, s, out),
            Some(Value::Null) | None => {}
            Some(other) => asm.push_tool_args(slot, &other.to_string(), out),
        }
    }

    /// The call a fragment continues, or `None` for a new call. A known id wins; otherwise
    /// the wire index (0 when a server omits it) names the call, unless the fragment brings
    /// a different id: some servers give every call index 0. Searched from the newest, which
    /// is the match in every real stream, so the lookup stays O(1) in practice.
    fn find_call(&mut self, index: Option<u64>, id: Option<&str>) -> Option<&mut CallSlot> {
        let by_id = id.and_then(|id| self.calls.iter().rposition(|c| c.wire_id.as_deref() == Some(id)));
        let pos = by_id.or_else(|| {
            let index = index.unwrap_or(0);
            let p = self.calls.iter().rposition(|c| c.wire_index == index)?;
            let other_id = self.calls.get(p).is_some_and(|c| c.wire_id.is_some()) && id.is_some();
            (!other_id).then_some(p)
        });
        pos.and_then(|p| self.calls.get_mut(p))
    }

    /// A call that never got an id would be unanswerable: give it a stable one.
    /// Put the merged `reasoning_details` on the message's first thinking block (an empty
    /// one when the model sent only encrypted reasoning), replacing what an earlier call
    /// put there: details may still arrive with the finish reason or after it.
    fn attach_details(&mut self, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        if self.details.is_empty() || !self.details.dirty {
            return;
        }
        self.details.dirty = false;
        let index = match self.details_block {
            Some(i) => i,
            None => {
                let i = asm.open_thinking(out);
                asm.close(i, out);
                self.details_block = Some(i);
                i
            }
        };
        asm.set_charged_signature(index, self.details.signature());
    }

    fn name_anonymous_calls(&self, asm: &mut MessageAssembler) {
        for c in self.calls.iter().filter(|c| c.wire_id.is_none()) {
            asm.complete_tool_call_identity(c.block, Some(&format!("call_{}", c.block)), None);
        }
    }
}

fn map_finish_reason(reason: &str) -> StopReason {
    match reason {
        "length" | "max_tokens" => StopReason::Length,
        "tool_calls" | "function_call" | "tool_use" => StopReason::ToolUse,
        "content_filter" => StopReason::ContentFilter,
        // `stop`, `eos`, `end_turn` and anything new: the answer ended normally.
        _ => StopReason::Stop,
    }
}

/// An error object reported inside the stream: `{"message", "code", ...}` or a bare string.
fn stream_error(error: &Value) -> LlmError {
    let message = match error {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("message").and_then(Value::as_str).map_or_else(|| error.to_string(), str::to_owned),
        other => other.to_string(),
    };
    let code = error.get("code").filter(|c| !c.is_null()).map(|c| match c {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let status = code.as_deref().and_then(status_of_code).or_else(|| {
        let kind = error.get("type").and_then(Value::as_str);
        kind.and_then(status_of_code)
    });
    let text = match code {
        Some(code) => format!("{message} (code: {code})"),
        None => message,
    };
    let kind = match status {
        Some(429) => ErrorKind::RateLimited,
        Some(s) if s >= 500 => ErrorKind::Server,
        _ => classify_stream_error(&text),
    };
    LlmError { status, ..LlmError::new(kind, text) }
}

/// The HTTP status an in-stream error code stands for: a number (`429`, `"503"`), or the
/// names OpenAI-compatible servers and gateways use for rate limits and server faults.
fn status_of_code(code: &str) -> Option<u16> {
    if let Ok(n) = code.trim().parse::<u16>() {
        return (100..600).contains(&n).then_some(n);
    }
    match code.trim().to_ascii_lowercase().as_str() {
        "rate_limit_exceeded" | "rate_limit_error" | "too_many_requests" => Some(429),
        "server_error" | "internal_error" | "internal_server_error" | "api_error" => Some(500),
        "overloaded" | "overloaded_error" | "service_unavailable" | "server_overloaded" => Some(503),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::lenient::count_of;

    #[test]
    fn counts_accept_odd_shapes() {
        assert_eq!(count_of(&serde_json::json!(12)), Some(12));
        assert_eq!(count_of(&serde_json::json!(12.0)), Some(12));
        assert_eq!(count_of(&serde_json::json!("7")), Some(7));
        assert_eq!(count_of(&serde_json::json!(-1)), None);
        assert_eq!(count_of(&serde_json::json!(null)), None);
    }

    #[test]
    fn finish_reasons_map() {
        assert_eq!(map_finish_reason("stop"), StopReason::Stop);
        assert_eq!(map_finish_reason("length"), StopReason::Length);
        assert_eq!(map_finish_reason("tool_calls"), StopReason::ToolUse);
        assert_eq!(map_finish_reason("function_call"), StopReason::ToolUse);
        assert_eq!(map_finish_reason("content_filter"), StopReason::ContentFilter);
        assert_eq!(map_finish_reason("something_new"), StopReason::Stop);
    }
}
