//! Every Anthropic fixture through the real pipeline (SSE framer → `MessagesDecoder` →
//! assembler), with the exact events and final message each must give.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use serde_json::json;
use skipjack_llm::message::{AssistantContent, TextContent, ThinkingContent, ToolCall};
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::{AssistantMessage, ErrorKind, LlmError, StopReason, StreamEvent, Usage};

use common::anthropic_model as model;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse/anthropic")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Events with the terminal message's clock zeroed, so runs compare equal.
fn decode(body: &[&[u8]]) -> Vec<StreamEvent> {
    let mut events = decode_chunks(&model(), body);
    if let Some(StreamEvent::Done { message } | StreamEvent::Error { message, .. }) = events.last_mut() {
        message.timestamp = 0;
    }
    events
}

/// The events before the terminal one, and the terminal one.
fn run(name: &str) -> (Vec<StreamEvent>, StreamEvent) {
    let mut events = decode(&[&fixture(name)]);
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

fn text_end(index: usize, t: &str) -> StreamEvent {
    StreamEvent::TextEnd { index, text: t.into() }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// Token counts exactly, and each cost line against a figure worked out by hand.
fn assert_usage(u: &Usage, tokens: [u64; 4], cost: [f64; 4]) {
    assert_eq!(
        [u.input, u.output, u.cache_read, u.cache_write],
        tokens,
        "tokens (input, output, cache read, cache write)"
    );
    assert_eq!(u.total_tokens, tokens.iter().sum::<u64>());
    let got = [u.cost.input, u.cost.output, u.cost.cache_read, u.cost.cache_write];
    for (g, want) in got.iter().zip(cost) {
        assert!(close(*g, want), "cost {got:?} != {cost:?}");
    }
    assert!(close(u.cost.total, cost.iter().sum()), "total {}", u.cost.total);
}

fn assert_identity(m: &AssistantMessage, response_id: &str) {
    assert_eq!(m.api, "anthropic-messages");
    assert_eq!(m.provider, "anthropic");
    assert_eq!(m.model, "claude-sonnet-4-5");
    assert_eq!(m.response_id.as_deref(), Some(response_id));
}

#[test]
fn plain_text() {
    let (events, m) = done("text.sse");
    let full = "Hello! How can I help you today?";
    assert_eq!(
        events,
        vec![
            StreamEvent::Start,
            StreamEvent::TextStart { index: 0 },
            td(0, "Hello"),
            td(0, "! How can I help"),
            td(0, " you today?"),
            text_end(0, full),
        ]
    );
    assert_identity(&m, "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(m.content, vec![text(full)]);
    assert_eq!(m.stop_reason, StopReason::Stop);
    assert_eq!((m.error_message.as_deref(), m.error_kind.as_deref()), (None, None));
    // 25 in at $3/M, 12 out at $15/M.
    assert_usage(&m.usage, [25, 12, 0, 0], [0.000_075, 0.000_18, 0.0, 0.0]);
}

const SIG: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds1UN/oyWC9GTk6S0RjgA5qSx2/9n8mT8ewl0aq2mHzKX8D3rqXBZJrvfwZdlS4UX1oq0P4aq5+KvtDXGSNrzdgxchuLGQzDaF4SUVuNRV3XgD5UPnH0D+3p6kTu5ZOQI";

#[test]
fn thinking_with_signature_then_text() {
    let (events, m) = done("thinking_signature.sse");
    let thought = "The user asks for 6 × 7. That is 42.";
    assert_eq!(
        events,
        vec![
            StreamEvent::Start,
            StreamEvent::ThinkingStart { index: 0 },
            StreamEvent::ThinkingDelta { index: 0, delta: "The user asks for 6 × 7.".into() },
            StreamEvent::ThinkingDelta { index: 0, delta: " That is 42.".into() },
            StreamEvent::ThinkingEnd {
                index: 0,
                thinking: thought.into(),
                signature: Some(SIG.into()),
                redacted: false
            },
            StreamEvent::TextStart { index: 1 },
            td(1, "The answer"),
            td(1, " is 42."),
            text_end(1, "The answer is 42."),
        ]
    );
    assert_identity(&m, "msg_01Thinking7Kq");
    assert_eq!(
        m.content,
        vec![
            AssistantContent::Thinking(ThinkingContent {
                thinking: thought.into(),
                signature: Some(SIG.into()),
                redacted: false
            }),
            text("The answer is 42."),
        ]
    );
    assert_eq!(m.stop_reason, StopReason::Stop);
    assert_usage(&m.usage, [48, 180, 0, 0], [0.000_144, 0.0027, 0.0, 0.0]);
}

#[test]
fn redacted_thinking_keeps_its_payload() {
    let (events, m) = done("redacted_thinking.sse");
    let data = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB8URj2pLmN3kWGy8B7f/5Ax";
    assert_eq!(
        events,
        vec![
            StreamEvent::Start,
            StreamEvent::ThinkingStart { index: 0 },
            StreamEvent::ThinkingDelta { index: 0, delta: "Checking the request.".into() },
            StreamEvent::ThinkingEnd {
                index: 0,
                thinking: "Checking the request.".into(),
                signature: Some("EpoBCkYIBRgCKkBshort".into()),
                redacted: false,
            },
            StreamEvent::ThinkingStart { index: 1 },
            StreamEvent::ThinkingEnd {
                index: 1,
                thinking: String::new(),
                signature: Some(data.into()),
                redacted: true
            },
            StreamEvent::TextStart { index: 2 },
            td(2, "Done."),
            text_end(2, "Done."),
        ]
    );
    assert_eq!(
        m.content,
        vec![
            AssistantContent::Thinking(ThinkingContent {
                thinking: "Checking the request.".into(),
                signature: Some("EpoBCkYIBRgCKkBshort".into()),
                redacted: false,
            }),
            AssistantContent::Thinking(ThinkingContent {
                thinking: String::new(),
                signature: Some(data.into()),
                redacted: true
            }),
            text("Done."),
        ]
    );
    assert_eq!(m.stop_reason, StopReason::Stop);
    assert_usage(&m.usage, [60, 95, 0, 0], [0.000_18, 0.001_425, 0.0, 0.0]);
}

#[test]
fn tool_use_arguments_assembled_from_pieces() {
    let (events, m) = done("tool_use_split_json.sse");
    let call = ToolCall {
        id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
        name: "get_weather".into(),
        arguments: json!({"location": "San Francisco, CA", "unit": "fahrenheit"}),
        arguments_error: None,
    };
    let delta = |d: &str| StreamEvent::ToolCallDelta { index: 1, delta: d.into() };
    assert_eq!(
        events,
        vec![
            StreamEvent::Start,
            StreamEvent::TextStart { index: 0 },
            td(0, "I'll check the weather"),
            td(0, " for you."),
            text_end(0, "I'll check the weather for you."),
            StreamEvent::ToolCallStart { index: 1, id: call.id.clone(), name: "get_weather".into() },
            // The empty first piece Anthropic sends makes no event.
            delta("{\"location\": \"San Fra"),
            delta("ncisco, CA\", \"unit\": \"fahr"),
            delta("enheit\"}"),
            StreamEvent::ToolCallEnd { index: 1, tool_call: call.clone() },
        ]
    );
    assert_identity(&m, "msg_014p7gG3wDgGV9EUtLvnow3U");
    assert_eq!(m.content, vec![text("I'll check the weather for you."), AssistantContent::ToolCall(call)]);
    assert_eq!(m.stop_reason, StopReason::ToolUse);
    assert_usage(&m.usage, [472, 89, 0, 0], [0.001_416, 0.001_335, 0.0, 0.0]);
}

#[test]
fn two_tool_calls() {
    let (events, m) = done("two_tool_use.sse");
    let read = ToolCall {
        id: "toolu_01ReadA1b2C3".into(),
        name: "read_file".into(),
        arguments: json!({"path": "src/main.rs"}),
        arguments_error: None,
    };
    let bash = ToolCall {
        id: "toolu_01BashD4e5F6".into(),
        name: "bash".into(),
        arguments: json!({"command": "cargo test -q"}),
        arguments_error: None,
    };
    assert_eq!(
        events,
        vec![
            StreamEvent::Start,
            StreamEvent::ToolCallStart { index: 0, id: read.id.clone(), name: "read_file".into() },
            StreamEvent::ToolCallDelta { index: 0, delta: "{\"path\": \"src/main.rs\"}".into() },
            StreamEvent::ToolCallEnd { index: 0, tool_call: read.clone() },
            StreamEvent::ToolCallStart { index: 1, id: bash.id.clone(), name: "bash".into() },
            StreamEvent::ToolCallDelta { index: 1, delta: "{\"comm".into() },
            StreamEvent::ToolCallDelta { index: 1, delta: "and\": \"cargo te".into() },
            StreamEvent::ToolCallDelta { index: 1, delta: "st -q\"}".into() },
            StreamEvent::ToolCallEnd { index: 1, tool_call: bash.clone() },
        ]
    );
    assert_eq!(m.content, vec![AssistantContent::ToolCall(read), AssistantContent::ToolCall(bash)]);
    assert_eq!(m.stop_reason, StopReason::ToolUse);
    assert_usage(&m.usage, [812, 74, 0, 0], [0.002_436, 0.001_11, 0.0, 0.0]);
}

#[test]
fn cache_reads_and_writes_are_counted_and_priced() {
    let (events, m) = done("cache_usage.sse");
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(m.content, vec![text("Using the cached project notes.")]);
    assert_eq!(m.stop_reason, StopReason::Stop);
    // Anthropic's input_tokens already excludes the cache: 14 fresh, 30 000 read at
    // $0.30/M, 1 200 written at $3.75/M, 57 out.
    assert_usage(&m.usage, [14, 57, 30_000, 1_200], [0.000_042, 0.000_855, 0.009, 0.0045]);
}

#[test]
fn overloaded_error_after_text_keeps_the_partial_message() {
    let (events, m, error) = failed("error_overloaded.sse");
    assert_eq!(
        events,
        vec![StreamEvent::Start, StreamEvent::TextStart { index: 0 }, td(0, "Let me think"), td(0, " about")]
    );
    // 529 is the status Anthropic documents for overloaded_error.
    assert_eq!(
        error,
        LlmError { status: Some(529), ..LlmError::new(ErrorKind::Server, "overloaded_error: Overloaded") }
    );
    assert_identity(&m, "msg_01Overload5Qw");
    assert_eq!(m.content, vec![text("Let me think about")]);
    assert_eq!(m.stop_reason, StopReason::Error);
    assert_eq!(m.error_message.as_deref(), Some("overloaded_error: Overloaded"));
    assert_eq!(m.error_kind.as_deref(), Some("server"));
    assert_usage(&m.usage, [25, 1, 0, 0], [0.000_075, 0.000_015, 0.0, 0.0]);
}

#[test]
fn truncated_stream_is_an_error_with_the_partial_text() {
    let (events, m, error) = failed("truncated.sse");
    assert_eq!(
        events,
        vec![StreamEvent::Start, StreamEvent::TextStart { index: 0 }, td(0, "The first part"), td(0, " of an answer")]
    );
    assert_eq!(error.kind, ErrorKind::InvalidResponse);
    assert_eq!(error.message, "the stream ended before message_stop");
    assert_eq!(m.content, vec![text("The first part of an answer")]);
    assert_eq!(m.stop_reason, StopReason::Error);
    assert_eq!(m.error_kind.as_deref(), Some("invalid_response"));
    assert_usage(&m.usage, [30, 1, 0, 0], [0.000_09, 0.000_015, 0.0, 0.0]);
}

#[test]
fn max_tokens_is_length() {
    let (_, m) = done("max_tokens.sse");
    assert_eq!(m.content, vec![text("Once upon a time there was a")]);
    assert_eq!(m.stop_reason, StopReason::Length);
    assert_usage(&m.usage, [20, 16, 0, 0], [0.000_06, 0.000_24, 0.0, 0.0]);
}

#[test]
fn pings_are_ignored() {
    let (events, m) = done("ping.sse");
    assert_eq!(
        events,
        vec![StreamEvent::Start, StreamEvent::TextStart { index: 0 }, td(0, "pong"), td(0, "!"), text_end(0, "pong!")]
    );
    assert_eq!(m.content, vec![text("pong!")]);
    assert_usage(&m.usage, [9, 3, 0, 0], [0.000_027, 0.000_045, 0.0, 0.0]);
}

#[test]
fn multibyte_utf8_and_json_escapes() {
    let (events, m) = done("utf8_multibyte.sse");
    let full = "こんにちは、世界！🦀 naïve café, e\u{301}, 🚀 café — Ωmega";
    assert_eq!(
        events,
        vec![
            StreamEvent::Start,
            StreamEvent::TextStart { index: 0 },
            td(0, "こんにちは、"),
            td(0, "世界！🦀 "),
            td(0, "naïve café, e\u{301}, "),
            td(0, "🚀 café — Ωmega"),
            text_end(0, full),
        ]
    );
    assert_eq!(m.content, vec![text(full)]);
}

#[test]
fn a_stop_reason_without_message_stop_completes_the_message() {
    let (events, m) = done("stop_reason_without_message_stop.sse");
    assert_eq!(events.last(), Some(&text_end(0, "Complete answer.")));
    assert_eq!(m.content, vec![text("Complete answer.")]);
    assert_eq!(m.stop_reason, StopReason::Stop);
    assert_usage(&m.usage, [11, 4, 0, 0], [0.000_033, 0.000_06, 0.0, 0.0]);
}

#[test]
fn data_only_gateway_stream() {
    let (events, m) = done("no_event_lines.sse");
    assert_eq!(
        events,
        vec![StreamEvent::Start, StreamEvent::TextStart { index: 0 }, td(0, "via gateway"), text_end(0, "via gateway")]
    );
    assert_identity(&m, "msg_gw_1");
    assert_eq!(m.stop_reason, StopReason::Stop);
    assert_usage(&m.usage, [7, 3, 0, 0], [0.000_021, 0.000_045, 0.0, 0.0]);
}

/// Every fixture in the folder has a test above and is a complete body: a second chunk
/// boundary anywhere changes nothing (the shared property test tries every split across
/// all APIs; this keeps the Anthropic set honest on its own).
#[test]
fn every_fixture_is_covered_and_split_invariant() {
    let covered = [
        "cache_usage.sse",
        "cache_usage_long_context_tier.sse",
        "error_overloaded.sse",
        "max_tokens.sse",
        "no_event_lines.sse",
        "ping.sse",
        "redacted_thinking.sse",
        "stop_reason_without_message_stop.sse",
        "text.sse",
        "thinking_signature.sse",
        "tool_use_split_json.sse",
        "truncated.sse",
        "two_tool_use.sse",
        "utf8_multibyte.sse",
    ];
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sse"))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, covered);
    for name in covered {
        let body = fixture(name);
        assert!(body.ends_with(b"\n\n"), "{name} must end with a blank line");
        let whole = decode(&[&body]);
        for i in 0..=body.len() {
            assert_eq!(decode(&[&body[..i], &body[i..]]), whole, "{name} split at {i}");
        }
    }
}
