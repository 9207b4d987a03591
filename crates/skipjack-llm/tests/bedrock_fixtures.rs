//! Every Bedrock Converse fixture (binary event-stream frames, built by
//! `scripts/gen_bedrock_fixtures.py`) through the real pipeline, with the exact events, final
//! message, usage and cost each must give, and the same result at every split of the bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::json;
use skipjack_llm::message::{AssistantContent, TextContent, ThinkingContent, ToolCall};
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::transport::retry::is_retryable_stream_error;
use skipjack_llm::{AssistantMessage, ErrorKind, LlmError, StopReason, StreamEvent, Usage};

use common::{bedrock_model as model, close};

const DIR: &str = "bedrock_converse";

fn decode(body: &[&[u8]]) -> Vec<StreamEvent> {
    let mut events = decode_chunks(&model(), body);
    if let Some(StreamEvent::Done { message } | StreamEvent::Error { message, .. }) = events.last_mut() {
        message.timestamp = 0;
    }
    events
}

fn run(name: &str) -> (Vec<StreamEvent>, StreamEvent) {
    let mut events = decode(&[&common::fixture(DIR, name)]);
    let last = events.pop().expect("a terminal event");
    assert!(last.is_terminal(), "{name}: last event is {}", last.name());
    assert!(events.iter().all(|e| !e.is_terminal()), "{name}: one terminal event");
    (events, last)
}

fn done(name: &str) -> (Vec<StreamEvent>, AssistantMessage) {
    match run(name) {
        (events, StreamEvent::Done { message }) => (events, message),
        (_, other) => panic!("{name}: expected done, got {other:?}"),
    }
}

fn failed(name: &str) -> (Vec<StreamEvent>, AssistantMessage, LlmError) {
    match run(name) {
        (events, StreamEvent::Error { message, error }) => (events, message, error),
        (_, other) => panic!("{name}: expected error, got {other:?}"),
    }
}

fn text(s: &str) -> AssistantContent {
    AssistantContent::Text(TextContent { text: s.into() })
}

fn td(index: usize, d: &str) -> StreamEvent {
    StreamEvent::TextDelta { index, delta: d.into() }
}

/// Token counts exactly, and each cost line against a figure worked out by hand
/// ($3 in, $15 out, $0.30 cache read, $3.75 cache write per million).
fn assert_usage(u: &Usage, tokens: [u64; 4], cost: [f64; 4]) {
    assert_eq!([u.input, u.output, u.cache_read, u.cache_write], tokens, "tokens");
    assert_eq!(u.total_tokens, tokens.iter().sum::<u64>());
    let got = [u.cost.input, u.cost.output, u.cost.cache_read, u.cost.cache_write];
    for (g, want) in got.iter().zip(cost) {
        assert!(close(*g, want), "cost {got:?} != {cost:?}");
    }
    assert!(close(u.cost.total, cost.iter().sum()), "total {}", u.cost.total);
}

#[test]
fn text_with_multibyte_characters_and_non_string_headers() {
    let (events, m) = done("text.bin");
    let full = "Hello world, naïve café ☕";
    assert_eq!(
        events,
        vec![
            StreamEvent::Start,
            StreamEvent::TextStart { index: 0 },
            td(0, "Hello"),
            td(0, " world"),
            td(0, ", naïve café ☕"),
            StreamEvent::TextEnd { index: 0, text: full.into() },
        ]
    );
    assert_eq!((m.api.as_str(), m.provider.as_str()), ("bedrock-converse", "amazon-bedrock"));
    assert_eq!(m.content, vec![text(full)]);
    assert_eq!(m.stop_reason, StopReason::Stop);
    assert_usage(&m.usage, [25, 9, 0, 0], [0.000_075, 0.000_135, 0.0, 0.0]);
}

#[test]
fn two_tool_calls_with_split_input() {
    let (events, m) = done("tool_use.bin");
    let names: Vec<&str> = events.iter().map(StreamEvent::name).collect();
    assert_eq!(
        names,
        [
            "start",
            "text_start",
            "text_delta",
            "text_end",
            "toolcall_start",
            "toolcall_delta",
            "toolcall_delta",
            "toolcall_end",
            "toolcall_start",
            "toolcall_delta",
            "toolcall_end"
        ]
    );
    assert_eq!(
        m.content,
        vec![
            text("Reading both."),
            AssistantContent::ToolCall(ToolCall {
                id: "tooluse_A1".into(),
                name: "read".into(),
                arguments: json!({"path": "a.py"}),
                arguments_error: None
            }),
            AssistantContent::ToolCall(ToolCall {
                id: "tooluse_B2".into(),
                name: "grep".into(),
                arguments: json!({"pattern": "x"}),
                arguments_error: None
            }),
        ]
    );
    assert_eq!(m.stop_reason, StopReason::ToolUse);
    assert_usage(&m.usage, [100, 40, 0, 0], [0.000_3, 0.000_6, 0.0, 0.0]);
}

#[test]
fn reasoning_with_signature_redacted_reasoning_and_cache_usage() {
    let (events, m) = done("reasoning.bin");
    assert!(events.contains(&StreamEvent::ThinkingEnd {
        index: 0,
        thinking: "Let me think about it.".into(),
        signature: Some("EqQBCkYIBxgCKkBsig+/==".into()),
        redacted: false,
    }));
    assert_eq!(
        m.content,
        vec![
            AssistantContent::Thinking(ThinkingContent {
                thinking: "Let me think about it.".into(),
                signature: Some("EqQBCkYIBxgCKkBsig+/==".into()),
                redacted: false
            }),
            AssistantContent::Thinking(ThinkingContent {
                thinking: String::new(),
                signature: Some("RURBQkVFRg==".into()),
                redacted: true
            }),
            text("42"),
        ]
    );
    // 10 in, 200 out, 1000 read from cache, 500 written to it.
    assert_usage(&m.usage, [10, 200, 1000, 500], [0.000_03, 0.003, 0.000_3, 0.001_875]);
}

#[test]
fn stop_reasons() {
    let (_, m) = done("max_tokens.bin");
    assert_eq!((m.stop_reason, m.text().as_str()), (StopReason::Length, "cut"));
    assert_usage(&m.usage, [5, 1, 0, 0], [0.000_015, 0.000_015, 0.0, 0.0]);
    let (_, m) = done("guardrail.bin");
    assert_eq!(m.stop_reason, StopReason::ContentFilter);
    // A body that ends after messageStop, before metadata, still finishes.
    let (_, m) = done("no_metadata.bin");
    assert_eq!((m.stop_reason, m.text().as_str(), m.usage.total_tokens), (StopReason::Stop, "ok", 0));
}

#[test]
fn truncated_streams_fail_keeping_the_partial_text() {
    for name in ["truncated.bin", "truncated_mid_frame.bin"] {
        let (_, m, e) = failed(name);
        assert_eq!(e.kind, ErrorKind::InvalidResponse, "{name}");
        assert!(e.message.contains("messageStop"), "{name}: {}", e.message);
        assert_eq!(m.text(), "partial");
        assert_eq!(m.stop_reason, StopReason::Error);
    }
}

#[test]
fn a_corrupt_frame_fails_the_stream() {
    let (_, m, e) = failed("bad_crc.bin");
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(e.message.contains("checksum"), "{}", e.message);
    assert_eq!(m.text(), "");
}

#[test]
fn exceptions_are_classified_and_retried_as_their_status() {
    let cases = [
        ("throttling_exception.bin", ErrorKind::RateLimited, true),
        ("validation_too_long.bin", ErrorKind::ContextOverflow, false),
        ("validation_other.bin", ErrorKind::BadRequest, false),
        ("internal_server_exception.bin", ErrorKind::Server, true),
        ("service_unavailable_exception.bin", ErrorKind::Server, true),
        ("error_frame.bin", ErrorKind::Server, false),
    ];
    for (name, kind, retried) in cases {
        let (_, m, e) = failed(name);
        assert_eq!(e.kind, kind, "{name}: {e:?}");
        assert_eq!(is_retryable_stream_error(&e), retried, "{name}: {e:?}");
        assert_eq!(m.error_kind.as_deref(), Some(kind.as_str()));
        assert!(m.content.is_empty(), "{name}");
    }
    let (_, _, e) = failed("throttling_exception.bin");
    assert!(e.message.starts_with("throttlingException: Too many requests"), "{}", e.message);
    let (_, _, e) = failed("error_frame.bin");
    assert_eq!(e.message, "InternalFailure: boom");
}

#[test]
fn a_model_stream_error_keeps_the_partial_answer() {
    let (_, m, e) = failed("model_stream_error.bin");
    assert_eq!(e.kind, ErrorKind::Server);
    assert!(!is_retryable_stream_error(&e));
    assert!(e.message.contains("modelStreamErrorException"), "{}", e.message);
    assert_eq!(m.text(), "half an ans");
}

/// Every fixture is tested above, and gives the same events cut at any byte, or fed one
/// byte at a time.
#[test]
fn every_fixture_is_covered_and_split_invariant() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse").join(DIR);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    names.sort();
    let source = include_str!("bedrock_fixtures.rs");
    for name in &names {
        let quoted = format!("\"{name}\"");
        assert!(source.contains(&quoted), "{name} has no test of its own");
        let body = common::fixture(DIR, name);
        let whole = decode(&[&body]);
        for i in 0..=body.len() {
            assert_eq!(decode(&[&body[..i], &body[i..]]), whole, "{name} split at {i}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode(&bytes), whole, "{name} byte by byte");
    }
    assert_eq!(names.len(), 16);
}
