//! One module per wire API behind a small dispatch: each builds its HTTP request and
//! decodes its SSE events into calls on the shared [`MessageAssembler`].

pub mod anthropic;
pub mod bedrock_converse;
mod body;
pub mod credentials;
pub mod google_gemini;
pub mod images;
mod lenient;
pub mod openai_chat;
pub mod openai_responses;
mod openai_shared;

use crate::assembler::MessageAssembler;
use crate::error::LlmError;
use crate::events::StreamEvent;
use crate::message::{Context, StopReason};
use crate::model::{Api, Model, StreamOptions};
use crate::sse::SseEvent;
use crate::usage::TokenCounts;

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What the decoder learned from one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    More,
    /// The protocol's end marker arrived (`[DONE]`, `message_stop`); stop reading.
    Complete,
}

/// Decodes one response's SSE events. Decoders keep only wire-level state (which wire
/// index maps to which content block, usage so far, the finish reason).
pub trait Decoder: Send {
    /// Handle one event. An `Err` is a provider error reported inside the stream.
    fn on_event(
        &mut self,
        event: &SseEvent,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Progress, LlmError>;

    /// The body ended (after `Complete` or at EOF): the stop reason if the stream finished
    /// as the protocol requires, else the error saying what is missing.
    fn end(&mut self) -> Result<StopReason, LlmError>;

    /// Token counts seen so far (kept on a failed message too).
    fn counts(&self) -> TokenCounts;
}

/// Build the HTTP request for `model`'s wire API.
pub fn build_request(model: &Model, context: &Context, options: &StreamOptions) -> Result<HttpRequest, LlmError> {
    let context = &*images::for_model(model, context);
    match model.api {
        Api::OpenAiChat => openai_chat::build_request(model, context, options),
        Api::AnthropicMessages => anthropic::build_request(model, context, options),
        Api::OpenAiResponses => openai_responses::build_request(model, context, options),
        Api::GoogleGemini | Api::GoogleVertex => google_gemini::build_request(model, context, options),
        Api::GoogleVertexAnthropic => anthropic::build_request(model, context, options),
        Api::BedrockConverse => bedrock_converse::build_request(model, context, options),
    }
}

#[must_use]
pub fn decoder(model: &Model) -> Box<dyn Decoder> {
    match model.api {
        Api::OpenAiChat => Box::new(openai_chat::ChatDecoder::default()),
        Api::AnthropicMessages | Api::GoogleVertexAnthropic => Box::new(anthropic::MessagesDecoder::default()),
        Api::OpenAiResponses => Box::new(openai_responses::ResponsesDecoder::default()),
        Api::GoogleGemini | Api::GoogleVertex => Box::new(google_gemini::GeminiDecoder::default()),
        Api::BedrockConverse => Box::new(bedrock_converse::ConverseDecoder::default()),
    }
}

/// Join a base URL and a path without doubling or dropping the slash.
#[must_use]
pub fn join_url(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}
