//! CPU per text delta of the Responses decoder against the chat decoder on the same number
//! of deltas, through the whole pipeline (framer, decoder, assembler). Ignored by default:
//! timings mean something only in release builds on a quiet machine.
//!
//!     cargo test --release -p skipjack-llm --test decode_cost -- --ignored --nocapture
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::{Api, Model, Price, StreamEvent};

const DELTAS: usize = 100_000;
/// Bytes per read, like a busy TCP socket's.
const READ: usize = 16 * 1024;

fn model(api: Api) -> Model {
    Model {
        provider: "openai".into(),
        id: "bench".into(),
        api,
        base_url: "http://127.0.0.1:9/v1".into(),
        name: None,
        context_window: 0,
        max_output: 0,
        price: Some(Price { input: 1.0, output: 2.0, cache_read: 0.1, cache_write: 0.0 }),
        reasoning: false,
        images: false,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

/// The bodies each server sends for `n` one-word deltas (OpenAI's own field sets).
fn chat_body(n: usize) -> Vec<u8> {
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(r#"data: {"id":"chatcmpl-B","object":"chat.completion.chunk","created":1754400000,"model":"gpt-5","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"word "},"logprobs":null,"finish_reason":null}],"obfuscation":"aBcD"}"#);
        s.push_str("\n\n");
    }
    s.push_str("data: {\"id\":\"chatcmpl-B\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    let _ = write!(s, "data: {{\"id\":\"chatcmpl-B\",\"choices\":[],\"usage\":{{\"prompt_tokens\":10,\"completion_tokens\":{n}}}}}\n\n");
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

fn responses_body(n: usize) -> Vec<u8> {
    let mut s = String::new();
    s.push_str("event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"id\":\"msg_B\",\"type\":\"message\",\"status\":\"in_progress\",\"content\":[],\"role\":\"assistant\"}}\n\n");
    for i in 0..n {
        let _ = write!(s, "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{},\"item_id\":\"msg_B\",\"output_index\":0,\"content_index\":0,\"delta\":\"word \",\"logprobs\":[],\"obfuscation\":\"aBcD\"}}\n\n", i + 2);
    }
    let _ = write!(s, "event: response.completed\ndata: {{\"type\":\"response.completed\",\"sequence_number\":{},\"response\":{{\"id\":\"resp_B\",\"status\":\"completed\",\"usage\":{{\"input_tokens\":10,\"input_tokens_details\":{{\"cached_tokens\":0}},\"output_tokens\":{n}}}}}}}\n\n", n + 2);
    s.into_bytes()
}

/// Best-of-`runs` nanoseconds per delta.
fn ns_per_delta(api: Api, body: &[u8], runs: usize) -> f64 {
    let chunks: Vec<&[u8]> = body.chunks(READ).collect();
    let m = model(api);
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        let events = decode_chunks(&m, &chunks);
        #[allow(clippy::cast_precision_loss)]
        let ns = t.elapsed().as_nanos() as f64 / DELTAS as f64;
        let Some(StreamEvent::Done { message }) = events.last() else { panic!("{:?}", events.last()) };
        assert_eq!(message.text().len(), DELTAS * 5);
        best = best.min(ns);
    }
    best
}

#[test]
#[ignore = "a timing, not a check: run in release on a quiet machine"]
fn responses_decoding_costs_about_what_chat_decoding_does() {
    let chat = ns_per_delta(Api::OpenAiChat, &chat_body(DELTAS), 7);
    let responses = ns_per_delta(Api::OpenAiResponses, &responses_body(DELTAS), 7);
    let ratio = responses / chat;
    println!("ns per delta: chat {chat:.0}, responses {responses:.0}, ratio {ratio:.2}");
    assert!(ratio < 1.5, "the Responses path costs {ratio:.2}x the chat path per delta");
}
