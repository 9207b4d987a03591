//! Response body bytes → canonical events: the SSE framer, a wire decoder and the
//! assembler in one place, shared by the HTTP transport, fixture tests and fuzzers.

use crate::assembler::{too_large, MessageAssembler};
use crate::error::{ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::eventstream::{EventStreamDecoder, Frame, FrameError};
use crate::model::Api;
use crate::model::{Limits, Model};
use crate::providers::{self, Decoder, Progress};
use crate::sse::{SseEvent, SseParser};

/// How the API frames its body: SSE for all but Bedrock, whose binary event-stream frames
/// are handed to its decoder as events named `{event-type}`, `exception:{type}` or
/// `error:{code}` with the payload as data.
enum Framer {
    Sse(SseParser),
    EventStream(EventStreamDecoder, Vec<Frame>),
}

impl Framer {
    fn for_api(api: Api, max_event_bytes: usize) -> Self {
        match api {
            Api::BedrockConverse => Self::EventStream(EventStreamDecoder::with_limit(max_event_bytes), Vec::new()),
            _ => Self::Sse(SseParser::with_limit(max_event_bytes)),
        }
    }

    fn event_bytes(&self) -> u64 {
        match self {
            Self::Sse(p) => p.event_bytes(),
            Self::EventStream(d, _) => d.frame_bytes(),
        }
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        match self {
            Self::Sse(p) => p.feed(bytes, out),
            Self::EventStream(d, frames) => {
                d.feed(bytes, frames);
                out.extend(frames.drain(..).map(frame_event));
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if let Self::Sse(p) = self {
            p.finish(out);
        }
    }

    /// Why no more of the body can be framed.
    fn error(&self) -> Option<LlmError> {
        match self {
            Self::Sse(p) => p.overflow().map(|o| too_large("one SSE line or event", o.limit, "limits.max_event_bytes")),
            Self::EventStream(d, _) => match d.error()? {
                FrameError::TooLarge { limit, .. } => {
                    Some(too_large("one event-stream frame", *limit, "limits.max_event_bytes"))
                }
                FrameError::Corrupt(why) => Some(LlmError::new(ErrorKind::InvalidResponse, why.clone())),
            },
        }
    }
}

fn frame_event(frame: Frame) -> SseEvent {
    let event = match frame.message_type.as_str() {
        "exception" | "error" => format!("{}:{}", frame.message_type, frame.kind),
        _ => frame.kind,
    };
    let data = String::from_utf8(frame.payload).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    SseEvent { event: Some(event), data, id: None }
}

pub struct BodyDecoder {
    sse: Framer,
    decoder: Box<dyn Decoder>,
    /// `None` once a terminal event was emitted.
    asm: Option<MessageAssembler>,
    frames: Vec<SseEvent>,
    model: Model,
    limits: Limits,
    /// Hold back an in-stream error that arrives before any content instead of ending
    /// with it, so the transport can retry (see [`BodyDecoder::take_retryable`]).
    hold_early_errors: bool,
    held: Option<LlmError>,
}

impl BodyDecoder {
    #[must_use]
    pub fn new(model: &Model) -> Self {
        Self::with_limits(model, Limits::default())
    }

    #[must_use]
    pub fn with_limits(model: &Model, limits: Limits) -> Self {
        Self {
            sse: Framer::for_api(model.api, limits.max_event_bytes),
            decoder: providers::decoder(model),
            asm: Some(MessageAssembler::with_limits(model, limits)),
            frames: Vec::new(),
            model: model.clone(),
            limits,
            hold_early_errors: false,
            held: None,
        }
    }

    /// Hold back an error event that arrives before any content rather than ending the
    /// stream with it: `feed` then returns true and `take_early_error` hands it over, so
    /// the transport can retry (after `restart`) or end with it (`fail`).
    pub fn hold_early_errors(&mut self, hold: bool) {
        self.hold_early_errors = hold;
    }

    pub fn take_early_error(&mut self) -> Option<LlmError> {
        self.held.take()
    }

    /// Forget the body so far, ready for a new attempt's body. `start` was emitted already
    /// and is not emitted again.
    pub fn restart(&mut self) {
        let mut asm = MessageAssembler::with_limits(&self.model, self.limits);
        asm.start(&mut Vec::new());
        self.sse = Framer::for_api(self.model.api, self.limits.max_event_bytes);
        self.decoder = providers::decoder(&self.model);
        self.asm = Some(asm);
        self.held = None;
    }

    /// Bytes of the body that carried events so far (comments and blank lines excluded).
    #[must_use]
    pub fn event_bytes(&self) -> u64 {
        self.sse.event_bytes()
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
        if self.asm.is_none() || self.held.is_some() {
            return true;
        }
        self.sse.feed(bytes, &mut self.frames);
        // Events framed before an overflow are still delivered, then the stream fails.
        if self.drain_frames(out) {
            return true;
        }
        if let Some(error) = self.sse.error() {
            self.fail(error, out);
        }
        self.asm.is_none()
    }

    /// The body ended.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if self.asm.is_none() || self.held.is_some() {
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
            let progress = self.decoder.on_event(frame, asm, out);
            if let Some(e) = asm.take_exceeded() {
                self.fail(e, out);
                break;
            }
            match progress {
                Ok(Progress::More) => {}
                Ok(Progress::Complete) => {
                    self.end(out);
                    break;
                }
                Err(e) if self.hold_early_errors && !asm.has_content() => {
                    self.held = Some(e);
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
        self.asm.is_none() || self.held.is_some()
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
