//! Byte-level decoder of AWS event-stream framing (`application/vnd.amazon.eventstream`),
//! the binary framing Bedrock's `converse-stream` answers with instead of SSE.
//!
//! A frame is `total_len:u32 headers_len:u32 prelude_crc:u32 headers payload message_crc:u32`
//! (big-endian; both CRCs are CRC-32/ISO-HDLC, the first over the 8 length bytes, the second
//! over everything before it). Like the SSE framer it takes any byte stream in any split and
//! keeps at most one frame buffered, capped by `limits.max_event_bytes`.
//!
//! Hand-written (with `crc32fast` for the checksum) rather than `aws-smithy-eventstream`:
//! that decoder caps frames at a fixed 16 MiB instead of our configured limit and brings the
//! `bytes-utils` buffer type; the format itself is fifty lines. Fuzzed in
//! `fuzz/fuzz_targets/eventstream_framer.rs` and split-tested at every byte.

/// Frame length bytes and their CRC.
const PRELUDE_LEN: usize = 12;
/// Prelude plus the trailing message CRC: the smallest possible frame.
const MIN_FRAME_LEN: usize = PRELUDE_LEN + 4;

/// One decoded frame, reduced to what a wire decoder reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// `:message-type`: `event`, `exception` or `error`.
    pub message_type: String,
    /// `:event-type` of an event, `:exception-type` of an exception, `:error-code` of an error.
    pub kind: String,
    /// The payload (JSON for Bedrock), or `:error-message` of an `error` frame.
    pub payload: Vec<u8>,
}

/// Why the byte stream cannot be framed; once set, the decoder ignores further input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A frame declared a length over the cap.
    TooLarge { limit: usize, declared: usize },
    /// A CRC mismatch, impossible lengths or unreadable headers.
    Corrupt(String),
}

#[derive(Debug)]
pub struct EventStreamDecoder {
    buf: Vec<u8>,
    max_frame_bytes: usize,
    error: Option<FrameError>,
    /// Bytes of complete frames so far, for the idle timer.
    frame_bytes: u64,
}

impl Default for EventStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventStreamDecoder {
    #[must_use]
    pub fn new() -> Self {
        Self::with_limit(usize::MAX)
    }

    #[must_use]
    pub fn with_limit(max_frame_bytes: usize) -> Self {
        Self { buf: Vec::new(), max_frame_bytes, error: None, frame_bytes: 0 }
    }

    #[must_use]
    pub fn error(&self) -> Option<&FrameError> {
        self.error.as_ref()
    }

    /// Bytes of the complete frames decoded so far.
    #[must_use]
    pub fn frame_bytes(&self) -> u64 {
        self.frame_bytes
    }

    /// Bytes held of a frame not yet complete.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Feed bytes; complete frames are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        if self.error.is_some() {
            return;
        }
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        while self.error.is_none() {
            let rest = &self.buf[start..];
            match frame_length(rest, self.max_frame_bytes) {
                Err(e) => self.error = Some(e),
                Ok(None) => break,
                Ok(Some(len)) if rest.len() < len => break,
                Ok(Some(len)) => {
                    match parse_frame(&rest[..len]) {
                        Ok(frame) => out.push(frame),
                        Err(e) => self.error = Some(e),
                    }
                    start += len;
                    self.frame_bytes += len as u64;
                }
            }
        }
        self.buf.drain(..start);
        if self.error.is_some() {
            self.buf = Vec::new();
        }
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The frame's total length once its prelude is here and checks out.
fn frame_length(b: &[u8], max: usize) -> Result<Option<usize>, FrameError> {
    if b.len() < PRELUDE_LEN {
        return Ok(None);
    }
    let crc = crc32fast::hash(&b[..8]);
    if crc != be_u32(b, 8) {
        return Err(FrameError::Corrupt(format!(
            "event-stream prelude checksum mismatch (expected {:08x}, got {crc:08x})",
            be_u32(b, 8)
        )));
    }
    let total = be_u32(b, 0) as usize;
    let headers = be_u32(b, 4) as usize;
    if total < MIN_FRAME_LEN || headers > total - MIN_FRAME_LEN {
        return Err(FrameError::Corrupt(format!(
            "event-stream frame lengths are impossible (total {total}, headers {headers})"
        )));
    }
    if total > max {
        return Err(FrameError::TooLarge { limit: max, declared: total });
    }
    Ok(Some(total))
}

fn parse_frame(b: &[u8]) -> Result<Frame, FrameError> {
    let end = b.len() - 4;
    let crc = crc32fast::hash(&b[..end]);
    if crc != be_u32(b, end) {
        return Err(FrameError::Corrupt(format!(
            "event-stream message checksum mismatch (expected {:08x}, got {crc:08x})",
            be_u32(b, end)
        )));
    }
    let headers_end = PRELUDE_LEN + be_u32(b, 4) as usize;
    let mut frame = Frame { payload: b[headers_end..end].to_vec(), ..Frame::default() };
    let mut error_message = None;
    let mut h = &b[PRELUDE_LEN..headers_end];
    while !h.is_empty() {
        let (name, value, rest) =
            header(h).ok_or_else(|| FrameError::Corrupt("unreadable event-stream header".into()))?;
        h = rest;
        let Some(value) = value else { continue };
        match name {
            b":message-type" => frame.message_type = value,
            b":event-type" | b":exception-type" | b":error-code" => frame.kind = value,
            b":error-message" => error_message = Some(value),
            _ => {}
        }
    }
    if frame.message_type == "error" {
        if let Some(message) = error_message {
            frame.payload = message.into_bytes();
        }
    }
    Ok(frame)
}

/// One header: its name, its value when it is a string, and the bytes after it.
fn header(h: &[u8]) -> Option<(&[u8], Option<String>, &[u8])> {
    let name_len = usize::from(*h.first()?);
    let name = h.get(1..1 + name_len)?;
    let kind = *h.get(1 + name_len)?;
    let rest = &h[2 + name_len..];
    // Value sizes by type: bool true/false, byte, short, int, long, bytes, string, timestamp, uuid.
    let (value, consumed) = match kind {
        0 | 1 => (None, 0),
        2 => (None, 1),
        3 => (None, 2),
        4 => (None, 4),
        5 | 8 => (None, 8),
        9 => (None, 16),
        6 | 7 => {
            let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
            let bytes = rest.get(2..2 + len)?;
            let value = (kind == 7).then(|| String::from_utf8_lossy(bytes).into_owned());
            (value, 2 + len)
        }
        _ => return None,
    };
    let rest = rest.get(consumed..)?;
    Some((name, value, rest))
}

/// Encode one frame with string headers (fixtures, tests, loopback servers).
#[must_use]
pub fn encode_frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut hbytes = Vec::new();
    for (name, value) in headers {
        hbytes.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        hbytes.extend_from_slice(&name.as_bytes()[..name.len().min(255)]);
        hbytes.push(7);
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        hbytes.extend_from_slice(&len.to_be_bytes());
        hbytes.extend_from_slice(&value.as_bytes()[..usize::from(len)]);
    }
    let total = MIN_FRAME_LEN + hbytes.len() + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&u32::try_from(hbytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&hbytes);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// An `event` frame as Bedrock sends it.
#[must_use]
pub fn event_frame(event_type: &str, json: &str) -> Vec<u8> {
    encode_frame(
        &[(":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")],
        json.as_bytes(),
    )
}

/// An `exception` frame as Bedrock sends it.
#[must_use]
pub fn exception_frame(exception_type: &str, json: &str) -> Vec<u8> {
    encode_frame(
        &[(":exception-type", exception_type), (":content-type", "application/json"), (":message-type", "exception")],
        json.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_frame_round_trips_at_every_split() {
        let mut body = event_frame("messageStart", r#"{"role":"assistant"}"#);
        body.extend(exception_frame("throttlingException", r#"{"message":"slow"}"#));
        for cut in 0..=body.len() {
            let mut d = EventStreamDecoder::new();
            let mut out = Vec::new();
            d.feed(&body[..cut], &mut out);
            d.feed(&body[cut..], &mut out);
            assert_eq!(out.len(), 2, "cut {cut}");
            assert_eq!(out[0].kind, "messageStart");
            assert_eq!(out[1].message_type, "exception");
            assert_eq!(out[1].payload, br#"{"message":"slow"}"#);
            assert!(d.error().is_none());
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_is_caught() {
        let body = event_frame("messageStop", r#"{"stopReason":"end_turn"}"#);
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] ^= 0x01;
            let mut d = EventStreamDecoder::new();
            let mut out = Vec::new();
            d.feed(&bad, &mut out);
            // The prelude CRC covers the lengths, so no flip can make the frame look
            // longer and wait for bytes that never come.
            assert!(out.is_empty(), "byte {i}");
            assert!(d.error().is_some(), "byte {i}");
        }
    }

    #[test]
    fn an_oversized_frame_is_refused_before_it_is_buffered() {
        let body = event_frame("x", &"a".repeat(1000));
        let mut d = EventStreamDecoder::with_limit(100);
        let mut out = Vec::new();
        d.feed(&body[..20], &mut out);
        assert!(matches!(d.error(), Some(FrameError::TooLarge { limit: 100, .. })));
        assert_eq!(d.pending(), 0);
    }
}
