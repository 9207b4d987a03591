//! Response body bytes → canonical events: the SSE framer, a wire decoder and the
//! assembler in one place, shared by the HTTP transport, fixture tests and fuzzers.

use crate::assembler::MessageAssembler;
use crate::error::{ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::model::Model;
use crate::providers::{self, Decoder, Progress};
use crate::sse::{SseEvent, SseParser};

pub struct BodyDecoder {
    sse: SseParser,
    decoder: Box<dyn Decoder>,
    /// `None` once a terminal event was emitted.
    asm: Option<MessageAssembler>,
    frames: Vec<SseEvent>,
}

impl BodyDecoder {
    #[must_use]
    pub fn new(model: &Model) -> Self {
        Self {
            sse: SseParser::new(),
            decoder: providers::decoder(model),
            asm: Some(MessageAssembler::new(model)),
            frames: Vec::new(),
        }
    }

    /// Emit `start` (when the response was accepted).
    pub fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(asm) = self.asm.as_mut() {
            asm.start(out);
        }
    }

    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.asm.is_none()
    }

    #[must_use]
    pub fn has_content(&self) -> bool {
        self.asm.as_ref().is_some_and(MessageAssembler::has_content)
    }

    /// Feed body bytes. Returns true once a terminal event has been emitted.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) -> bool {
        if self.asm.is_none() {
            return true;
        }
        self.sse.feed(bytes, &mut self.frames);
        self.drain_frames(out)
    }

    /// The body ended.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if self.asm.is_none() {
            return;
        }
        self.sse.finish(&mut self.frames);
        if !self.drain_frames(out) {
            self.end(out);
        }
    }

    /// End with `error` (abort, timeout, broken connection), keeping the partial message.
    pub fn fail(&mut self, error: LlmError, out: &mut Vec<StreamEvent>) {
        if let Some(asm) = self.asm.take() {
            asm.fail(error, self.decoder.counts(), out);
        }
    }

    fn drain_frames(&mut self, out: &mut Vec<StreamEvent>) -> bool {
        let frames = std::mem::take(&mut self.frames);
        for frame in &frames {
            let Some(asm) = self.asm.as_mut() else { break };
            match self.decoder.on_event(frame, asm, out) {
                Ok(Progress::More) => {}
                Ok(Progress::Complete) => {
                    self.end(out);
                    break;
                }
                Err(e) => {
                    self.fail(e, out);
                    break;
                }
            }
        }
        self.frames = frames;
        self.frames.clear();
        self.asm.is_none()
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        let Some(asm) = self.asm.take() else { return };
        let counts = self.decoder.counts();
        match self.decoder.end() {
            Ok(stop) => asm.finish(stop, counts, out),
            Err(e) => asm.fail(e, counts, out),
        }
    }
}

/// Decode a whole body given as chunks (tests, fuzzing, replay).
#[must_use]
pub fn decode_chunks(model: &Model, chunks: &[&[u8]]) -> Vec<StreamEvent> {
    let mut d = BodyDecoder::new(model);
    let mut out = Vec::new();
    d.start(&mut out);
    for c in chunks {
        if d.feed(c, &mut out) {
            return out;
        }
    }
    d.finish(&mut out);
    out
}

/// The error for a body that ended before the protocol's end marker.
#[must_use]
pub fn truncated(what: &str) -> LlmError {
    LlmError::new(ErrorKind::InvalidResponse, format!("the stream ended before {what}"))
}
