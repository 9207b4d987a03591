//! The OpenAI-compatible chat-completions decoder: recorded-shape streams replayed through
//! the real pipeline (SSE framer → decoder → assembler), and edge cases written inline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::{json, Value};
use skipjack_llm::error::ErrorKind;
use skipjack_llm::message::{AssistantContent, CostSource, ThinkingContent};
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::{StopReason, StreamEvent};

use common::close;
use common::openai_chat::*;

// ------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------

#[test]
fn plain_text() {
    let events = replay("plain_text.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Hello""#,
            r#"text_delta 0 " there""#,
            r#"text_delta 0 "!""#,
            r#"text_end 0 "Hello there!""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.content, vec![text("Hello there!")]);
    assert_eq!(m.stop_reason, StopReason::Stop);
    assert_eq!(m.response_id.as_deref(), Some("chatcmpl-C1a2b3c4d5"));
    assert_eq!((m.api.as_str(), m.provider.as_str(), m.model.as_str()), ("openai-chat", "test", "test-model"));
    assert_eq!(m.error_message, None);
    assert!(m.timestamp > 0);
    assert_usage(&m.usage, 21, 3, 0, 0);
    assert_computed_total(m);
    assert!(close(m.usage.cost.total, 21.0 * 2.0 / 1e6 + 3.0 * 8.0 / 1e6));
}

#[test]
fn openrouter_keepalive_comments_and_reported_cost() {
    let events = replay("openrouter_keepalive_cost.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "The answer""#,
            r#"text_delta 0 " is 42.""#,
            r#"text_end 0 "The answer is 42.""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.content, vec![text("The answer is 42.")]);
    assert_eq!(m.response_id.as_deref(), Some("gen-1754400000-AbCdEfGh12"));
    // 1200 prompt tokens of which 1000 were read from the cache.
    assert_usage(&m.usage, 200, 8, 1000, 0);
    assert_eq!(m.cost_source, CostSource::Provider);
    assert!(close(m.usage.cost.total, 0.003_724));
}

#[test]
fn crlf_line_ends() {
    let events = replay("crlf.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Line one\n""#,
            r#"text_delta 0 "Line two\r\n""#,
            r#"text_delta 0 "end.""#,
            r#"text_end 0 "Line one\nLine two\r\nend.""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_usage(&m.usage, 15, 5, 0, 0);
    assert_computed_total(m);
}

#[test]
fn content_null_in_the_first_chunk() {
    let events = replay("content_null_first.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Sure""#,
            r#"text_delta 0 ".""#,
            r#"text_end 0 "Sure.""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_usage(&m.usage, 40, 2, 0, 0);
    assert_eq!(m.response_id.as_deref(), Some("chatcmpl-5c0ffee0-1234"));
}

#[test]
fn deepseek_reasoning_content_and_cache_hits() {
    let events = replay("deepseek_reasoning.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            r#"thinking_delta 0 "The user""#,
            r#"thinking_delta 0 " wants 2+2.""#,
            r#"thinking_end 0 "The user wants 2+2.""#,
            "text_start 1",
            r#"text_delta 1 "4""#,
            r#"text_end 1 "4""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.content, vec![thinking("The user wants 2+2."), text("4")]);
    // prompt 30 = 20 hit + 10 miss; the 45 reasoning tokens are inside the 50 completion tokens.
    assert_usage(&m.usage, 10, 50, 20, 0);
    assert_computed_total(m);
}

#[test]
fn openrouter_reasoning_is_counted_once() {
    let events = replay("openrouter_reasoning.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            r#"thinking_delta 0 "Let me""#,
            r#"thinking_delta 0 " think.""#,
            r#"thinking_end 0 "Let me think.""#,
            "text_start 1",
            r#"text_delta 1 "Done thinking.""#,
            r#"text_end 1 "Done thinking.""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    // The structured details are kept on the thinking block for replay to OpenRouter.
    let details =
        r#"{"reasoning_details":[{"format":"unknown","index":0,"text":"Let me think.","type":"reasoning.text"}]}"#;
    assert_eq!(
        m.content,
        vec![
            AssistantContent::Thinking(ThinkingContent {
                thinking: "Let me think.".into(),
                signature: Some(details.into()),
                redacted: false
            }),
            text("Done thinking.")
        ]
    );
    assert_usage(&m.usage, 10, 6, 0, 0);
    assert_eq!(m.cost_source, CostSource::Provider);
    assert!(close(m.usage.cost.total, 0.000_012_3));
}

#[test]
fn reasoning_details_alternating_with_text_open_new_blocks() {
    let events = replay("reasoning_details_interleaved.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            r#"thinking_delta 0 "Plan: ""#,
            r#"thinking_delta 0 "look first.""#,
            r#"thinking_end 0 "Plan: look first.""#,
            "text_start 1",
            r#"text_delta 1 "Looking.""#,
            r#"text_end 1 "Looking.""#,
            "thinking_start 2",
            r#"thinking_delta 2 "Now answer.""#,
            r#"thinking_end 2 "Now answer.""#,
            "text_start 3",
            r#"text_delta 3 "Answer.""#,
            r#"text_end 3 "Answer.""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.text(), "Looking.Answer.");
    // No usage was reported: zero, not made up.
    assert_usage(&m.usage, 0, 0, 0, 0);
    assert_eq!(m.usage.cost.total, 0.0);
}

#[test]
fn parallel_tool_calls_interleaved() {
    let events = replay("parallel_tool_calls_interleaved.sse");
    assert_events(
        &events,
        &[
            "start",
            "toolcall_start 0 call_A1 read",
            "toolcall_start 1 call_B2 grep",
            r#"toolcall_delta 0 "{\"path\":""#,
            r#"toolcall_delta 1 "{\"pattern\":\"fn main\",""#,
            r#"toolcall_delta 0 "\"src/main.rs\"}""#,
            r#"toolcall_delta 1 "\"path\":\"src\"}""#,
            r#"toolcall_end 0 call_A1 read {"path":"src/main.rs"} ok"#,
            r#"toolcall_end 1 call_B2 grep {"path":"src","pattern":"fn main"} ok"#,
            "done ToolUse",
        ],
    );
    let m = final_message(&events);
    assert_eq!(
        m.content,
        vec![
            call("call_A1", "read", json!({"path": "src/main.rs"})),
            call("call_B2", "grep", json!({"pattern": "fn main", "path": "src"})),
        ]
    );
    assert_usage(&m.usage, 120, 40, 0, 0);
}

#[test]
fn tool_calls_repeating_their_identity_are_not_duplicated() {
    let events = replay("tool_calls_repeated_identity.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Let me check.""#,
            r#"text_end 0 "Let me check.""#,
            "toolcall_start 1 Xy7aB3cD9 bash",
            r#"toolcall_delta 1 "{\"command\":""#,
            r#"toolcall_delta 1 " \"ls -la\"}""#,
            "toolcall_start 2 Qw1eR2tY3 read",
            r#"toolcall_delta 2 "{\"path\": \"README.md\"}""#,
            r#"toolcall_end 1 Xy7aB3cD9 bash {"command":"ls -la"} ok"#,
            r#"toolcall_end 2 Qw1eR2tY3 read {"path":"README.md"} ok"#,
            "done ToolUse",
        ],
    );
    let m = final_message(&events);
    assert_eq!(
        m.content,
        vec![
            text("Let me check."),
            call("Xy7aB3cD9", "bash", json!({"command": "ls -la"})),
            call("Qw1eR2tY3", "read", json!({"path": "README.md"})),
        ]
    );
    assert_usage(&m.usage, 300, 30, 0, 0);
}

#[test]
fn invalid_tool_arguments_are_kept_raw_with_an_error() {
    let events = replay("tool_call_invalid_json.sse");
    assert_events(
        &events,
        &[
            "start",
            "toolcall_start 0 call_bad write",
            r#"toolcall_delta 0 "{'path': ""#,
            r#"toolcall_delta 0 "'a.txt'}""#,
            r#"toolcall_end 0 call_bad write "{'path': 'a.txt'}" invalid"#,
            "done ToolUse",
        ],
    );
    let m = final_message(&events);
    let AssistantContent::ToolCall(c) = &m.content[0] else { panic!("{:?}", m.content) };
    assert_eq!(c.arguments, Value::String("{'path': 'a.txt'}".into()));
    assert!(c.arguments_error.as_deref().unwrap().contains("not valid JSON"), "{c:?}");
    assert_usage(&m.usage, 50, 12, 0, 0);
}

#[test]
fn double_encoded_arguments_are_decoded() {
    let events = replay("tool_call_double_encoded.sse");
    assert_events(
        &events,
        &[
            "start",
            "toolcall_start 0 call_dbl read",
            r#"toolcall_delta 0 "\"{\\\"path\\\":""#,
            r#"toolcall_delta 0 " \\\"notes.md\\\"}\"""#,
            r#"toolcall_end 0 call_dbl read {"path":"notes.md"} ok"#,
            "done ToolUse",
        ],
    );
    assert_eq!(final_message(&events).content, vec![call("call_dbl", "read", json!({"path": "notes.md"}))]);
}

#[test]
fn cached_tokens_are_split_from_the_prompt_and_reasoning_not_double_counted() {
    let events = replay("usage_cached_tokens.sse");
    assert_events(
        &events,
        &["start", "text_start 0", r#"text_delta 0 "Cached.""#, r#"text_end 0 "Cached.""#, "done Stop"],
    );
    let m = final_message(&events);
    assert_usage(&m.usage, 86, 300, 1920, 0);
    assert_computed_total(m);
    assert!(close(m.usage.cost.total, 86.0 * 2.0 / 1e6 + 300.0 * 8.0 / 1e6 + 1920.0 * 0.5 / 1e6));
}

#[test]
fn moonshot_usage_inside_the_choice() {
    let events = replay("moonshot_usage_in_choice.sse");
    assert_events(&events, &["start", "text_start 0", r#"text_delta 0 "你好""#, r#"text_end 0 "你好""#, "done Stop"]);
    let m = final_message(&events);
    assert_usage(&m.usage, 9, 13, 10, 0);
    assert_eq!(m.response_id.as_deref(), Some("chatcmpl-68a1b2c3d4e5f6a7b8c9d0e1"));
}

#[test]
fn llama_cpp_timings_are_ignored() {
    let events = replay("llamacpp_timings.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Hi""#,
            r#"text_delta 0 " there""#,
            r#"text_end 0 "Hi there""#,
            "done Stop",
        ],
    );
    assert_usage(&final_message(&events).usage, 10, 2, 0, 0);
}

#[test]
fn openrouter_mid_stream_error_keeps_the_partial_text() {
    let events = replay("openrouter_midstream_error.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Partial""#,
            r#"text_delta 0 " answer""#,
            "error Server Provider disconnected unexpectedly (code: server_error)",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.content, vec![text("Partial answer")]);
    assert_eq!(m.stop_reason, StopReason::Error);
    assert_eq!(m.error_kind.as_deref(), Some("server"));
    assert_eq!(m.error_message.as_deref(), Some("Provider disconnected unexpectedly (code: server_error)"));
    assert_eq!(m.response_id.as_deref(), Some("gen-1754400003-ErR"));
}

#[test]
fn error_chunk_is_classified_as_context_overflow() {
    let events = replay("error_chunk_context_overflow.sse");
    assert_eq!(events.len(), 2, "{:?}", rendered(&events));
    let Some(StreamEvent::Error { error, message }) = events.last() else { panic!("{:?}", rendered(&events)) };
    assert_eq!(error.kind, ErrorKind::ContextOverflow);
    assert!(error.message.starts_with("This model's maximum context length is 32768 tokens."), "{}", error.message);
    assert!(error.message.ends_with("(code: 400)"), "{}", error.message);
    assert!(message.content.is_empty());
    assert_eq!(message.error_kind.as_deref(), Some("context_overflow"));
}

#[test]
fn finish_reason_error_fails_the_stream() {
    let events = replay("finish_reason_error.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Half""#,
            r#"error Server the provider ended the response with finish_reason "error""#,
        ],
    );
    assert_eq!(final_message(&events).content, vec![text("Half")]);
}

#[test]
fn truncated_stream_is_an_error_with_the_partial_message() {
    let events = replay("truncated.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Once upon""#,
            r#"text_delta 0 " a time""#,
            "error InvalidResponse the stream ended before a finish reason or [DONE]",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.content, vec![text("Once upon a time")]);
    assert_eq!(m.stop_reason, StopReason::Error);
    assert_eq!(m.error_kind.as_deref(), Some("invalid_response"));
}

#[test]
fn length_stop_with_a_cut_tool_call() {
    let events = replay("length_truncated_tool_call.sse");
    assert_events(
        &events,
        &[
            "start",
            "toolcall_start 0 call_long write",
            r#"toolcall_delta 0 "{\"path\":\"out.txt\",\"content\":\"lorem""#,
            r#"toolcall_delta 0 " ipsum dolor""#,
            r#"toolcall_end 0 call_long write "{\"path\":\"out.txt\",\"content\":\"lorem ipsum dolor" invalid"#,
            "done Length",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.stop_reason, StopReason::Length);
    assert_usage(&m.usage, 80, 16, 0, 0);
}

#[test]
fn multi_byte_utf8_raw_and_escaped() {
    let events = replay("utf8_multibyte.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Crab: 🦀 ""#,
            r#"text_delta 0 "🦀 ""#,
            r#"text_delta 0 "日本語のテキスト""#,
            // Debug formatting escapes the combining acute accent (U+0301).
            r#"text_delta 0 " e\u{301} ✓""#,
            r#"text_end 0 "Crab: 🦀 🦀 日本語のテキスト e\u{301} ✓""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.text(), "Crab: 🦀 🦀 日本語のテキスト e\u{301} ✓");
    assert_usage(&m.usage, 0, 0, 0, 0);
    assert_eq!(m.response_id.as_deref(), Some("chatcmpl-UtF8"));
}

#[test]
fn tool_calls_without_index_and_a_stop_finish_are_tool_use() {
    let events = replay("tool_calls_without_index.sse");
    assert_events(
        &events,
        &[
            "start",
            "toolcall_start 0 call_g1 read",
            r#"toolcall_delta 0 "{\"path\":\"a.rs\"}""#,
            "toolcall_start 1 call_g2 read",
            r#"toolcall_delta 1 "{\"path\":\"b.rs\"}""#,
            r#"toolcall_end 0 call_g1 read {"path":"a.rs"} ok"#,
            r#"toolcall_end 1 call_g2 read {"path":"b.rs"} ok"#,
            "done ToolUse",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.response_id, None);
    assert_usage(&m.usage, 100, 20, 0, 0);
}

#[test]
fn done_without_finish_reason_is_a_normal_stop() {
    let events = replay("done_without_finish.sse");
    assert_events(&events, &["start", "text_start 0", r#"text_delta 0 "ok""#, r#"text_end 0 "ok""#, "done Stop"]);
}

#[test]
fn azure_content_filter() {
    let events = replay("azure_content_filter.sse");
    assert_events(
        &events,
        &["start", "text_start 0", r#"text_delta 0 "The battle""#, r#"text_end 0 "The battle""#, "done ContentFilter"],
    );
    // The prompt-filter chunk's empty id is not taken as the response id.
    assert_eq!(final_message(&events).response_id.as_deref(), Some("chatcmpl-AzUr3"));
}

// ------------------------------------------------------------------------------------------
// Decoder edge cases too small for a fixture file
// ------------------------------------------------------------------------------------------

fn decode(body: &str) -> Vec<StreamEvent> {
    decode_chunks(&model(), &[body.as_bytes()])
}

#[test]
fn non_json_data_is_an_invalid_response() {
    let events = decode("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: <html>502</html>\n\n");
    let Some(StreamEvent::Error { error, message }) = events.last() else { panic!("{:?}", rendered(&events)) };
    assert_eq!(error.kind, ErrorKind::InvalidResponse);
    assert!(error.message.contains("<html>502</html>"), "{}", error.message);
    assert_eq!(message.text(), "a");
}

#[test]
fn odd_usage_never_drops_content() {
    let body = concat!(
        r#"data: {"choices":[{"index":0,"delta":{"content":"kept"},"finish_reason":"stop"}],"#,
        r#""usage":{"prompt_tokens":null,"completion_tokens":"7","prompt_tokens_details":"oops","cost":null}}"#,
        "\n\n",
        r#"data: {"choices":[],"usage":[1,2]}"#,
        "\n\n",
        r#"data: {"choices":[],"usage":{"prompt_tokens":12.0,"completion_tokens":-3}}"#,
        "\n\n"
    );
    let events = decode(body);
    let m = final_message(&events);
    assert_eq!(m.text(), "kept");
    assert_eq!(m.stop_reason, StopReason::Stop);
    // Fields merge over chunks: the later prompt count, the earlier completion count.
    assert_usage(&m.usage, 12, 7, 0, 0);
    assert_eq!(m.cost_source, CostSource::Computed);
}

#[test]
fn finish_without_done_or_usage_is_complete() {
    let events = decode("data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"length\"}]}\n\n");
    assert_eq!(rendered(&events).last().map(String::as_str), Some("done Length"));
}

#[test]
fn sse_error_event_is_a_stream_error() {
    let events = decode("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\nevent: error\ndata: {\"error\":{\"message\":\"Rate limit reached for requests\",\"code\":\"rate_limit_exceeded\"}}\n\n");
    let Some(StreamEvent::Error { error, .. }) = events.last() else { panic!("{:?}", rendered(&events)) };
    assert_eq!(error.kind, ErrorKind::RateLimited);
    assert_eq!(error.message, "Rate limit reached for requests (code: rate_limit_exceeded)");
}

#[test]
fn one_index_with_distinct_ids_is_two_calls() {
    let body = concat!(
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}"#,
        "\n\n",
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"g","arguments":"{\"x\":1}"}}]}}]}"#,
        "\n\n",
        r#"data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        "\n\ndata: [DONE]\n\n"
    );
    let events = decode(body);
    assert_eq!(final_message(&events).content, vec![call("a", "f", json!({})), call("b", "g", json!({"x": 1}))]);
}

#[test]
fn a_call_without_id_gets_a_stable_one_and_later_fragments_join_it() {
    let body = concat!(
        r#"data: {"choices":[{"delta":{"tool_calls":[{"function":{"name":"ls","arguments":"{\"a\""}}]}}]}"#,
        "\n\n",
        r#"data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"#,
        "\n\n",
        r#"data: {"choices":[{"delta":{"content":"","tool_calls":[{"index":1,"function":{"name":"cat","arguments":{"whole":"object"}}}]}}]}"#,
        "\n\ndata: [DONE]\n\n"
    );
    let events = decode(body);
    let m = final_message(&events);
    // No finish_reason, but [DONE] after a tool call: the call wants running.
    assert_eq!(m.stop_reason, StopReason::ToolUse);
    assert_eq!(m.content.len(), 2, "{:?}", m.content);
    assert_eq!(m.content[0], call("call_0", "ls", json!({"a": 1})));
    // Some servers send `arguments` as an object: its JSON text is used.
    assert_eq!(m.content[1], call("call_1", "cat", json!({"whole": "object"})));
}

#[test]
fn refusal_is_shown_as_text() {
    let events = decode("data: {\"choices\":[{\"delta\":{\"content\":null,\"refusal\":\"I can't help with that.\"},\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    assert_eq!(final_message(&events).text(), "I can't help with that.");
}
