//! The OpenAI-compatible chat-completions wire API: recorded-shape streams replayed through
//! the real pipeline (SSE framer → decoder → assembler), and the requests it builds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use skipjack_llm::error::ErrorKind;
use skipjack_llm::message::{
    AssistantContent, AssistantMessage, Context, CostSource, ImageContent, InputContent, Message, TextContent,
    ThinkingContent, Tool, ToolCall, ToolResultMessage, UserMessage,
};
use skipjack_llm::model::ReasoningEffort;
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::providers::build_request;
use skipjack_llm::{Api, Model, Price, StopReason, StreamEvent, StreamOptions, Usage};

const PRICE: Price = Price { input: 2.0, output: 8.0, cache_read: 0.5, cache_write: 2.5 };

fn model() -> Model {
    Model {
        provider: "test".into(),
        id: "test-model".into(),
        api: Api::OpenAiChat,
        base_url: "http://127.0.0.1:8080/v1".into(),
        name: None,
        context_window: 128_000,
        max_output: 16_000,
        price: PRICE,
        reasoning: false,
        images: true,
        api_key_env: None,
        headers: BTreeMap::new(),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse/openai").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn replay(name: &str) -> Vec<StreamEvent> {
    let bytes = fixture(name);
    decode_chunks(&model(), &[&bytes])
}

fn render(e: &StreamEvent) -> String {
    match e {
        StreamEvent::Start => "start".into(),
        StreamEvent::TextStart { index } => format!("text_start {index}"),
        StreamEvent::TextDelta { index, delta } => format!("text_delta {index} {delta:?}"),
        StreamEvent::TextEnd { index, text } => format!("text_end {index} {text:?}"),
        StreamEvent::ThinkingStart { index } => format!("thinking_start {index}"),
        StreamEvent::ThinkingDelta { index, delta } => format!("thinking_delta {index} {delta:?}"),
        StreamEvent::ThinkingEnd { index, thinking, .. } => format!("thinking_end {index} {thinking:?}"),
        StreamEvent::ToolCallStart { index, id, name } => format!("toolcall_start {index} {id} {name}"),
        StreamEvent::ToolCallDelta { index, delta } => format!("toolcall_delta {index} {delta:?}"),
        StreamEvent::ToolCallEnd { index, tool_call } => format!(
            "toolcall_end {index} {} {} {} {}",
            tool_call.id,
            tool_call.name,
            tool_call.arguments,
            if tool_call.arguments_error.is_some() { "invalid" } else { "ok" }
        ),
        StreamEvent::Retry { attempt, .. } => format!("retry {attempt}"),
        StreamEvent::Done { message } => format!("done {:?}", message.stop_reason),
        StreamEvent::Error { error, .. } => format!("error {:?} {}", error.kind, error.message),
    }
}

fn rendered(events: &[StreamEvent]) -> Vec<String> {
    events.iter().map(render).collect()
}

/// The message of the one terminal event, which must be last.
fn final_message(events: &[StreamEvent]) -> &AssistantMessage {
    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1, "{:?}", rendered(events));
    match events.last() {
        Some(StreamEvent::Done { message } | StreamEvent::Error { message, .. }) => message,
        other => panic!("last event is not terminal: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// Tokens as given; cost from `PRICE`.
fn assert_usage(u: &Usage, input: u64, output: u64, cache_read: u64, cache_write: u64) {
    assert_eq!(
        (u.input, u.output, u.cache_read, u.cache_write, u.total_tokens),
        (input, output, cache_read, cache_write, input + output + cache_read + cache_write),
        "{u:?}"
    );
    #[allow(clippy::cast_precision_loss)]
    let per = |t: u64, p: f64| t as f64 * p / 1e6;
    assert!(close(u.cost.input, per(input, PRICE.input)), "{u:?}");
    assert!(close(u.cost.output, per(output, PRICE.output)), "{u:?}");
    assert!(close(u.cost.cache_read, per(cache_read, PRICE.cache_read)), "{u:?}");
    assert!(close(u.cost.cache_write, per(cache_write, PRICE.cache_write)), "{u:?}");
}

fn assert_computed_total(m: &AssistantMessage) {
    let c = m.usage.cost;
    assert!(close(c.total, c.input + c.output + c.cache_read + c.cache_write), "{c:?}");
    assert_eq!(m.cost_source, CostSource::Computed);
}

fn text(t: &str) -> AssistantContent {
    AssistantContent::Text(TextContent { text: t.into() })
}

fn thinking(t: &str) -> AssistantContent {
    AssistantContent::Thinking(ThinkingContent { thinking: t.into(), signature: None, redacted: false })
}

fn call(id: &str, name: &str, args: Value) -> AssistantContent {
    AssistantContent::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments: args, arguments_error: None })
}

fn assert_events(events: &[StreamEvent], expected: &[&str]) {
    assert_eq!(rendered(events), expected);
}

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
    assert_eq!(m.content, vec![thinking("Let me think."), text("Done thinking.")]);
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

// ------------------------------------------------------------------------------------------
// Requests
// ------------------------------------------------------------------------------------------

fn user(text: &str) -> Message {
    Message::User(UserMessage { content: vec![InputContent::text(text)], timestamp: 0 })
}

fn assistant(content: Vec<AssistantContent>, stop_reason: StopReason) -> Message {
    Message::Assistant(AssistantMessage {
        content,
        api: "openai-chat".into(),
        provider: "test".into(),
        model: "test-model".into(),
        usage: Usage::default(),
        stop_reason,
        error_message: None,
        error_kind: None,
        cost_source: CostSource::Computed,
        response_id: None,
        timestamp: 0,
    })
}

fn tool_result(id: &str, name: &str, content: Vec<InputContent>) -> Message {
    Message::ToolResult(ToolResultMessage {
        tool_call_id: id.into(),
        tool_name: name.into(),
        content,
        is_error: false,
        timestamp: 0,
    })
}

fn image(mime: &str, data: &str) -> InputContent {
    InputContent::Image(ImageContent { data: data.into(), mime_type: mime.into() })
}

fn body(req: &skipjack_llm::providers::HttpRequest) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

fn header_pairs(req: &skipjack_llm::providers::HttpRequest) -> Vec<(&str, &str)> {
    req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

#[test]
fn request_for_a_generic_server_with_a_full_history() {
    let mut m = model();
    m.id = "llama-3".into();
    m.headers = BTreeMap::from([("x-extra".into(), "model".into()), ("HTTP-Referer".into(), "r".into())]);
    let context = Context {
        system_prompt: Some("You are terse.".into()),
        messages: vec![
            user("hi"),
            assistant(
                vec![thinking("hmm"), text("Hello"), text(" again"), call("c1", "read", json!({"path": "a"}))],
                StopReason::ToolUse,
            ),
            tool_result("c1", "read", vec![InputContent::text("file contents")]),
            assistant(
                vec![AssistantContent::ToolCall(ToolCall {
                    id: "c2".into(),
                    name: "shot".into(),
                    arguments: Value::String("{'bad'".into()),
                    arguments_error: Some("arguments are not valid JSON".into()),
                })],
                StopReason::ToolUse,
            ),
            tool_result("c2", "shot", vec![InputContent::text("screenshot taken"), image("image/png", "iVBOR")]),
            Message::User(UserMessage {
                content: vec![InputContent::text("look"), image("image/jpeg", "/9j/4A")],
                timestamp: 0,
            }),
            // Failed turns with nothing to replay are left out, including an orphaned call.
            assistant(vec![], StopReason::Error),
            assistant(vec![call("c9", "read", json!({}))], StopReason::Aborted),
            user("continue"),
        ],
        tools: vec![Tool {
            name: "read".into(),
            description: "Read a file".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
        }],
    };
    let options = StreamOptions {
        api_key: Some("sk-test".into()),
        max_tokens: Some(1000),
        temperature: Some(0.2),
        // Not a reasoning model: no effort is sent.
        reasoning: Some(ReasoningEffort::High),
        session_id: Some("s1".into()),
        headers: BTreeMap::from([("X-Extra".into(), "opt".into()), ("user-agent".into(), "opt-ua".into())]),
        ..StreamOptions::default()
    };
    let req = build_request(&m, &context, &options).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:8080/v1/chat/completions");
    assert_eq!(
        header_pairs(&req),
        vec![
            ("content-type", "application/json"),
            ("accept", "text/event-stream"),
            ("authorization", "Bearer sk-test"),
            ("HTTP-Referer", "r"),
            ("X-Extra", "opt"),
            ("user-agent", "opt-ua"),
        ]
    );
    assert_eq!(
        body(&req),
        json!({
            "model": "llama-3",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Hello again", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"a\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "file contents"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c2", "type": "function", "function": {"name": "shot", "arguments": "{'bad'"}}
                ]},
                {"role": "tool", "tool_call_id": "c2", "content": "screenshot taken"},
                {"role": "user", "content": [
                    {"type": "text", "text": "Image output of tool call c2 (shot):"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}
                ]},
                {"role": "user", "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4A"}}
                ]},
                {"role": "user", "content": "continue"}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {
                "name": "read",
                "description": "Read a file",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
            }}],
            "max_tokens": 1000,
            "temperature": 0.2
        })
    );
}

#[test]
fn images_from_parallel_tool_results_follow_the_whole_run() {
    let context = Context {
        messages: vec![
            user("shoot both"),
            assistant(vec![call("a", "shot", json!({})), call("b", "shot", json!({}))], StopReason::ToolUse),
            tool_result("a", "shot", vec![image("image/png", "AAA")]),
            tool_result("b", "shot", vec![image("image/png", "BBB")]),
        ],
        ..Context::default()
    };
    let req = build_request(&model(), &context, &StreamOptions::default()).unwrap();
    let b = body(&req);
    assert_eq!(
        b["messages"].as_array().unwrap()[2..],
        [
            json!({"role": "tool", "tool_call_id": "a", "content": "(the image is attached in the next message)"}),
            json!({"role": "tool", "tool_call_id": "b", "content": "(the image is attached in the next message)"}),
            json!({"role": "user", "content": [
                {"type": "text", "text": "Image output of tool call a (shot):"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
                {"type": "text", "text": "Image output of tool call b (shot):"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,BBB"}}
            ]}),
        ]
    );
    // Nothing optional was set, so nothing optional is sent; no key means no auth header.
    assert_eq!(b.as_object().unwrap().keys().collect::<Vec<_>>(), ["messages", "model", "stream", "stream_options"]);
    assert!(!req.headers.iter().any(|(n, _)| n == "authorization"));
}

#[test]
fn failed_turn_keeps_text_and_answered_calls_only() {
    let context = Context {
        messages: vec![
            user("go"),
            assistant(
                vec![text("partial"), call("done1", "read", json!({"p": 1})), call("orphan", "read", json!({}))],
                StopReason::Aborted,
            ),
            tool_result("done1", "read", vec![InputContent::text("ok")]),
        ],
        ..Context::default()
    };
    let b = body(&build_request(&model(), &context, &StreamOptions::default()).unwrap());
    assert_eq!(
        b["messages"][1],
        json!({"role": "assistant", "content": "partial", "tool_calls": [
            {"id": "done1", "type": "function", "function": {"name": "read", "arguments": "{\"p\":1}"}}
        ]})
    );
    assert_eq!(b["messages"].as_array().unwrap().len(), 3);
}

fn openai_model(id: &str, reasoning: bool) -> Model {
    Model {
        provider: "openai".into(),
        id: id.into(),
        base_url: "https://api.openai.com/v1".into(),
        reasoning,
        ..model()
    }
}

fn short_context() -> Context {
    Context { system_prompt: Some("Be brief.".into()), messages: vec![user("hi")], tools: vec![] }
}

fn full_options() -> StreamOptions {
    StreamOptions {
        max_tokens: Some(500),
        temperature: Some(0.5),
        reasoning: Some(ReasoningEffort::Minimal),
        session_id: Some("sess-1".into()),
        ..StreamOptions::default()
    }
}

#[test]
fn openai_reasoning_model_request() {
    let req = build_request(&openai_model("o4-mini", true), &short_context(), &full_options()).unwrap();
    assert_eq!(req.url, "https://api.openai.com/v1/chat/completions");
    assert_eq!(
        body(&req),
        json!({
            "model": "o4-mini",
            "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_completion_tokens": 500,
            "reasoning_effort": "minimal",
            "prompt_cache_key": "sess-1"
        })
    );
}

#[test]
fn openai_chat_model_request() {
    let req = build_request(&openai_model("gpt-4.1", false), &short_context(), &full_options()).unwrap();
    assert_eq!(
        body(&req),
        json!({
            "model": "gpt-4.1",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_completion_tokens": 500,
            "temperature": 0.5,
            "prompt_cache_key": "sess-1"
        })
    );
}

#[test]
fn openai_is_recognised_by_host_whatever_the_provider_name() {
    let mut m = openai_model("gpt-5-mini", false);
    m.provider = "my-openai".into();
    let b = body(&build_request(&m, &short_context(), &full_options()).unwrap());
    assert_eq!(b["messages"][0]["role"], "developer");
    assert_eq!(b["max_completion_tokens"], 500);
    assert!(b.get("temperature").is_none());
    assert_eq!(b["reasoning_effort"], "minimal");
}

#[test]
fn openrouter_request() {
    let m = Model {
        provider: "openrouter".into(),
        id: "deepseek/deepseek-r1".into(),
        base_url: "https://openrouter.ai/api/v1".into(),
        reasoning: true,
        ..model()
    };
    let options = StreamOptions { reasoning: Some(ReasoningEffort::High), ..full_options() };
    let req = build_request(&m, &short_context(), &options).unwrap();
    assert_eq!(req.url, "https://openrouter.ai/api/v1/chat/completions");
    assert_eq!(
        body(&req),
        json!({
            "model": "deepseek/deepseek-r1",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 500,
            "temperature": 0.5,
            "reasoning": {"effort": "high"}
        })
    );
}

#[test]
fn generic_reasoning_server_request() {
    let m = Model {
        provider: "deepseek".into(),
        id: "deepseek-reasoner".into(),
        base_url: "https://api.deepseek.com/".into(),
        reasoning: true,
        ..model()
    };
    let req = build_request(&m, &short_context(), &full_options()).unwrap();
    assert_eq!(req.url, "https://api.deepseek.com/chat/completions");
    assert_eq!(
        body(&req),
        json!({
            "model": "deepseek-reasoner",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 500,
            "temperature": 0.5,
            "reasoning_effort": "low"
        })
    );
    let medium = StreamOptions { reasoning: Some(ReasoningEffort::Medium), ..full_options() };
    assert_eq!(body(&build_request(&m, &short_context(), &medium).unwrap())["reasoning_effort"], "medium");
}

#[test]
fn azure_uses_max_completion_tokens_without_a_cache_key() {
    let m = Model {
        provider: "my-azure".into(),
        id: "gpt-4o".into(),
        base_url: "https://contoso.openai.azure.com/openai/v1".into(),
        ..model()
    };
    let b = body(&build_request(&m, &short_context(), &full_options()).unwrap());
    assert_eq!(b["max_completion_tokens"], 500);
    assert!(b.get("max_tokens").is_none());
    assert!(b.get("prompt_cache_key").is_none());
}

#[test]
fn non_finite_temperature_is_refused() {
    let options = StreamOptions { temperature: Some(f64::NAN), ..StreamOptions::default() };
    let err = build_request(&model(), &short_context(), &options).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
}

#[test]
fn a_decoded_turn_replays_as_the_model_sent_it() {
    // Invalid arguments go back verbatim, so the model can see and fix its own mistake.
    let decoded = final_message(&replay("tool_call_invalid_json.sse")).clone();
    let parallel = final_message(&replay("parallel_tool_calls_interleaved.sse")).clone();
    let context = Context {
        messages: vec![user("x"), Message::Assistant(decoded), Message::Assistant(parallel)],
        ..Context::default()
    };
    let b = body(&build_request(&model(), &context, &StreamOptions::default()).unwrap());
    assert_eq!(b["messages"][1]["tool_calls"][0]["function"]["arguments"], "{'path': 'a.txt'}");
    let calls = &b["messages"][2]["tool_calls"];
    assert_eq!(calls[0]["function"]["arguments"], r#"{"path":"src/main.rs"}"#);
    assert_eq!(calls[1]["id"], "call_B2");
    assert_eq!(b["messages"][2]["content"], Value::Null);
}
