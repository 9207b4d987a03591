//! Placeholder: being written.

use crate::assembler::MessageAssembler;
use crate::error::{ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::message::{Context, StopReason};
use crate::model::{Model, StreamOptions};
use crate::providers::{Decoder, HttpRequest, Progress};
use crate::sse::SseEvent;
use crate::usage::TokenCounts;

pub fn build_request(_model: &Model, _context: &Context, _options: &StreamOptions) -> Result<HttpRequest, LlmError> {
    Err(LlmError::new(ErrorKind::BadRequest, "not implemented yet"))
}

#[derive(Debug, Default)]
pub struct MessagesDecoder;

impl Decoder for MessagesDecoder {
    fn on_event(&mut self, _e: &SseEvent, _a: &mut MessageAssembler, _o: &mut Vec<StreamEvent>) -> Result<Progress, LlmError> {
        Ok(Progress::More)
    }
    fn end(&mut self) -> Result<StopReason, LlmError> {
        Err(crate::pipeline::truncated("a finish reason"))
    }
    fn counts(&self) -> TokenCounts {
        TokenCounts::default()
    }
}
