//! `build_request` for the Anthropic Messages API: URL, headers and the exact body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use skipjack_llm::message::{
    AssistantContent, CostSource, ImageContent, InputContent, TextContent, ThinkingContent, Tool, ToolCall,
    ToolResultMessage, UserMessage,
};
use skipjack_llm::model::ReasoningEffort;
use skipjack_llm::providers::{build_request, HttpRequest};
use skipjack_llm::{AssistantMessage, Context, ErrorKind, Message, Model, StopReason, StreamOptions, Usage};

use common::anthropic_model as model;

fn options() -> StreamOptions {
    StreamOptions { api_key: Some("sk-ant-test".into()), ..StreamOptions::default() }
}

fn user(text: &str) -> Message {
    Message::User(UserMessage { content: vec![InputContent::text(text)], timestamp: 0 })
}

fn assistant(content: Vec<AssistantContent>, stop_reason: StopReason) -> Message {
    Message::Assistant(AssistantMessage {
        content,
        api: "anthropic-messages".into(),
        provider: "anthropic".into(),
        model: "claude-sonnet-4-5".into(),
        usage: Usage::default(),
        stop_reason,
        error_message: None,
        error_kind: None,
        cost_source: CostSource::Computed,
        response_id: None,
        timestamp: 0,
    })
}

fn text(s: &str) -> AssistantContent {
    AssistantContent::Text(TextContent { text: s.into() })
}

fn thinking(t: &str, signature: Option<&str>, redacted: bool) -> AssistantContent {
    AssistantContent::Thinking(ThinkingContent { thinking: t.into(), signature: signature.map(Into::into), redacted })
}

fn call(id: &str, name: &str, arguments: Value) -> AssistantContent {
    AssistantContent::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments, arguments_error: None })
}

fn result(id: &str, name: &str, content: Vec<InputContent>, is_error: bool) -> Message {
    Message::ToolResult(ToolResultMessage {
        tool_call_id: id.into(),
        tool_name: name.into(),
        content,
        is_error,
        timestamp: 0,
    })
}

fn tool(name: &str) -> Tool {
    Tool {
        name: name.into(),
        description: format!("{name} a file"),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    }
}

fn build(model: &Model, context: &Context, options: &StreamOptions) -> (HttpRequest, Value) {
    let request = build_request(model, context, options).unwrap();
    let body = serde_json::from_slice(&request.body).unwrap();
    (request, body)
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    let mut found = request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    let first = found.next().map(|(_, v)| v.as_str());
    assert!(found.next().is_none(), "header {name} sent twice");
    first
}

const EPHEMERAL: &str = "ephemeral";

#[test]
fn first_turn_body_headers_and_cache_breakpoints() {
    let context = Context {
        system_prompt: Some("You are skipjack.".into()),
        messages: vec![user("Read main.rs")],
        tools: vec![tool("read"), tool("write")],
    };
    let (request, body) = build(&model(), &context, &StreamOptions { temperature: Some(0.2), ..options() });
    assert_eq!(request.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(
        request.headers,
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "text/event-stream".to_owned()),
            ("anthropic-version".to_owned(), "2023-06-01".to_owned()),
            ("x-api-key".to_owned(), "sk-ant-test".to_owned()),
        ]
    );
    let schema = json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]});
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 64000,
            "stream": true,
            "system": [{"type": "text", "text": "You are skipjack.", "cache_control": {"type": EPHEMERAL}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Read main.rs", "cache_control": {"type": EPHEMERAL}}]}
            ],
            "tools": [
                {"name": "read", "description": "read a file", "input_schema": schema},
                {"name": "write", "description": "write a file", "input_schema": schema, "cache_control": {"type": EPHEMERAL}}
            ],
            "temperature": 0.2
        })
    );
}

#[test]
fn history_replays_signed_thinking_and_merges_tool_results() {
    let png = ImageContent { data: "iVBORw0KGgo=".into(), mime_type: "image/png".into() };
    let context = Context {
        system_prompt: None,
        messages: vec![
            Message::User(UserMessage {
                content: vec![InputContent::text("What is in this image?"), InputContent::Image(png.clone())],
                timestamp: 0,
            }),
            assistant(
                vec![
                    thinking("Look at the files.", Some("sig-1=="), false),
                    thinking("", Some("redacted-payload"), true),
                    thinking("unsigned thought", None, false),
                    text("Reading both."),
                    call("toolu_1", "read", json!({"path": "a.rs"})),
                    AssistantContent::ToolCall(ToolCall {
                        id: "toolu_2".into(),
                        name: "read".into(),
                        arguments: json!("{\"path\": "),
                        arguments_error: Some("arguments are not valid JSON".into()),
                    }),
                ],
                StopReason::ToolUse,
            ),
            result("toolu_1", "read", vec![InputContent::text("fn main() {}"), InputContent::Image(png)], false),
            result("toolu_2", "read", vec![InputContent::text("invalid arguments")], true),
            user("Also check b.rs"),
            // A failed attempt with nothing in it, then one cut off after an unanswered call.
            assistant(vec![], StopReason::Error),
            assistant(vec![text("Checking"), call("toolu_3", "read", json!({"path": "b.rs"}))], StopReason::Aborted),
            user("continue"),
        ],
        tools: vec![],
    };
    let (_, body) = build(&model(), &context, &options());
    assert_eq!(body.get("system"), None);
    assert_eq!(body.get("tools"), None);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Look at the files.", "signature": "sig-1=="},
                {"type": "redacted_thinking", "data": "redacted-payload"},
                {"type": "text", "text": "Reading both."},
                {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a.rs"}},
                {"type": "tool_use", "id": "toolu_2", "name": "read", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text", "text": "fn main() {}"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                ]},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "invalid arguments"}], "is_error": true},
                {"type": "text", "text": "Also check b.rs"}
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": "Checking"}]},
            {"role": "user", "content": [{"type": "text", "text": "continue", "cache_control": {"type": EPHEMERAL}}]}
        ])
    );
}

#[test]
fn the_cache_breakpoint_follows_the_newest_user_turn() {
    let context = Context {
        system_prompt: Some("sys".into()),
        messages: vec![
            user("list files"),
            assistant(vec![call("toolu_a", "ls", json!({}))], StopReason::ToolUse),
            result("toolu_a", "ls", vec![InputContent::text("a.rs b.rs")], false),
        ],
        tools: vec![tool("ls")],
    };
    let (_, body) = build(&model(), &context, &options());
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["content"][0].get("cache_control"), None);
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": [{
            "type": "tool_result", "tool_use_id": "toolu_a",
            "content": [{"type": "text", "text": "a.rs b.rs"}],
            "cache_control": {"type": EPHEMERAL}
        }]})
    );
    // System, last tool, last user turn: three of the four breakpoints Anthropic allows.
    assert_eq!(body.to_string().matches("\"cache_control\"").count(), 3);
}

#[test]
fn a_tool_result_answering_a_call_comes_before_steering_text() {
    let context = Context {
        system_prompt: None,
        messages: vec![
            user("go"),
            assistant(vec![call("toolu_s", "ls", json!({}))], StopReason::ToolUse),
            user("(typed while the tool ran)"),
            result("toolu_s", "ls", vec![], false),
        ],
        tools: vec![],
    };
    let (_, body) = build(&model(), &context, &options());
    assert_eq!(
        body["messages"][2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "toolu_s"},
            {"type": "text", "text": "(typed while the tool ran)", "cache_control": {"type": EPHEMERAL}}
        ])
    );
}

#[test]
fn foreign_thinking_is_dropped_and_foreign_tool_ids_are_mapped() {
    let mut foreign = assistant(
        vec![thinking("o1 reasoning", Some("rs_abc"), false), call("call:1.x", "ls", json!({}))],
        StopReason::ToolUse,
    );
    if let Message::Assistant(m) = &mut foreign {
        m.api = "openai-chat".into();
        m.provider = "openai".into();
    }
    let context = Context {
        system_prompt: None,
        messages: vec![user("hi"), foreign, result("call:1.x", "ls", vec![InputContent::text("ok")], false)],
        tools: vec![],
    };
    let (_, body) = build(&model(), &context, &options());
    assert_eq!(
        body["messages"][1]["content"],
        json!([{"type": "tool_use", "id": "call_1_x", "name": "ls", "input": {}}])
    );
    assert_eq!(body["messages"][2]["content"][0]["tool_use_id"], "call_1_x");
}

#[test]
fn thinking_budgets_and_max_tokens() {
    let context = Context { system_prompt: None, messages: vec![user("think")], tools: vec![] };
    let cases = [
        // (effort, model max_output, options.max_tokens) → (max_tokens, budget)
        (ReasoningEffort::Minimal, 64_000, None, 64_000, 1024),
        (ReasoningEffort::Low, 64_000, None, 64_000, 4096),
        (ReasoningEffort::Medium, 64_000, None, 64_000, 10_240),
        (ReasoningEffort::High, 64_000, None, 64_000, 32_000),
        // Too small for the budget: raised to budget + answer room.
        (ReasoningEffort::High, 64_000, Some(1000), 36_096, 32_000),
        (ReasoningEffort::Medium, 0, None, 14_336, 10_240),
        // The model's limit caps max_tokens and the budget shrinks to leave answer room.
        (ReasoningEffort::High, 16_000, None, 16_000, 11_904),
        (ReasoningEffort::Minimal, 4096, None, 4096, 1024),
    ];
    for (effort, max_output, max_tokens, want_max, want_budget) in cases {
        let m = Model { max_output, ..model() };
        let o = StreamOptions { reasoning: Some(effort), max_tokens, temperature: Some(0.5), ..options() };
        let (request, body) = build(&m, &context, &o);
        assert_eq!(body["max_tokens"], want_max, "{effort:?} {max_output}");
        assert_eq!(body["thinking"], json!({"type": "enabled", "budget_tokens": want_budget}), "{effort:?}");
        assert_eq!(body.get("temperature"), None, "no temperature while thinking");
        assert_eq!(header(&request, "anthropic-beta"), None, "no tools, no interleaved beta");
    }
}

#[test]
fn no_thinking_when_the_model_cannot_or_the_limit_is_too_small() {
    let context = Context { system_prompt: None, messages: vec![user("hi")], tools: vec![] };
    let o = StreamOptions { reasoning: Some(ReasoningEffort::High), temperature: Some(0.5), ..options() };
    let (_, body) = build(&Model { reasoning: false, ..model() }, &context, &o);
    assert_eq!(body.get("thinking"), None);
    assert_eq!(body["temperature"], 0.5);
    let (_, body) = build(&Model { max_output: 1024, ..model() }, &context, &o);
    assert_eq!(body.get("thinking"), None);
    assert_eq!(body["max_tokens"], 1024);
}

#[test]
fn max_tokens_without_thinking() {
    let context = Context { system_prompt: None, messages: vec![user("hi")], tools: vec![] };
    let max = |max_output: u64, max_tokens: Option<u64>| {
        let (_, body) = build(&Model { max_output, ..model() }, &context, &StreamOptions { max_tokens, ..options() });
        body["max_tokens"].as_u64().unwrap()
    };
    assert_eq!(max(64_000, None), 64_000);
    assert_eq!(max(0, None), 8192);
    assert_eq!(max(64_000, Some(2000)), 2000);
    assert_eq!(max(4096, Some(100_000)), 4096);
    assert_eq!(max(0, Some(100_000)), 100_000);
}

#[test]
fn thinking_with_tools_asks_for_interleaved_thinking() {
    let context = Context { system_prompt: None, messages: vec![user("hi")], tools: vec![tool("read")] };
    let o = StreamOptions { reasoning: Some(ReasoningEffort::Low), ..options() };
    let (request, _) = build(&model(), &context, &o);
    assert_eq!(header(&request, "anthropic-beta"), Some("interleaved-thinking-2025-05-14"));
    // A beta the caller set is kept alongside.
    let mut headers = BTreeMap::new();
    headers.insert("Anthropic-Beta".to_owned(), "context-1m-2025-08-07".to_owned());
    let (request, _) = build(&Model { headers, ..model() }, &context, &o);
    assert_eq!(header(&request, "anthropic-beta"), Some("context-1m-2025-08-07,interleaved-thinking-2025-05-14"));
    // Without thinking there is no beta.
    let (request, _) = build(&model(), &context, &options());
    assert_eq!(header(&request, "anthropic-beta"), None);
}

#[test]
fn key_placement_and_header_precedence() {
    let context = Context { system_prompt: None, messages: vec![user("hi")], tools: vec![] };
    // The marker picks Bearer and is never sent.
    let mut headers = BTreeMap::new();
    headers.insert("X-Skipjack-Auth".to_owned(), "Bearer".to_owned());
    headers.insert("x-team".to_owned(), "model".to_owned());
    let gateway = Model { base_url: "https://gateway.example/anthropic/v1/".into(), headers, ..model() };
    let (request, _) = build(&gateway, &context, &options());
    assert_eq!(request.url, "https://gateway.example/anthropic/v1/messages");
    assert_eq!(header(&request, "authorization"), Some("Bearer sk-ant-test"));
    assert_eq!(header(&request, "x-api-key"), None);
    assert_eq!(header(&request, "x-skipjack-auth"), None);
    assert_eq!(header(&request, "x-team"), Some("model"));
    // Request headers win over the model's.
    let mut per_request = BTreeMap::new();
    per_request.insert("X-Team".to_owned(), "request".to_owned());
    let (request, _) = build(&gateway, &context, &StreamOptions { headers: per_request, ..options() });
    assert_eq!(header(&request, "x-team"), Some("request"));
    // Caller-set authorization: the key is not added in either form.
    let mut per_request = BTreeMap::new();
    per_request.insert("Authorization".to_owned(), "Bearer from-caller".to_owned());
    let (request, _) = build(&model(), &context, &StreamOptions { headers: per_request, ..options() });
    assert_eq!(header(&request, "authorization"), Some("Bearer from-caller"));
    assert_eq!(header(&request, "x-api-key"), None);
    // No key given: no auth header at all (never read from the environment here).
    let (request, _) = build(&model(), &context, &StreamOptions::default());
    assert_eq!(header(&request, "x-api-key"), None);
    assert_eq!(header(&request, "authorization"), None);
    // The version can be overridden, once.
    let mut per_request = BTreeMap::new();
    per_request.insert("anthropic-version".to_owned(), "2099-01-01".to_owned());
    let (request, _) = build(&model(), &context, &StreamOptions { headers: per_request, ..options() });
    assert_eq!(header(&request, "anthropic-version"), Some("2099-01-01"));
}

#[test]
fn urls() {
    let context = Context { system_prompt: None, messages: vec![user("hi")], tools: vec![] };
    for (base, want) in [
        ("https://api.anthropic.com", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/v1", "https://api.anthropic.com/v1/messages"),
        ("http://127.0.0.1:8080/proxy", "http://127.0.0.1:8080/proxy/v1/messages"),
    ] {
        let (request, _) = build(&Model { base_url: base.into(), ..model() }, &context, &options());
        assert_eq!(request.url, want);
    }
}

#[test]
fn a_context_with_nothing_to_send_is_rejected_before_sending() {
    let context = Context {
        system_prompt: Some("sys".into()),
        messages: vec![user(""), assistant(vec![], StopReason::Aborted)],
        tools: vec![],
    };
    let e = build_request(&model(), &context, &options()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
}
