//! `build_request` for the OpenAI-compatible chat-completions API, and the replay of a
//! decoded turn.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use skipjack_llm::error::ErrorKind;
use skipjack_llm::message::{
    AssistantContent, AssistantMessage, Context, CostSource, ImageContent, InputContent, Message, Tool, ToolCall,
    ToolResultMessage, UserMessage,
};
use skipjack_llm::model::ReasoningEffort;
use skipjack_llm::providers::build_request;
use skipjack_llm::{Model, StopReason, StreamOptions, Usage};

use common::openai_chat::*;

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
