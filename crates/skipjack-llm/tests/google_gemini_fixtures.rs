//! The Gemini wire API: recorded-shape streams replayed through the real pipeline (SSE framer
//! → decoder → assembler): every event, the final message, canonical usage and cost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{close, fixture, gemini_model as model, GEMINI_PRICE};
use skipjack_llm::error::ErrorKind;
use skipjack_llm::message::{AssistantContent, AssistantMessage};
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::{LlmError, StopReason, StreamEvent};

fn replay(name: &str) -> Vec<StreamEvent> {
    decode_chunks(&model(), &[&fixture("google_gemini", name)])
}

fn render(e: &StreamEvent) -> String {
    match e {
        StreamEvent::Start => "start".into(),
        StreamEvent::TextStart { index } => format!("text_start {index}"),
        StreamEvent::TextDelta { index, delta } => format!("text_delta {index} {delta:?}"),
        StreamEvent::TextEnd { index, text } => format!("text_end {index} {text:?}"),
        StreamEvent::ThinkingStart { index } => format!("thinking_start {index}"),
        StreamEvent::ThinkingDelta { index, delta } => format!("thinking_delta {index} {delta:?}"),
        StreamEvent::ThinkingEnd { index, thinking, signature, .. } => {
            format!("thinking_end {index} {thinking:?} {signature:?}")
        }
        StreamEvent::ToolCallStart { index, id, name } => format!("toolcall_start {index} {id} {name}"),
        StreamEvent::ToolCallDelta { index, delta } => format!("toolcall_delta {index} {delta}"),
        StreamEvent::ToolCallEnd { index, tool_call } => {
            format!("toolcall_end {index} {} {} {}", tool_call.id, tool_call.name, tool_call.arguments)
        }
        StreamEvent::Retry { attempt, .. } => format!("retry {attempt}"),
        StreamEvent::Done { message } => format!("done {:?}", message.stop_reason),
        StreamEvent::Error { error, .. } => format!("error {:?} {}", error.kind, error.message),
    }
}

fn assert_events(events: &[StreamEvent], expected: &[&str]) {
    let got: Vec<String> = events.iter().map(render).collect();
    assert_eq!(got, expected);
}

fn final_message(events: &[StreamEvent]) -> &AssistantMessage {
    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1);
    match events.last() {
        Some(StreamEvent::Done { message } | StreamEvent::Error { message, .. }) => message,
        other => panic!("last event is not terminal: {other:?}"),
    }
}

fn error_of(events: &[StreamEvent]) -> &LlmError {
    match events.last() {
        Some(StreamEvent::Error { error, .. }) => error,
        other => panic!("not an error: {other:?}"),
    }
}

/// Usage tokens (input, output, cache_read, cache_write, total) and the cost from Gemini's prices.
fn assert_usage(m: &AssistantMessage, tokens: (u64, u64, u64, u64)) {
    let u = &m.usage;
    assert_eq!((u.input, u.output, u.cache_read, u.cache_write), tokens);
    assert_eq!(u.total_tokens, tokens.0 + tokens.1 + tokens.2 + tokens.3);
    let per = |n: u64, p: f64| n as f64 * p / 1e6;
    assert!(close(u.cost.input, per(tokens.0, GEMINI_PRICE.input)));
    assert!(close(u.cost.output, per(tokens.1, GEMINI_PRICE.output)));
    assert!(close(u.cost.cache_read, per(tokens.2, GEMINI_PRICE.cache_read)));
    assert!(close(u.cost.total, u.cost.input + u.cost.output + u.cost.cache_read + u.cost.cache_write));
}

#[test]
fn text_streams_in_pieces() {
    let events = replay("text.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            "text_delta 0 \"Hello\"",
            "text_delta 0 \", world\"",
            "text_delta 0 \"!\"",
            "text_end 0 \"Hello, world!\"",
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.api, "google-gemini");
    assert_eq!(m.response_id.as_deref(), Some("resp-1"));
    assert_usage(m, (12, 4, 0, 0));
    // 12 × 1.25 + 4 × 10 per million.
    assert!(close(m.usage.cost.total, 0.000_055));
}

#[test]
fn thoughts_become_thinking_and_a_signed_text_part_gets_a_carrier() {
    let events = replay("thinking_signature.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            "thinking_delta 0 \"**Planning**\\nThe user wants\"",
            "thinking_delta 0 \" a greeting.\"",
            "thinking_end 0 \"**Planning**\\nThe user wants a greeting.\" None",
            "thinking_start 1",
            "thinking_end 1 \"\" Some(\"c2lnLXRleHQtMQ==\")",
            "text_start 2",
            "text_delta 2 \"Hi there\"",
            "text_delta 2 \".\"",
            "text_end 2 \"Hi there.\"",
            "done Stop",
        ],
    );
    // Thoughts are billed as output: 3 answer + 15 thought tokens.
    assert_usage(final_message(&events), (20, 18, 0, 0));
}

#[test]
fn parallel_calls_keep_their_order_and_get_ids() {
    let events = replay("parallel_function_calls.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            "thinking_delta 0 \"I'll read both files.\"",
            "thinking_end 0 \"I'll read both files.\" None",
            "thinking_start 1",
            "thinking_end 1 \"\" Some(\"c2lnLWNhbGwtMQ==\")",
            "toolcall_start 2 gemini-call-resp-par-0 read",
            "toolcall_delta 2 {\"path\":\"a.txt\"}",
            "toolcall_end 2 gemini-call-resp-par-0 read {\"path\":\"a.txt\"}",
            "toolcall_start 3 gemini-call-resp-par-1 read",
            "toolcall_delta 3 {\"path\":\"b.txt\"}",
            "toolcall_end 3 gemini-call-resp-par-1 read {\"path\":\"b.txt\"}",
            "done ToolUse",
        ],
    );
    assert_usage(final_message(&events), (100, 80, 0, 0));
}

#[test]
fn a_server_issued_call_id_is_kept() {
    let events = replay("function_call_with_id.sse");
    let m = final_message(&events);
    assert_eq!(m.stop_reason, StopReason::ToolUse);
    match &m.content[..] {
        [AssistantContent::ToolCall(c)] => {
            assert_eq!((c.id.as_str(), c.name.as_str()), ("srv-call-7", "bash"));
            assert_eq!(c.arguments, serde_json::json!({"command": "ls -la"}));
        }
        other => panic!("{other:?}"),
    }
    assert_usage(m, (40, 9, 0, 0));
}

#[test]
fn a_call_without_args_has_empty_arguments() {
    let events = replay("function_call_no_args.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            "text_delta 0 \"Checking the time.\"",
            "text_end 0 \"Checking the time.\"",
            "toolcall_start 1 gemini-call-resp-noargs-0 now",
            "toolcall_delta 1 {}",
            "toolcall_end 1 gemini-call-resp-noargs-0 now {}",
            "done ToolUse",
        ],
    );
}

#[test]
fn the_trailing_signature_only_part_is_kept_on_an_empty_text_block() {
    let events = replay("signature_only_part.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            "thinking_delta 0 \"Thinking it over.\"",
            "thinking_end 0 \"Thinking it over.\" None",
            "text_start 1",
            "text_delta 1 \"Done.\"",
            "text_end 1 \"Done.\"",
            "thinking_start 2",
            "thinking_end 2 \"\" Some(\"c2lnLWVuZA==\")",
            "text_start 3",
            "text_end 3 \"\"",
            "done Stop",
        ],
    );
    assert_usage(final_message(&events), (11, 9, 0, 0));
}

#[test]
fn max_tokens_is_length() {
    let events = replay("max_tokens.sse");
    let m = final_message(&events);
    assert_eq!(m.stop_reason, StopReason::Length);
    assert_eq!(m.text(), "The answer is long and was cut");
    assert_usage(m, (30, 8, 0, 0));
}

#[test]
fn safety_is_a_content_filter_stop() {
    let events = replay("safety.sse");
    let m = final_message(&events);
    assert_eq!(m.stop_reason, StopReason::ContentFilter);
    assert_eq!(m.text(), "I can");
    assert_usage(m, (25, 2, 0, 0));
}

#[test]
fn a_blocked_prompt_is_an_error_with_its_reason() {
    let events = replay("prompt_blocked.sse");
    assert_events(
        &events,
        &["start", "error BadRequest Gemini blocked the prompt (PROHIBITED_CONTENT): The prompt was blocked."],
    );
    let m = final_message(&events);
    assert_eq!(m.stop_reason, StopReason::Error);
    assert_usage(m, (17, 0, 0, 0));
}

#[test]
fn a_malformed_function_call_is_an_error() {
    let events = replay("malformed_function_call.sse");
    let e = error_of(&events);
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(e.message.contains("MALFORMED_FUNCTION_CALL"), "{}", e.message);
    assert!(e.message.contains("print(default_api.read(path=))"), "{}", e.message);
    assert_usage(final_message(&events), (50, 0, 0, 0));
}

#[test]
fn an_error_event_mid_stream_keeps_the_partial_text() {
    let events = replay("error_midstream.sse");
    let e = error_of(&events);
    assert_eq!((e.kind, e.status), (ErrorKind::Server, Some(503)));
    assert_eq!(e.message, "UNAVAILABLE: The model is overloaded. Please try again later.");
    let m = final_message(&events);
    assert_eq!((m.stop_reason, m.text().as_str()), (StopReason::Error, "Partial"));
}

#[test]
fn resource_exhausted_is_a_rate_limit_with_the_retry_info_delay() {
    let events = replay("resource_exhausted.sse");
    let e = error_of(&events);
    assert_eq!((e.kind, e.status, e.retry_after_ms), (ErrorKind::RateLimited, Some(429), Some(7_000)));
    // Retried, although the message mentions billing: Google said when to come back.
    assert!(skipjack_llm::transport::retry::is_retryable_stream_error(e));
}

#[test]
fn invalid_argument_with_a_token_count_is_context_overflow() {
    let events = replay("context_overflow.sse");
    let e = error_of(&events);
    assert_eq!((e.kind, e.status), (ErrorKind::ContextOverflow, Some(400)));
    assert!(!skipjack_llm::transport::retry::is_retryable_stream_error(e));
}

#[test]
fn a_stream_without_finish_reason_is_truncated() {
    let events = replay("truncated.sse");
    let e = error_of(&events);
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert_eq!(e.message, "the stream ended before a chunk with finishReason");
    assert_eq!(final_message(&events).text(), "This stream stops");
}

#[test]
fn cached_tokens_are_read_from_the_cache_not_input() {
    let events = replay("cached_usage.sse");
    let m = final_message(&events);
    assert_usage(m, (904, 10, 4096, 0));
    // 904 × 1.25 + 10 × 10 + 4096 × 0.125 per million.
    assert!(close(m.usage.cost.total, 0.000_001_13 * 1000.0 + 0.000_1 + 0.000_512));
}

#[test]
fn multibyte_text_survives() {
    let events = replay("utf8_multibyte.sse");
    let m = final_message(&events);
    assert_eq!(m.text(), "Grüße 👋 日本語");
    assert_eq!(m.content.len(), 1);
    assert_usage(m, (9, 5, 0, 0));
}

#[test]
fn each_signed_thought_keeps_its_own_block_and_signature() {
    let events = replay("two_signed_thoughts.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            "thinking_delta 0 \"First thought.\"",
            "thinking_end 0 \"First thought.\" Some(\"c2lnLUE=\")",
            "thinking_start 1",
            "thinking_delta 1 \"Second thought.\"",
            "thinking_delta 1 \" More.\"",
            "thinking_end 1 \"Second thought. More.\" Some(\"c2lnLUI=\")",
            "text_start 2",
            "text_delta 2 \"Answer.\"",
            "text_end 2 \"Answer.\"",
            "done Stop",
        ],
    );
    assert_usage(final_message(&events), (8, 14, 0, 0));
}
