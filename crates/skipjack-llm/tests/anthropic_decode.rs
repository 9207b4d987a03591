//! The Anthropic decoder's edges, streams written inline: error events and their classes,
//! lenient usage, gateway quirks, stop reasons and the end-of-stream rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::json;
use skipjack_llm::message::{AssistantContent, TextContent};
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::{AssistantMessage, ErrorKind, LlmError, StopReason, StreamEvent};

use common::anthropic_model as model;

const START: &str =
    r#"{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":10,"output_tokens":1}}}"#;
const TEXT0: &str = r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#;
const STOP0: &str = r#"{"type":"content_block_stop","index":0}"#;
const END_TURN: &str = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}"#;
const MESSAGE_STOP: &str = r#"{"type":"message_stop"}"#;

fn text_delta(index: usize, text: &str) -> String {
    json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}).to_string()
}

/// `(event name, data)` pairs as an SSE body.
fn sse(events: &[(Option<&str>, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, data) in events {
        if let Some(name) = name {
            body.push_str(&format!("event: {name}\n"));
        }
        body.push_str(&format!("data: {data}\n\n"));
    }
    body.into_bytes()
}

fn data_only(datas: &[&str]) -> Vec<u8> {
    sse(&datas.iter().map(|d| (None, *d)).collect::<Vec<_>>())
}

fn terminal(body: &[u8]) -> StreamEvent {
    let events = decode_chunks(&model(), &[body]);
    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1, "{events:?}");
    events.last().cloned().unwrap()
}

fn done(body: &[u8]) -> AssistantMessage {
    match terminal(body) {
        StreamEvent::Done { message } => message,
        other => panic!("expected done, got {other:?}"),
    }
}

fn failed(body: &[u8]) -> (AssistantMessage, LlmError) {
    match terminal(body) {
        StreamEvent::Error { message, error } => (message, error),
        other => panic!("expected error, got {other:?}"),
    }
}

fn text(s: &str) -> AssistantContent {
    AssistantContent::Text(TextContent { text: s.into() })
}

#[test]
fn error_events_are_classified_by_type_then_message() {
    let cases = [
        ("overloaded_error", "Overloaded", ErrorKind::Server),
        ("api_error", "Internal server error", ErrorKind::Server),
        (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            ErrorKind::RateLimited,
        ),
        ("authentication_error", "invalid x-api-key", ErrorKind::Auth),
        ("permission_error", "Your API key does not have permission", ErrorKind::Auth),
        ("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", ErrorKind::ContextOverflow),
        ("invalid_request_error", "messages.1.content.0.thinking.signature: Field required", ErrorKind::BadRequest),
        ("not_found_error", "model: claude-nope", ErrorKind::BadRequest),
        ("request_too_large", "Request exceeds the maximum allowed number of bytes", ErrorKind::ContextOverflow),
        ("some_future_error", "rate limit reached", ErrorKind::RateLimited),
        ("some_future_error", "boom", ErrorKind::Server),
    ];
    for (kind, message, want) in cases {
        let error = json!({"type": "error", "error": {"type": kind, "message": message}}).to_string();
        let td = text_delta(0, "partial");
        let body = sse(&[
            (Some("message_start"), START),
            (Some("content_block_start"), TEXT0),
            (Some("content_block_delta"), &td),
            (Some("error"), &error),
        ]);
        let (m, e) = failed(&body);
        // The status an error type stands for is kept, so the transport can retry the
        // retryable ones like the HTTP status (see tests/hostile_servers.rs).
        let status = match kind {
            "overloaded_error" => Some(529),
            "rate_limit_error" => Some(429),
            "api_error" => Some(500),
            _ => None,
        };
        assert_eq!(e, LlmError { status, ..LlmError::new(want, format!("{kind}: {message}")) }, "{kind}");
        assert_eq!(m.content, vec![text("partial")]);
        assert_eq!(m.error_kind.as_deref(), Some(want.as_str()));
        // Also without the `event:` line: the `type` field alone decides.
        let (_, e) = failed(&data_only(&[START, &error]));
        assert_eq!(e.kind, want, "{kind} without event line");
    }
}

#[test]
fn error_events_in_gateway_shapes() {
    // `event: error` whose data has no `type` tag.
    let body = sse(&[
        (Some("message_start"), START),
        (Some("error"), r#"{"error":{"type":"rate_limit_error","message":"slow down"}}"#),
    ]);
    let want = LlmError { status: Some(429), ..LlmError::new(ErrorKind::RateLimited, "rate_limit_error: slow down") };
    assert_eq!(failed(&body).1, want);
    let body = sse(&[(Some("error"), r#"{"message":"upstream connect error"}"#)]);
    assert_eq!(failed(&body).1, LlmError::new(ErrorKind::Server, "upstream connect error"));
    // Not JSON at all.
    let body = sse(&[(Some("error"), "Internal Server Error")]);
    assert_eq!(failed(&body).1, LlmError::new(ErrorKind::Server, "Internal Server Error"));
}

#[test]
fn unreadable_data_fails_instead_of_dropping_content() {
    let body = data_only(&[START, TEXT0, "{\"type\":\"content_block_delta\",\"index\":0,"]);
    let (_, e) = failed(&body);
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(e.message.starts_with("unreadable stream event"), "{}", e.message);
}

#[test]
fn odd_usage_fields_never_cost_content_or_the_stop_reason() {
    let start =
        r#"{"type":"message_start","message":{"id":"msg_u","usage":{"input_tokens":"many","output_tokens":null}}}"#;
    let delta = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":12.0,"output_tokens":7,"cache_read_input_tokens":-5,"cache_creation_input_tokens":null}}"#;
    let td = text_delta(0, "kept");
    let m = done(&data_only(&[start, TEXT0, &td, STOP0, delta, MESSAGE_STOP]));
    assert_eq!(m.content, vec![text("kept")]);
    assert_eq!(m.stop_reason, StopReason::Stop);
    assert_eq!((m.usage.input, m.usage.output, m.usage.cache_read, m.usage.cache_write), (12, 7, 0, 0));
    // No usage anywhere: zero counts, content intact.
    let m = done(&data_only(&[
        r#"{"type":"message_start","message":{}}"#,
        TEXT0,
        &td,
        STOP0,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#,
        MESSAGE_STOP,
    ]));
    assert_eq!(m.content, vec![text("kept")]);
    assert_eq!(m.usage.total_tokens, 0);
    assert_eq!(m.response_id, None);
}

#[test]
fn numeric_string_counts_are_read_like_the_openai_decoders_read_them() {
    // One count contract for all providers: a gateway relaying usage as strings is counted.
    let start =
        r#"{"type":"message_start","message":{"id":"msg_s","usage":{"input_tokens":"12","output_tokens":" 3 "}}}"#;
    let delta = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":"7","cache_read_input_tokens":"-2","cache_creation_input_tokens":"4.5"}}"#;
    let td = text_delta(0, "kept");
    let m = done(&data_only(&[start, TEXT0, &td, STOP0, delta, MESSAGE_STOP]));
    assert_eq!(m.content, vec![text("kept")]);
    assert_eq!((m.usage.input, m.usage.output, m.usage.cache_read, m.usage.cache_write), (12, 7, 0, 0));
}

#[test]
fn tool_input_given_whole_in_block_start() {
    let start_block = r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_9","name":"ls","input":{"path":"."}}}"#;
    let tool_stop = r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#;
    let events = decode_chunks(&model(), &[&data_only(&[START, start_block, STOP0, tool_stop, MESSAGE_STOP])]);
    assert!(events.contains(&StreamEvent::ToolCallDelta { index: 0, delta: r#"{"path":"."}"#.into() }), "{events:?}");
    let StreamEvent::Done { message } = events.last().unwrap() else { panic!("{events:?}") };
    let AssistantContent::ToolCall(call) = &message.content[0] else { panic!("{message:?}") };
    assert_eq!((call.id.as_str(), call.name.as_str(), &call.arguments), ("toolu_9", "ls", &json!({"path": "."})));
    assert_eq!(message.stop_reason, StopReason::ToolUse);
}

#[test]
fn malformed_tool_json_is_reported_on_the_call() {
    let start_block = r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_b","name":"edit","input":{}}}"#;
    let piece = r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"a"}}"#;
    let m = done(&data_only(&[
        START,
        start_block,
        piece,
        STOP0,
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"}}"#,
        MESSAGE_STOP,
    ]));
    let AssistantContent::ToolCall(call) = &m.content[0] else { panic!("{m:?}") };
    assert_eq!(call.arguments, json!("{\"path\": \"a"));
    assert!(call.arguments_error.as_deref().unwrap().contains("not valid JSON"));
}

#[test]
fn wire_indexes_map_to_content_indexes() {
    // A server tool block (not requested by this client) at wire index 0, a citation
    // delta, then text at wire index 1: it becomes content index 0.
    let server = r#"{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#;
    let text1 = r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":"Hi"}}"#;
    let cite = r#"{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location"}}}"#;
    let td = text_delta(1, " there");
    let late = text_delta(1, " (after stop)");
    let events = decode_chunks(
        &model(),
        &[&data_only(&[
            START,
            server,
            STOP0,
            text1,
            cite,
            &td,
            r#"{"type":"content_block_stop","index":1}"#,
            &late,
            END_TURN,
            MESSAGE_STOP,
        ])],
    );
    assert_eq!(
        events[..5],
        [
            StreamEvent::Start,
            StreamEvent::TextStart { index: 0 },
            StreamEvent::TextDelta { index: 0, delta: "Hi".into() },
            StreamEvent::TextDelta { index: 0, delta: " there".into() },
            StreamEvent::TextEnd { index: 0, text: "Hi there".into() },
        ]
    );
    let StreamEvent::Done { message } = &events[5] else { panic!("{events:?}") };
    assert_eq!(message.content, vec![text("Hi there")]);
}

#[test]
fn deltas_without_a_block_start_open_their_block() {
    let thinking = r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#;
    let td = text_delta(1, "answer");
    let m = done(&data_only(&[START, thinking, &td, END_TURN, MESSAGE_STOP]));
    assert_eq!(m.content.len(), 2);
    assert!(matches!(&m.content[0], AssistantContent::Thinking(t) if t.thinking == "hmm" && t.signature.is_none()));
    assert_eq!(m.content[1], text("answer"));
}

#[test]
fn stop_reasons_map() {
    let cases = [
        ("end_turn", StopReason::Stop),
        ("stop_sequence", StopReason::Stop),
        ("pause_turn", StopReason::Stop),
        ("max_tokens", StopReason::Length),
        ("model_context_window_exceeded", StopReason::Length),
        ("tool_use", StopReason::ToolUse),
        ("refusal", StopReason::ContentFilter),
    ];
    for (reason, want) in cases {
        let delta = json!({"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": 2}})
            .to_string();
        let td = text_delta(0, "x");
        assert_eq!(done(&data_only(&[START, TEXT0, &td, STOP0, &delta, MESSAGE_STOP])).stop_reason, want, "{reason}");
    }
}

#[test]
fn message_stop_without_a_stop_reason_is_inferred() {
    let td = text_delta(0, "x");
    assert_eq!(done(&data_only(&[START, TEXT0, &td, STOP0, MESSAGE_STOP])).stop_reason, StopReason::Stop);
    let tool = r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}"#;
    assert_eq!(done(&data_only(&[START, tool, STOP0, MESSAGE_STOP])).stop_reason, StopReason::ToolUse);
}

#[test]
fn nothing_after_message_stop_is_read() {
    let td = text_delta(0, "first");
    let extra = text_delta(0, " extra");
    let m = done(&data_only(&[
        START,
        TEXT0,
        &td,
        END_TURN,
        MESSAGE_STOP,
        &extra,
        r#"{"type":"error","error":{"type":"api_error","message":"late"}}"#,
    ]));
    assert_eq!(m.content, vec![text("first")]);
}

#[test]
fn an_empty_body_is_truncated() {
    let (m, e) = failed(b"");
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(m.content.is_empty());
    let (_, e) = failed(&data_only(&[START, r#"{"type": "ping"}"#]));
    assert_eq!(e.message, "the stream ended before message_stop");
}

#[test]
fn deltas_of_the_wrong_kind_do_not_touch_a_block() {
    let redacted =
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"ENCRYPTED"}}"#;
    let sig = r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"XX"}}"#;
    let think = r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"leak"}}"#;
    let td = text_delta(0, "stray");
    let m = done(&data_only(&[START, redacted, sig, think, &td, STOP0, END_TURN, MESSAGE_STOP]));
    assert_eq!(
        m.content,
        vec![AssistantContent::Thinking(skipjack_llm::message::ThinkingContent {
            thinking: String::new(),
            signature: Some("ENCRYPTED".into()),
            redacted: true,
        })]
    );
}
