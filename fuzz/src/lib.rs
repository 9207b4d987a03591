//! What the fuzz targets share: how an input becomes a body cut into reads, and the
//! properties every decoded stream must have. A failed property panics, which libFuzzer
//! reports as a crash with the input saved under `artifacts/`.

use std::collections::BTreeMap;

use skipjack_llm::eventstream::{encode_frame, EventStreamDecoder, Frame, FrameError};
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::sse::{EventTooLarge, SseEvent, SseParser};
use skipjack_llm::{Api, Model, Price, StreamEvent};

/// Longest input that is also replayed one byte per read (every boundary at once); longer
/// ones would slow every execution for little gain.
pub const BYTEWISE_MAX: usize = 4096;

/// Read boundaries for `data`, chosen by its first bytes (and its length). The whole input
/// stays the body, so recorded SSE fixtures serve as seeds unchanged, while a mutation of
/// the first bytes moves the cuts.
#[must_use]
pub fn cut_points(data: &[u8]) -> Vec<usize> {
    let mut seed = [0u8; 8];
    for (s, b) in seed.iter_mut().zip(data) {
        *s = *b;
    }
    let mut rng = fastrand::Rng::with_seed(u64::from_le_bytes(seed) ^ data.len() as u64);
    let count = rng.usize(0..=data.len().min(32));
    let mut cuts: Vec<usize> = (0..count).map(|_| rng.usize(0..=data.len())).collect();
    cuts.sort_unstable();
    cuts
}

/// `data` cut at sorted `cuts` (repeated cuts give empty reads, which must be harmless too).
#[must_use]
pub fn split<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut at = 0;
    for &c in cuts {
        chunks.push(&data[at..c]);
        at = c;
    }
    chunks.push(&data[at..]);
    chunks
}

#[must_use]
pub fn frame(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        parser.feed(c, &mut out);
    }
    parser.finish(&mut out);
    out
}

/// Framing under a size cap: the events, whether the cap was hit, and the count of bytes
/// that carried events (what the idle timer watches).
#[must_use]
pub fn frame_capped(chunks: &[&[u8]], cap: usize) -> (Vec<SseEvent>, Option<EventTooLarge>, u64) {
    let mut parser = SseParser::with_limit(cap);
    let mut out = Vec::new();
    for c in chunks {
        parser.feed(c, &mut out);
    }
    parser.finish(&mut out);
    (out, parser.overflow(), parser.event_bytes())
}

/// A cap chosen by the input's last byte, small enough that mutations cross it.
#[must_use]
pub fn cap_for(data: &[u8]) -> usize {
    1 + usize::from(data.last().copied().unwrap_or(0)) * 4
}

/// Under a cap, the framer gives the same events, overflow and event-byte count however the
/// bytes are cut, and no event it delivers is larger than the cap.
pub fn check_capped_framer(data: &[u8]) {
    let cap = cap_for(data);
    let whole = frame_capped(&[data], cap);
    let cut = frame_capped(&split(data, &cut_points(data)), cap);
    assert!(cut == whole, "cut at {:?} with cap {cap}: {cut:?} vs {whole:?}", cut_points(data));
    for e in &whole.0 {
        assert!(e.data.len() <= cap, "an event of {} bytes passed a cap of {cap}", e.data.len());
    }
    // The uncapped count is the same unless the cap stopped the framer early.
    if whole.1.is_none() {
        assert_eq!(frame_capped(&[data], usize::MAX).2, whole.2);
    }
}

#[must_use]
pub fn model(api: Api) -> Model {
    Model {
        provider: "fuzz".into(),
        id: "fuzz-model".into(),
        api,
        base_url: "http://127.0.0.1:9/v1".into(),
        name: None,
        context_window: 200_000,
        max_output: 64_000,
        price: Some(Price { input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75 }),
        reasoning: true,
        images: true,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

/// Decode `data` as a response body of `api` whole, cut where its first bytes say, and (when
/// short) one byte per read: each must be a well-formed stream, and all must be equal.
pub fn check_mapper(api: Api, data: &[u8]) {
    let model = model(api);
    let whole = normalized(decode_chunks(&model, &[data]));
    assert_well_formed(&whole);
    let cut = normalized(decode_chunks(&model, &split(data, &cut_points(data))));
    assert!(cut == whole, "a split changed the events:\n{cut:#?}\nwhole:\n{whole:#?}");
    if data.len() <= BYTEWISE_MAX {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        let bytewise = normalized(decode_chunks(&model, &bytes));
        assert!(bytewise == whole, "byte-at-a-time reads changed the events");
    }
}

/// Final messages carry the time they were built; everything else must match exactly.
fn normalized(mut events: Vec<StreamEvent>) -> Vec<StreamEvent> {
    for e in &mut events {
        if let StreamEvent::Done { message } | StreamEvent::Error { message, .. } = e {
            message.timestamp = 0;
        }
    }
    events
}

/// `start` first; exactly one terminal event, last; each block starts once, before its
/// deltas, and nothing touches it after its end; the final usage is self-consistent.
fn assert_well_formed(events: &[StreamEvent]) {
    let names: Vec<&str> = events.iter().map(StreamEvent::name).collect();
    assert!(matches!(events.first(), Some(StreamEvent::Start)), "first event is not start: {names:?}");
    let terminals = events.iter().filter(|e| e.is_terminal()).count();
    assert_eq!(terminals, 1, "{terminals} terminal events: {names:?}");
    let Some(StreamEvent::Done { message } | StreamEvent::Error { message, .. }) = events.last() else {
        panic!("the last event is not terminal: {names:?}");
    };
    let u = &message.usage;
    assert_eq!(u.total_tokens, u.input + u.output + u.cache_read + u.cache_write, "{u:?}");
    for c in [u.cost.input, u.cost.output, u.cost.cache_read, u.cost.cache_write, u.cost.total] {
        assert!(c.is_finite() && c >= 0.0, "bad cost in {u:?}");
    }

    // Per block index: its kind and whether it has ended.
    let mut blocks: BTreeMap<usize, (&str, bool)> = BTreeMap::new();
    for e in events {
        let (index, kind, phase) = match e {
            StreamEvent::TextStart { index } => (*index, "text", 0),
            StreamEvent::TextDelta { index, .. } => (*index, "text", 1),
            StreamEvent::TextEnd { index, .. } => (*index, "text", 2),
            StreamEvent::ThinkingStart { index } => (*index, "thinking", 0),
            StreamEvent::ThinkingDelta { index, .. } => (*index, "thinking", 1),
            StreamEvent::ThinkingEnd { index, .. } => (*index, "thinking", 2),
            StreamEvent::ToolCallStart { index, .. } => (*index, "toolcall", 0),
            StreamEvent::ToolCallDelta { index, .. } => (*index, "toolcall", 1),
            StreamEvent::ToolCallEnd { index, .. } => (*index, "toolcall", 2),
            _ => continue,
        };
        match (phase, blocks.get_mut(&index)) {
            (0, None) => {
                blocks.insert(index, (kind, false));
            }
            (0, Some(_)) => panic!("block {index} started twice: {names:?}"),
            (_, None) => panic!("{} before block {index} started: {names:?}", e.name()),
            (_, Some((k, _))) if *k != kind => panic!("{} on a {k} block {index}", e.name()),
            (_, Some((_, true))) => panic!("{} after block {index} ended: {names:?}", e.name()),
            (2, Some((_, ended))) => *ended = true,
            _ => {}
        }
    }
}

/// Event-stream framing under `cap`: the frames, the error that stopped it, the bytes of
/// complete frames and the bytes still held.
#[must_use]
pub fn eventstream_frames(chunks: &[&[u8]], cap: usize) -> (Vec<Frame>, Option<FrameError>, u64, usize) {
    let mut d = EventStreamDecoder::with_limit(cap);
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut out);
    }
    (out, d.error().cloned(), d.frame_bytes(), d.pending())
}

/// `data` with every frame's CRCs made right (frames walked by their declared lengths), so
/// mutations of lengths and headers get past the checksums to the header parser.
#[must_use]
pub fn with_valid_crcs(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut at = 0;
    while out.len() - at >= 16 {
        let total = u32::from_be_bytes([out[at], out[at + 1], out[at + 2], out[at + 3]]) as usize;
        if total < 16 || total > out.len() - at {
            break;
        }
        let prelude = crc32fast::hash(&out[at..at + 8]).to_be_bytes();
        out[at + 8..at + 12].copy_from_slice(&prelude);
        let end = at + total - 4;
        let message = crc32fast::hash(&out[at..end]).to_be_bytes();
        out[end..end + 4].copy_from_slice(&message);
        at += total;
    }
    out
}

/// The frame decoder gives the same frames, error and counts whole, cut where the input's
/// first bytes say, and one byte per read; under a cap, no frame larger than it gets
/// through and nothing past it is buffered.
pub fn check_eventstream(data: &[u8]) {
    let whole = eventstream_frames(&[data], usize::MAX);
    let cut = eventstream_frames(&split(data, &cut_points(data)), usize::MAX);
    assert!(cut == whole, "cut at {:?} changed the frames", cut_points(data));
    if data.len() <= BYTEWISE_MAX {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert!(eventstream_frames(&bytes, usize::MAX) == whole, "one byte per read changed the frames");
    }
    let cap = 16 + cap_for(data);
    let capped = eventstream_frames(&split(data, &cut_points(data)), cap);
    assert!(capped.3 < cap.max(16), "{} bytes held under a cap of {cap}", capped.3);
    for f in &capped.0 {
        assert!(f.payload.len() <= cap, "a payload of {} bytes passed a cap of {cap}", f.payload.len());
    }
}

/// A Converse stream from text records, one per line: `eventType JSON`, or `!exceptionType
/// JSON` for an exception frame. Real frames with right CRCs, so the fuzzer's mutations of
/// event names and payloads (see `wire.dict`) reach the Converse decoder instead of stopping
/// at a checksum.
#[must_use]
pub fn converse_body(data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let (name, payload) = text.split_once(' ').unwrap_or((&text, ""));
        let frame = match name.strip_prefix('!') {
            Some(kind) => {
                encode_frame(&[(":exception-type", kind), (":message-type", "exception")], payload.as_bytes())
            }
            None => encode_frame(&[(":event-type", name), (":message-type", "event")], payload.as_bytes()),
        };
        body.extend(frame);
    }
    body
}
