//! Decoding `streamGenerateContent?alt=sse`: every event is a whole `GenerateContentResponse`
//! chunk. Text and thought parts arrive in pieces and are appended to the open block of
//! their kind; a function call arrives whole in one part. There is no end marker: the body
//! ends after the chunk carrying `finishReason` (with the final `usageMetadata`).

use serde::Deserialize;
use serde_json::Value;

use super::wire::GENERATED_ID_PREFIX;
use crate::assembler::MessageAssembler;
use crate::error::{google_error, ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::message::StopReason;
use crate::providers::lenient::{lenient, lenient_count, lenient_object};
use crate::providers::openai_shared::excerpt;
use crate::providers::{Decoder, Progress};
use crate::sse::SseEvent;
use crate::usage::TokenCounts;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    #[serde(default, deserialize_with = "lenient")]
    candidates: Option<Vec<Candidate>>,
    #[serde(default, deserialize_with = "lenient_object")]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default, deserialize_with = "lenient_object")]
    prompt_feedback: Option<PromptFeedback>,
    #[serde(default, deserialize_with = "lenient")]
    response_id: Option<String>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default, deserialize_with = "lenient_object")]
    content: Option<CandidateContent>,
    #[serde(default, deserialize_with = "lenient")]
    finish_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    finish_message: Option<String>,
}

#[derive(Deserialize)]
struct CandidateContent {
    #[serde(default, deserialize_with = "lenient")]
    parts: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePart {
    #[serde(default, deserialize_with = "lenient")]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    thought: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    thought_signature: Option<String>,
    #[serde(default, deserialize_with = "lenient_object")]
    function_call: Option<WireCall>,
}

#[derive(Deserialize)]
struct WireCall {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(default)]
    args: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    /// Includes the cached tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    prompt_token_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    cached_content_token_count: Option<u64>,
    /// The answer, without the thoughts.
    #[serde(default, deserialize_with = "lenient_count")]
    candidates_token_count: Option<u64>,
    /// Billed as output.
    #[serde(default, deserialize_with = "lenient_count")]
    thoughts_token_count: Option<u64>,
    /// Prompt tokens of tool results the server fetched itself (grounding); billed as input.
    #[serde(default, deserialize_with = "lenient_count")]
    tool_use_prompt_token_count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default, deserialize_with = "lenient")]
    block_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    block_reason_message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
}

/// The block that text or thought pieces are appended to.
#[derive(Debug, Clone, Copy)]
struct Open {
    kind: Kind,
    block: usize,
    /// A signed block takes no more pieces of a signed part: each signature stays on the
    /// content it was issued with.
    signed: bool,
}

#[derive(Debug, Default)]
pub struct GeminiDecoder {
    open: Option<Open>,
    calls: usize,
    response_id: Option<String>,
    finish: Option<Result<StopReason, LlmError>>,
    counts: TokenCounts,
}

impl Decoder for GeminiDecoder {
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
        let value: Value = serde_json::from_str(data).map_err(|e| invalid(data, &e))?;
        // An error mid-stream comes as `{"error": {...}}`, possibly wrapped in an array.
        let value = match value {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        let chunk: Chunk = serde_json::from_value(value).map_err(|e| invalid(data, &e))?;
        if let Some(error) = chunk.error.as_ref().filter(|e| e.is_object()) {
            return Err(google_error(error));
        }
        if let Some(id) = chunk.response_id.as_deref() {
            asm.set_response_id(id);
            if self.response_id.is_none() && !id.is_empty() {
                self.response_id = Some(id.to_owned());
            }
        }
        if let Some(usage) = &chunk.usage_metadata {
            self.take_usage(usage);
        }
        if let Some(reason) = chunk.prompt_feedback.as_ref().and_then(|f| f.block_reason.as_deref()) {
            let detail = chunk.prompt_feedback.as_ref().and_then(|f| f.block_reason_message.as_deref());
            let mut message = format!("Gemini blocked the prompt ({reason})");
            if let Some(d) = detail.filter(|d| !d.is_empty()) {
                message.push_str(": ");
                message.push_str(d);
            }
            return Err(LlmError::new(ErrorKind::BadRequest, message));
        }
        let Some(candidate) = chunk.candidates.as_ref().and_then(|c| c.first()) else {
            return Ok(Progress::More);
        };
        for part in candidate.content.as_ref().and_then(|c| c.parts.as_deref()).unwrap_or_default() {
            // A part of a shape this decoder does not know (code execution, inline images
            // out) carries nothing it shows; it is skipped rather than failing the stream.
            if let Ok(part) = WirePart::deserialize(part) {
                self.on_part(part, asm, out);
            }
        }
        if let Some(reason) = candidate.finish_reason.as_deref() {
            self.finish = Some(finish(reason, candidate.finish_message.as_deref()));
        }
        Ok(Progress::More)
    }

    fn end(&mut self) -> Result<StopReason, LlmError> {
        match self.finish.take() {
            Some(Ok(StopReason::Stop)) if self.calls > 0 => Ok(StopReason::ToolUse),
            Some(result) => result,
            None => Err(LlmError::truncated("a chunk with finishReason")),
        }
    }

    fn counts(&self) -> TokenCounts {
        self.counts
    }
}

impl GeminiDecoder {
    fn take_usage(&mut self, u: &UsageMetadata) {
        let prompt = u.prompt_token_count.unwrap_or(0).saturating_add(u.tool_use_prompt_token_count.unwrap_or(0));
        let output = u.candidates_token_count.unwrap_or(0).saturating_add(u.thoughts_token_count.unwrap_or(0));
        // Each chunk reports the totals so far; the last one wins.
        self.counts = TokenCounts::from_inclusive_prompt(prompt, u.cached_content_token_count.unwrap_or(0), 0, output);
    }

    fn close_open(&mut self, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        if let Some(open) = self.open.take() {
            asm.close(open.block, out);
        }
    }

    /// An empty thinking block holding the signature of the part that follows it.
    fn carrier(asm: &mut MessageAssembler, signature: &str, out: &mut Vec<StreamEvent>) {
        let block = asm.open_thinking(out);
        asm.push_signature(block, signature);
        asm.close(block, out);
    }

    fn on_part(&mut self, part: WirePart, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        let signature = part.thought_signature.filter(|s| !s.is_empty());
        if let Some(call) = part.function_call {
            self.close_open(asm, out);
            if let Some(s) = signature.as_deref() {
                Self::carrier(asm, s, out);
            }
            let id = match call.id.filter(|i| !i.is_empty()) {
                Some(id) => id,
                // Gemini rarely names its calls; ids only need to be unique within the
                // session, and the response id makes them so while keeping a replayed body
                // decoding to the same events.
                None => format!("{GENERATED_ID_PREFIX}{}-{}", self.response_id.as_deref().unwrap_or("0"), self.calls),
            };
            self.calls += 1;
            let block = asm.open_tool_call(&id, call.name.as_deref().unwrap_or(""), out);
            let args = match call.args {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(v) => v.to_string(),
            };
            asm.push_tool_args(block, &args, out);
            asm.close(block, out);
            return;
        }
        let Some(text) = part.text else {
            // A signature with no content of its own still belongs to the answer.
            if let Some(s) = signature.as_deref() {
                self.close_open(asm, out);
                Self::carrier(asm, s, out);
                let block = asm.open_text(out);
                self.open = Some(Open { kind: Kind::Text, block, signed: true });
            }
            return;
        };
        let kind = if part.thought == Some(true) { Kind::Thinking } else { Kind::Text };
        // A signed thought is complete: what follows is another thought. Text after a signed
        // text part continues it (the signature covers the answer it opened).
        let reuse =
            self.open.filter(|o| o.kind == kind && !(o.signed && (kind == Kind::Thinking || signature.is_some())));
        let open = match (reuse, kind) {
            (Some(open), _) => open,
            (None, Kind::Thinking) => {
                self.close_open(asm, out);
                Open { kind, block: asm.open_thinking(out), signed: false }
            }
            (None, Kind::Text) => {
                self.close_open(asm, out);
                if let Some(s) = signature.as_deref() {
                    Self::carrier(asm, s, out);
                }
                Open { kind, block: asm.open_text(out), signed: signature.is_some() }
            }
        };
        // A signed text part that continues an open text block starts its own block, so the
        // signature goes back on the text it came with.
        let open = if kind == Kind::Text && signature.is_some() && !open.signed {
            self.close_open(asm, out);
            if let Some(s) = signature.as_deref() {
                Self::carrier(asm, s, out);
            }
            Open { kind, block: asm.open_text(out), signed: true }
        } else {
            open
        };
        match kind {
            Kind::Text => asm.push_text(open.block, &text, out),
            Kind::Thinking => {
                asm.push_thinking(open.block, &text, out);
                if let Some(s) = signature.as_deref() {
                    asm.push_signature(open.block, s);
                }
            }
        }
        let signed = open.signed || (kind == Kind::Thinking && signature.is_some());
        self.open = Some(Open { signed, ..open });
    }
}

/// A candidate's `finishReason` → how the message ends.
fn finish(reason: &str, message: Option<&str>) -> Result<StopReason, LlmError> {
    let detail = |what: &str| match message.filter(|m| !m.is_empty()) {
        Some(m) => format!("{what} ({reason}): {m}"),
        None => format!("{what} ({reason})"),
    };
    match reason {
        "STOP" | "FINISH_REASON_UNSPECIFIED" => Ok(StopReason::Stop),
        "MAX_TOKENS" => Ok(StopReason::Length),
        "SAFETY"
        | "RECITATION"
        | "PROHIBITED_CONTENT"
        | "BLOCKLIST"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => Ok(StopReason::ContentFilter),
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => {
            Err(LlmError::new(ErrorKind::InvalidResponse, detail("the model produced an unusable function call")))
        }
        _ => Err(LlmError::new(ErrorKind::Server, detail("the model stopped without finishing"))),
    }
}

fn invalid(data: &str, e: &serde_json::Error) -> LlmError {
    LlmError::new(
        ErrorKind::InvalidResponse,
        format!("a stream event is not a Gemini response chunk ({e}): {}", excerpt(data, 200)),
    )
}
