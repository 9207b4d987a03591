//! Inputs the fuzz targets (`fuzz/`) found failing, kept so the normal test run guards the
//! fix without the fuzzer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::sse::{SseEvent, SseParser};
use skipjack_llm::{Api, Model, Price, StopReason, StreamEvent};

fn frame(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        parser.feed(c, &mut out);
    }
    parser.finish(&mut out);
    out
}

fn data(events: &[SseEvent]) -> Vec<&str> {
    events.iter().map(|e| e.data.as_str()).collect()
}

/// Found by `sse_framer`: a `\r\n` whose `\n` arrived alone kept the framer waiting for a
/// `\n`, so the next blank line was swallowed and two events were merged into one.
#[test]
fn a_lone_lf_read_after_cr_does_not_swallow_the_blank_line() {
    let body = b"data: a\r\n\n\ndata: b\n\n";
    assert_eq!(data(&frame(&[body])), ["a", "b"]);
    assert_eq!(data(&frame(&[b"data: a\r", b"\n", b"\n", b"\ndata: b\n\n"])), ["a", "b"]);
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(data(&frame(&bytes)), ["a", "b"]);
    // An empty read between the two halves of a `\r\n` still decides nothing.
    assert_eq!(data(&frame(&[b"data: a\r", b"", b"\n", b"\ndata: b\n\n"])), ["a", "b"]);
}

fn model() -> Model {
    Model {
        provider: "test".into(),
        id: "claude-test".into(),
        api: Api::AnthropicMessages,
        base_url: "http://127.0.0.1:9".into(),
        name: None,
        context_window: 200_000,
        max_output: 8_000,
        price: Some(Price::default()),
        reasoning: false,
        images: false,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

/// The same input through the whole pipeline, trickled one byte per read: before the fix
/// `content_block_stop` was merged into `message_delta` and the stream lost its stop reason.
#[test]
fn mixed_line_endings_trickled_byte_by_byte_decode_like_the_whole() {
    let body = concat!(
        "event: message_start\r\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Once\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\r\n\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":16}}\n\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n\n",
    )
    .as_bytes();
    let whole = decode_chunks(&model(), &[body]);
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    let trickled = decode_chunks(&model(), &bytes);
    for events in [&whole, &trickled] {
        let Some(StreamEvent::Done { message }) = events.last() else {
            panic!("not done: {:?}", events.iter().map(StreamEvent::name).collect::<Vec<_>>());
        };
        assert_eq!(message.stop_reason, StopReason::Length);
        assert_eq!(message.text(), "Once");
        assert_eq!(message.usage.output, 16);
    }
    let names = |e: &[StreamEvent]| e.iter().map(StreamEvent::name).collect::<Vec<_>>();
    assert_eq!(names(&trickled), names(&whole));
}

/// Checked with the fuzz harness: a server's token count near `u64::MAX` overflowed the
/// sums (a panic in debug builds, a wrapped total in release). Counts are clamped now, so
/// the total stays the sum of the parts.
#[test]
fn absurd_token_counts_neither_panic_nor_wrap() {
    let openai = Model { api: Api::OpenAiChat, ..model() };
    let bodies: [(&Model, &[u8]); 3] = [
        (
            &openai,
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\
              \"usage\":{\"prompt_tokens\":18446744073709551615,\"completion_tokens\":18446744073709551615}}\n\n\
              data: [DONE]\n\n",
        ),
        (
            &openai,
            b"data: {\"choices\":[],\"usage\":{\"prompt_cache_hit_tokens\":18446744073709551615,\
              \"prompt_cache_miss_tokens\":5}}\n\ndata: [DONE]\n\n",
        ),
        (
            &model(),
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":\
              {\"input_tokens\":18446744073709551615,\"cache_read_input_tokens\":18446744073709551615}}}\n\n\
              event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ),
    ];
    for (model, body) in bodies {
        let events = decode_chunks(model, &[body]);
        let Some(StreamEvent::Done { message }) = events.last() else {
            panic!("not done: {:?}", events.iter().map(StreamEvent::name).collect::<Vec<_>>());
        };
        let u = &message.usage;
        assert!(u.input + u.cache_read > 1 << 50, "{u:?}");
        assert_eq!(u.total_tokens, u.input + u.output + u.cache_read + u.cache_write, "{u:?}");
        assert!(u.cost.total.is_finite() && u.cost.total >= 0.0, "{u:?}");
    }
}
