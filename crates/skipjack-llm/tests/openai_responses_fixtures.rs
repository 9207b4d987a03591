//! The OpenAI Responses wire API: recorded-shape streams replayed through the real pipeline
//! (SSE framer → decoder → assembler), and the requests it builds, byte for byte where the
//! replay of reasoning depends on it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

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
use skipjack_llm::providers::{build_request, HttpRequest};
use skipjack_llm::usage::Usage;
use skipjack_llm::{Api, Price, StopReason, StreamEvent, StreamOptions};

/// gpt-5.3-codex's list prices (USD per million tokens).
const PRICE: Price = common::RESPONSES_PRICE;

use common::openai_responses_model as model;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse/openai_responses").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn replay(name: &str) -> Vec<StreamEvent> {
    decode_chunks(&model(), &[&fixture(name)])
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
            format!("thinking_end {index} {thinking:?} signed={}", signature.is_some())
        }
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

fn error_of(events: &[StreamEvent]) -> &skipjack_llm::LlmError {
    match events.last() {
        Some(StreamEvent::Error { error, .. }) => error,
        other => panic!("not an error: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn assert_usage(u: &Usage, input: u64, output: u64, cache_read: u64) {
    assert_eq!(
        (u.input, u.output, u.cache_read, u.cache_write, u.total_tokens),
        (input, output, cache_read, 0, input + output + cache_read),
        "{u:?}"
    );
    #[allow(clippy::cast_precision_loss)]
    let per = |t: u64, p: f64| t as f64 * p / 1e6;
    assert!(close(u.cost.input, per(input, PRICE.input)), "{u:?}");
    assert!(close(u.cost.output, per(output, PRICE.output)), "{u:?}");
    assert!(close(u.cost.cache_read, per(cache_read, PRICE.cache_read)), "{u:?}");
    assert!(close(u.cost.total, u.cost.input + u.cost.output + u.cost.cache_read), "{u:?}");
}

fn text(t: &str) -> AssistantContent {
    AssistantContent::Text(TextContent { text: t.into() })
}

fn call(id: &str, name: &str, args: Value) -> AssistantContent {
    AssistantContent::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments: args, arguments_error: None })
}

const SUMMARY_0: &str = "**Reading the file**\n\nI should look at main.py first.";
const SUMMARY_1: &str = "Then answer briefly.";
const ENCRYPTED: &str = "gAAAAABpLmVuY3J5cHRlZC1yZWFzb25pbmctYmxvYi0x==";

// ------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------

#[test]
fn plain_text() {
    let events = replay("text.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Hello""#,
            r#"text_delta 0 ", world""#,
            r#"text_delta 0 "!""#,
            r#"text_end 0 "Hello, world!""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.content, vec![text("Hello, world!")]);
    assert_eq!(m.response_id.as_deref(), Some("resp_0a1text"));
    assert_eq!(
        (m.api.as_str(), m.provider.as_str(), m.model.as_str()),
        ("openai-responses", "openai", "gpt-5.3-codex")
    );
    assert_usage(&m.usage, 12, 5, 0);
    assert_eq!(m.cost_source, CostSource::Computed);
}

#[test]
fn reasoning_summary_parts_and_encrypted_content() {
    let events = replay("reasoning_encrypted.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            r#"thinking_delta 0 "**Reading the file**\n\n""#,
            r#"thinking_delta 0 "I should look at main.py first.""#,
            r#"thinking_delta 0 "\n\n""#,
            r#"thinking_delta 0 "Then answer briefly.""#,
            r#"thinking_end 0 "**Reading the file**\n\nI should look at main.py first.\n\nThen answer briefly." signed=true"#,
            "text_start 1",
            r#"text_delta 1 "It prints ""#,
            r#"text_delta 1 "a greeting.""#,
            r#"text_end 1 "It prints a greeting.""#,
            "done Stop",
        ],
    );
    let m = final_message(&events);
    let AssistantContent::Thinking(t) = &m.content[0] else { panic!("{:?}", m.content) };
    assert!(!t.redacted);
    // The signature is the reasoning item itself, as the next request must send it.
    let stored: Value = serde_json::from_str(t.signature.as_deref().unwrap()).unwrap();
    assert_eq!(
        stored,
        json!({
            "type": "reasoning",
            "id": "rs_0b2reason",
            "summary": [{"type": "summary_text", "text": SUMMARY_0}, {"type": "summary_text", "text": SUMMARY_1}],
            "encrypted_content": ENCRYPTED,
        })
    );
    // Reasoning tokens are inside `output_tokens` and billed as output.
    assert_usage(&m.usage, 840, 196, 0);
}

#[test]
fn two_parallel_function_calls_with_interleaved_arguments() {
    let events = replay("parallel_function_calls.sse");
    assert_events(
        &events,
        &[
            "start",
            "toolcall_start 0 call_Ab12 read",
            r#"toolcall_delta 0 "{\"path\":""#,
            "toolcall_start 1 call_Cd34 bash",
            r#"toolcall_delta 1 "{\"command\":\"ls""#,
            r#"toolcall_delta 0 "\"src/main.py\"}""#,
            r#"toolcall_delta 1 " -la\"}""#,
            r#"toolcall_end 0 call_Ab12 read {"path":"src/main.py"} ok"#,
            r#"toolcall_end 1 call_Cd34 bash {"command":"ls -la"} ok"#,
            "done ToolUse",
        ],
    );
    let m = final_message(&events);
    assert_eq!(
        m.content,
        vec![
            call("call_Ab12", "read", json!({"path": "src/main.py"})),
            call("call_Cd34", "bash", json!({"command": "ls -la"}))
        ]
    );
    assert_eq!(m.stop_reason, StopReason::ToolUse);
}

#[test]
fn cached_tokens_are_split_out_of_input_and_priced() {
    let events = replay("usage_cached_tokens.sse");
    let m = final_message(&events);
    // 2006 input of which 1920 cached; 300 output including 256 reasoning.
    assert_usage(&m.usage, 86, 300, 1920);
    let expected = 86.0 * 1.75 / 1e6 + 300.0 * 14.0 / 1e6 + 1920.0 * 0.175 / 1e6;
    assert!(close(m.usage.cost.total, expected), "{:?}", m.usage.cost);
    assert!(close(m.usage.cost.total, 0.004_686_5), "{:?}", m.usage.cost);
}

#[test]
fn incomplete_for_max_output_tokens_is_a_length_stop() {
    let events = replay("incomplete_max_tokens.sse");
    assert_events(
        &events,
        &["start", "text_start 0", r#"text_delta 0 "The answer is""#, r#"text_end 0 "The answer is""#, "done Length"],
    );
    let m = final_message(&events);
    assert_eq!(m.stop_reason, StopReason::Length);
    assert_usage(&m.usage, 30, 16, 0);
}

#[test]
fn incomplete_for_the_content_filter() {
    let events = replay("incomplete_content_filter.sse");
    assert_events(&events, &["start", "done ContentFilter"]);
    assert_usage(&final_message(&events).usage, 25, 0, 0);
}

#[test]
fn failed_response_is_a_classified_error_with_the_partial_message() {
    let events = replay("failed_server_error.sse");
    assert_events(
        &events,
        &[
            "start",
            "text_start 0",
            r#"text_delta 0 "Partial""#,
            "error Server The server had an error while processing your request. Sorry about that! (code: server_error)",
        ],
    );
    let m = final_message(&events);
    assert_eq!(m.content, vec![text("Partial")]);
    assert_eq!(m.stop_reason, StopReason::Error);
    assert_eq!(m.error_kind.as_deref(), Some("server"));
    assert_eq!(m.response_id.as_deref(), Some("resp_107fail"));
    assert_usage(&m.usage, 50, 1, 0);
}

#[test]
fn failed_response_for_context_overflow() {
    let events = replay("failed_context_overflow.sse");
    let e = error_of(&events);
    assert_eq!(e.kind, ErrorKind::ContextOverflow, "{e:?}");
    assert!(e.message.contains("context_length_exceeded"), "{e:?}");
    assert_eq!(final_message(&events).error_kind.as_deref(), Some("context_overflow"));
}

#[test]
fn error_event_mid_stream_keeps_the_partial_text() {
    let events = replay("error_event_midstream.sse");
    let e = error_of(&events);
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert!(e.message.starts_with("Rate limit reached for gpt-5.3-codex"), "{e:?}");
    assert!(e.message.ends_with("(code: rate_limit_exceeded)"), "{e:?}");
    let m = final_message(&events);
    assert_eq!(m.content, vec![text("Working on")]);
    assert_eq!(m.stop_reason, StopReason::Error);
}

#[test]
fn a_body_ending_before_completion_is_an_error() {
    let events = replay("truncated.sse");
    let e = error_of(&events);
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(e.message.contains("response.completed"), "{e:?}");
    assert_eq!(final_message(&events).content, vec![text("Cut")]);
}

#[test]
fn whole_items_without_deltas_still_give_every_block() {
    let events = replay("whole_items_without_deltas.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            r#"thinking_delta 0 "Think quietly.""#,
            r#"thinking_end 0 "Think quietly." signed=false"#,
            "text_start 1",
            r#"text_delta 1 "I can't help with that.""#,
            r#"text_end 1 "I can't help with that.""#,
            "toolcall_start 2 call_14b read",
            r#"toolcall_delta 2 "{\"path\":\"a b/~x.txt\"}""#,
            r#"toolcall_end 2 call_14b read {"path":"a b/~x.txt"} ok"#,
            "done ToolUse",
        ],
    );
}

#[test]
fn utf8_and_crlf() {
    let events = replay("utf8_crlf.sse");
    assert_events(
        &events,
        &[
            "start",
            "thinking_start 0",
            r#"thinking_delta 0 "思考中…""#,
            r#"thinking_end 0 "思考中…" signed=false"#,
            "text_start 1",
            r#"text_delta 1 "héllo ""#,
            r#"text_delta 1 "🦀 wörld""#,
            r#"text_delta 1 " 你好""#,
            r#"text_end 1 "héllo 🦀 wörld 你好""#,
            "done Stop",
        ],
    );
}

/// Streams a hostile or sloppy server might send, decoded from inline bodies.
fn decode(body: &str) -> Vec<StreamEvent> {
    decode_chunks(&model(), &[body.as_bytes()])
}

#[test]
fn deltas_after_an_item_is_done_are_ignored_and_a_short_done_does_not_truncate() {
    let events = decode(concat!(
        "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"output_index\":0,\"delta\":\"abc\"}\n\n",
        // `done` shorter than what streamed: nothing is taken back.
        "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"id\":\"m\",\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"ab\"}]}}\n\n",
        "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"output_index\":0,\"delta\":\"LATE\"}\n\n",
        "data: {\"type\":\"response.completed\",\"response\":{}}\n\n",
    ));
    assert_eq!(final_message(&events).content, vec![text("abc")]);
}

#[test]
fn a_call_without_call_id_gets_its_item_id() {
    let events = decode(concat!(
        "data: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_9\",\"output_index\":0,\"delta\":\"{}\"}\n\n",
        "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"id\":\"fc_9\",\"type\":\"function_call\",\"name\":\"ls\"}}\n\n",
        "data: {\"type\":\"response.completed\",\"response\":{}}\n\n",
    ));
    assert_eq!(final_message(&events).content, vec![call("fc_9", "ls", json!({}))]);
}

#[test]
fn an_index_reused_by_another_item_is_another_block() {
    // Two message items that (wrongly) share output index 0 stay separate by item id.
    let events = decode(concat!(
        "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"a\",\"output_index\":0,\"delta\":\"one\"}\n\n",
        "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"b\",\"output_index\":0,\"delta\":\"two\"}\n\n",
        "data: {\"type\":\"response.completed\",\"response\":{}}\n\n",
    ));
    assert_eq!(final_message(&events).content, vec![text("one"), text("two")]);
}

#[test]
fn error_event_with_a_nested_error_object_and_odd_shapes() {
    let events = decode(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\",\"message\":\"too long\"}}\n\n",
    );
    assert_eq!(error_of(&events).kind, ErrorKind::ContextOverflow);
    // No type in the data: the SSE event name is used.
    let events = decode("event: error\ndata: {\"code\":null,\"message\":\"boom\"}\n\n");
    assert_eq!((error_of(&events).kind, error_of(&events).message.as_str()), (ErrorKind::Server, "boom"));
    // Not JSON at all.
    let events = decode("data: {oops\n\n");
    assert_eq!(error_of(&events).kind, ErrorKind::InvalidResponse);
    // Usage of the wrong shape is ignored, not fatal.
    let events = decode("data: {\"type\":\"response.completed\",\"response\":{\"usage\":[1,2]}}\n\n");
    assert_eq!(final_message(&events).usage.total_tokens, 0);
    // A response.failed without an error object.
    let events = decode("data: {\"type\":\"response.failed\",\"response\":{\"error\":null}}\n\n");
    assert_eq!(error_of(&events).kind, ErrorKind::Server);
}

// ------------------------------------------------------------------------------------------
// Requests
// ------------------------------------------------------------------------------------------

fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

fn options() -> StreamOptions {
    StreamOptions {
        api_key: Some("sk-test".into()),
        max_tokens: Some(4096),
        reasoning: Some(ReasoningEffort::High),
        session_id: Some("sess-42".into()),
        ..StreamOptions::default()
    }
}

fn user(t: &str) -> Message {
    Message::User(UserMessage { content: vec![InputContent::text(t)], timestamp: 0 })
}

fn tool_result(id: &str, name: &str, t: &str) -> Message {
    Message::ToolResult(ToolResultMessage {
        tool_call_id: id.into(),
        tool_name: name.into(),
        content: vec![InputContent::text(t)],
        is_error: false,
        timestamp: 0,
    })
}

fn read_tool() -> Tool {
    Tool {
        name: "read".into(),
        description: "Read a file".into(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    }
}

/// The turn decoded from `reasoning_encrypted.sse`, followed by a call so the reasoning
/// leads somewhere.
fn reasoning_turn() -> AssistantMessage {
    let mut m = final_message(&replay("reasoning_encrypted.sse")).clone();
    m.content.push(call("call_1", "read", json!({"path": "main.py"})));
    m.stop_reason = StopReason::ToolUse;
    m
}

#[test]
fn reasoning_is_replayed_on_the_next_request_byte_for_byte() {
    let context = Context {
        system_prompt: Some("You are terse.".into()),
        messages: vec![
            user("What does main.py print?"),
            Message::Assistant(reasoning_turn()),
            tool_result("call_1", "read", "print('hi')"),
        ],
        tools: vec![read_tool()],
    };
    let req = build_request(&model(), &context, &options()).unwrap();
    assert_eq!(req.url, "https://api.openai.com/v1/responses");
    let expected = concat!(
        r#"{"model":"gpt-5.3-codex","instructions":"You are terse.","input":["#,
        r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"What does main.py print?"}]},"#,
        r#"{"type":"reasoning","id":"rs_0b2reason","summary":[{"type":"summary_text","text":"**Reading the file**\n\nI should look at main.py first."},{"type":"summary_text","text":"Then answer briefly."}],"encrypted_content":"gAAAAABpLmVuY3J5cHRlZC1yZWFzb25pbmctYmxvYi0x=="},"#,
        r#"{"type":"message","role":"assistant","content":[{"type":"output_text","text":"It prints a greeting.","annotations":[]}]},"#,
        r#"{"type":"function_call","call_id":"call_1","name":"read","arguments":"{\"path\":\"main.py\"}"},"#,
        r#"{"type":"function_call_output","call_id":"call_1","output":"print('hi')"}],"#,
        r#""stream":true,"store":false,"include":["reasoning.encrypted_content"],"#,
        r#""tools":[{"type":"function","name":"read","description":"Read a file","parameters":{"properties":{"path":{"type":"string"}},"required":["path"],"type":"object"},"strict":false}],"#,
        r#""parallel_tool_calls":true,"reasoning":{"effort":"high","summary":"auto"},"max_output_tokens":4096,"prompt_cache_key":"sess-42"}"#,
    );
    assert_eq!(String::from_utf8(req.body.clone()).unwrap(), expected);
    let headers: BTreeMap<_, _> = req.headers.iter().cloned().collect();
    assert_eq!(headers.get("authorization").map(String::as_str), Some("Bearer sk-test"));
    assert_eq!(headers.get("accept").map(String::as_str), Some("text/event-stream"));
}

#[test]
fn reasoning_from_another_api_provider_or_model_is_never_sent() {
    let turn = reasoning_turn();
    let mut other_model = turn.clone();
    other_model.model = "gpt-5".into();
    let mut other_provider = turn.clone();
    other_provider.provider = "azure".into();
    let mut anthropic = turn.clone();
    anthropic.api = "anthropic-messages".into();
    if let AssistantContent::Thinking(t) = &mut anthropic.content[0] {
        t.signature = Some("EqQBCkYIBxgCKkD-anthropic-signature".into());
    }
    let mut chat = turn.clone();
    chat.api = "openai-chat".into();
    if let AssistantContent::Thinking(t) = &mut chat.content[0] {
        t.signature = None;
    }
    // A forged signature on our own API: not a reasoning item, so not sent.
    let mut forged = turn.clone();
    if let AssistantContent::Thinking(t) = &mut forged.content[0] {
        t.signature = Some(r#"{"type":"message","id":"x","encrypted_content":"y"}"#.into());
    }
    for m in [other_model, other_provider, anthropic, chat, forged] {
        let context = Context {
            system_prompt: None,
            messages: vec![user("q"), Message::Assistant(m.clone()), tool_result("call_1", "read", "r")],
            tools: vec![],
        };
        let b = body(&build_request(&model(), &context, &options()).unwrap());
        let types: Vec<&str> = b["input"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["message", "message", "function_call", "function_call_output"], "{}/{}", m.api, m.model);
    }
}

#[test]
fn reasoning_never_ends_a_turn_and_unanswered_calls_of_a_failed_turn_are_dropped() {
    let mut failed = reasoning_turn();
    failed.content.retain(|c| !matches!(c, AssistantContent::Text(_)));
    failed.stop_reason = StopReason::Error;
    let context = Context {
        system_prompt: None,
        messages: vec![user("q"), Message::Assistant(failed), user("again")],
        tools: vec![],
    };
    let b = body(&build_request(&model(), &context, &options()).unwrap());
    // The call was never answered, so it and the reasoning that led to it are both gone.
    assert_eq!(
        b["input"],
        json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "again"}]},
        ])
    );
}

#[test]
fn responses_history_does_not_break_the_chat_and_anthropic_builders() {
    let context = Context {
        system_prompt: None,
        messages: vec![user("q"), Message::Assistant(reasoning_turn()), tool_result("call_1", "read", "r")],
        tools: vec![],
    };
    let mut chat = model();
    chat.api = Api::OpenAiChat;
    let b = body(&build_request(&chat, &context, &StreamOptions::default()).unwrap());
    assert!(!String::from_utf8(serde_json::to_vec(&b).unwrap()).unwrap().contains("encrypted"), "{b}");
    let mut claude = model();
    claude.api = Api::AnthropicMessages;
    claude.provider = "anthropic".into();
    let b = body(&build_request(&claude, &context, &StreamOptions::default()).unwrap());
    let text = b.to_string();
    assert!(!text.contains("encrypted") && !text.contains("\"thinking\""), "{b}");
    assert_eq!(b["messages"][1]["content"][0], json!({"type": "text", "text": "It prints a greeting."}));
}

#[test]
fn images_tool_outputs_and_a_non_reasoning_model() {
    let png = ImageContent { data: "iVBORw0KGgo=".into(), mime_type: "image/png".into() };
    let context = Context {
        system_prompt: Some(String::new()),
        messages: vec![
            Message::User(UserMessage {
                content: vec![InputContent::text("look"), InputContent::Image(png.clone()), InputContent::text("")],
                timestamp: 0,
            }),
            Message::Assistant(AssistantMessage {
                content: vec![
                    AssistantContent::Thinking(ThinkingContent {
                        thinking: "hm".into(),
                        signature: None,
                        redacted: false,
                    }),
                    call("call_a", "shot", json!({})),
                    AssistantContent::ToolCall(ToolCall {
                        id: "call_b".into(),
                        name: "read".into(),
                        arguments: Value::String("{'path': 1}".into()),
                        arguments_error: Some("arguments are not valid JSON".into()),
                    }),
                ],
                ..reasoning_turn()
            }),
            Message::ToolResult(ToolResultMessage {
                tool_call_id: "call_a".into(),
                tool_name: "shot".into(),
                content: vec![InputContent::Image(png)],
                is_error: false,
                timestamp: 0,
            }),
            tool_result("call_b", "read", "bad arguments"),
        ],
        tools: vec![],
    };
    let mut m = model();
    m.id = "gpt-4.1".into();
    m.reasoning = false;
    let opts = StreamOptions { temperature: Some(0.2), max_tokens: Some(3), session_id: None, ..options() };
    let b = body(&build_request(&m, &context, &opts).unwrap());
    assert_eq!(
        b,
        json!({
            "model": "gpt-4.1",
            "input": [
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                ]},
                {"type": "function_call", "call_id": "call_a", "name": "shot", "arguments": "{}"},
                {"type": "function_call", "call_id": "call_b", "name": "read", "arguments": "{'path': 1}"},
                {"type": "function_call_output", "call_id": "call_a", "output": "(the image is attached in the next message)"},
                {"type": "function_call_output", "call_id": "call_b", "output": "bad arguments"},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "Image output of tool call call_a (shot):"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                ]},
            ],
            "stream": true,
            "store": false,
            // The API's minimum.
            "max_output_tokens": 16,
            "temperature": 0.2,
        })
    );
}

#[test]
fn codex_gets_low_for_minimal_effort_and_other_servers_get_no_cache_key() {
    let context = Context { system_prompt: None, messages: vec![user("q")], tools: vec![] };
    let opts = StreamOptions { reasoning: Some(ReasoningEffort::Minimal), temperature: Some(0.5), ..options() };
    let b = body(&build_request(&model(), &context, &opts).unwrap());
    assert_eq!(b["reasoning"], json!({"effort": "low", "summary": "auto"}));
    assert!(b.get("temperature").is_none(), "reasoning models reject temperature: {b}");
    let mut gateway = model();
    gateway.provider = "vivgrid".into();
    gateway.base_url = "https://api.vivgrid.com/v1/".into();
    let req = build_request(&gateway, &context, &opts).unwrap();
    assert_eq!(req.url, "https://api.vivgrid.com/v1/responses");
    assert!(body(&req).get("prompt_cache_key").is_none());
    let bad = StreamOptions { temperature: Some(f64::NAN), ..StreamOptions::default() };
    let mut plain = model();
    plain.id = "gpt-4o".into();
    plain.reasoning = false;
    assert_eq!(build_request(&plain, &context, &bad).unwrap_err().kind, ErrorKind::BadRequest);
}

#[test]
fn headers_from_the_model_and_the_options_override_case_insensitively() {
    let mut m = model();
    m.headers.insert("OpenAI-Beta".into(), "responses=v1".into());
    m.headers.insert("Authorization".into(), "Bearer from-model".into());
    let mut opts = options();
    opts.headers.insert("openai-beta".into(), "override".into());
    let context = Context { system_prompt: None, messages: vec![user("q")], tools: vec![] };
    let req = build_request(&m, &context, &opts).unwrap();
    let matching = |name: &str| {
        req.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect::<Vec<_>>()
    };
    assert_eq!(matching("openai-beta"), ["override"]);
    assert_eq!(matching("authorization"), ["Bearer from-model"]);
}
