//! Prompt caching on the chat-completions wire: `cache_control` breakpoints for Claude
//! models behind OpenRouter, and `prompt_cache_key` for OpenAI, checked on the exact bodies
//! `build_request` produces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use serde_json::{json, Value};
use skipjack_llm::message::{
    AssistantContent, AssistantMessage, Context, CostSource, ImageContent, InputContent, Message, TextContent, Tool,
    ToolCall, ToolResultMessage, UserMessage,
};
use skipjack_llm::providers::build_request;
use skipjack_llm::{Api, Model, Price, StopReason, StreamOptions, Usage};

fn openrouter(id: &str) -> Model {
    Model {
        provider: "openrouter".into(),
        id: id.into(),
        api: Api::OpenAiChat,
        base_url: "https://openrouter.ai/api/v1".into(),
        name: None,
        context_window: 200_000,
        max_output: 64_000,
        price: Some(Price { input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75 }),
        reasoning: false,
        images: true,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

fn body(model: &Model, context: &Context, options: &StreamOptions) -> Value {
    let request = build_request(model, context, options).unwrap();
    serde_json::from_slice(&request.body).unwrap()
}

fn user(text: &str) -> Message {
    Message::User(UserMessage { content: vec![InputContent::text(text)], timestamp: 0 })
}

fn tool(name: &str) -> Tool {
    Tool {
        name: name.into(),
        description: format!("{name} a file"),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
    }
}

fn assistant(content: Vec<AssistantContent>, stop_reason: StopReason) -> Message {
    Message::Assistant(AssistantMessage {
        content,
        api: "openai-chat".into(),
        provider: "openrouter".into(),
        model: "anthropic/claude-sonnet-4".into(),
        usage: Usage::default(),
        stop_reason,
        error_message: None,
        error_kind: None,
        cost_source: CostSource::Computed,
        response_id: None,
        timestamp: 0,
    })
}

fn assistant_calling(id: &str, name: &str, text: &str) -> Message {
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(AssistantContent::Text(TextContent { text: text.into() }));
    }
    content.push(AssistantContent::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: json!({"path": "a.txt"}),
        arguments_error: None,
    }));
    assistant(content, StopReason::ToolUse)
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

/// Every `cache_control` object anywhere in the body.
fn breakpoints(v: &Value) -> usize {
    match v {
        Value::Object(o) => usize::from(o.contains_key("cache_control")) + o.values().map(breakpoints).sum::<usize>(),
        Value::Array(a) => a.iter().map(breakpoints).sum(),
        _ => 0,
    }
}

fn tool_loop_context() -> Context {
    Context {
        system_prompt: Some("You are a coding agent.".into()),
        messages: vec![
            user("Fix the bug."),
            assistant_calling("call_1", "read", "Reading it."),
            tool_result("call_1", "read", vec![InputContent::text("line 1"), InputContent::text("line 2")]),
        ],
        tools: vec![tool("read"), tool("edit")],
    }
}

#[test]
fn claude_on_openrouter_marks_tools_system_last_user_and_newest_tool_result() {
    let b = body(&openrouter("anthropic/claude-sonnet-4"), &tool_loop_context(), &StreamOptions::default());
    let schema = json!({"type": "object", "properties": {"path": {"type": "string"}}});
    assert_eq!(
        b,
        json!({
            "model": "anthropic/claude-sonnet-4",
            "messages": [
                {"role": "system", "content": [
                    {"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}
                ]},
                {"role": "user", "content": [
                    {"type": "text", "text": "Fix the bug.", "cache_control": {"type": "ephemeral"}}
                ]},
                {"role": "assistant", "content": "Reading it.", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"a.txt\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": [
                    {"type": "text", "text": "line 1\nline 2", "cache_control": {"type": "ephemeral"}}
                ]}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [
                {"type": "function", "function": {"name": "read", "description": "read a file", "parameters": schema}},
                {"type": "function", "function": {"name": "edit", "description": "edit a file", "parameters": schema},
                 "cache_control": {"type": "ephemeral"}}
            ]
        })
    );
}

#[test]
fn a_plain_chat_marks_only_the_newest_user_message() {
    let context = Context {
        system_prompt: Some("Be brief.".into()),
        messages: vec![
            user("first"),
            assistant(vec![AssistantContent::Text(TextContent { text: "answer".into() })], StopReason::Stop),
            user("second"),
        ],
        tools: vec![],
    };
    let b = body(&openrouter("anthropic/claude-3.5-haiku"), &context, &StreamOptions::default());
    assert_eq!(
        b["messages"],
        json!([
            {"role": "system", "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": [{"type": "text", "text": "second", "cache_control": {"type": "ephemeral"}}]}
        ])
    );
    assert!(b.get("tools").is_none());
}

#[test]
fn the_mark_goes_on_the_last_text_part_never_an_image_or_empty_text() {
    let image = InputContent::Image(ImageContent { data: "AAAA".into(), mime_type: "image/png".into() });
    let context = Context {
        system_prompt: None,
        messages: vec![Message::User(UserMessage {
            content: vec![InputContent::text("What is this?"), image, InputContent::text("")],
            timestamp: 0,
        })],
        tools: vec![],
    };
    let b = body(&openrouter("anthropic/claude-opus-4"), &context, &StreamOptions::default());
    assert_eq!(
        b["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "What is this?", "cache_control": {"type": "ephemeral"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "text", "text": ""}
        ]}])
    );

    // Nothing to mark: an empty user message and an empty tool result stay plain strings.
    let empty = Context {
        messages: vec![
            Message::User(UserMessage { content: vec![], timestamp: 0 }),
            assistant_calling("call_9", "read", ""),
            tool_result("call_9", "read", vec![]),
        ],
        ..Context::default()
    };
    let b = body(&openrouter("anthropic/claude-opus-4"), &empty, &StreamOptions::default());
    assert_eq!(b["messages"][0], json!({"role": "user", "content": ""}));
    assert_eq!(b["messages"][2], json!({"role": "tool", "tool_call_id": "call_9", "content": ""}));
    assert_eq!(breakpoints(&b), 0);
}

#[test]
fn an_image_tool_result_marks_the_user_message_that_carries_it() {
    // The tool role is text-only, so images follow the results in a user message; that
    // message is the newest user turn and the tool result before it is not marked.
    let image = InputContent::Image(ImageContent { data: "QUJD".into(), mime_type: "image/jpeg".into() });
    let context = Context {
        system_prompt: Some("sys".into()),
        messages: vec![
            user("Look at the screenshot."),
            assistant_calling("call_2", "screenshot", ""),
            tool_result("call_2", "screenshot", vec![image]),
        ],
        tools: vec![tool("screenshot")],
    };
    let b = body(&openrouter("anthropic/claude-sonnet-4.5"), &context, &StreamOptions::default());
    let messages = b["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[1]["content"], "Look at the screenshot.");
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "call_2", "content": "(the image is attached in the next message)"})
    );
    assert_eq!(
        messages[4]["content"],
        json!([
            {"type": "text", "text": "Image output of tool call call_2 (screenshot):", "cache_control": {"type": "ephemeral"}},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD"}}
        ])
    );
    assert_eq!(breakpoints(&b), 3, "tool, system, newest user message");
}

#[test]
fn a_long_tool_loop_never_exceeds_anthropics_four_breakpoints() {
    let mut context = tool_loop_context();
    for i in 2..30 {
        let id = format!("call_{i}");
        context.messages.push(assistant_calling(&id, "read", "More."));
        context.messages.push(tool_result(&id, "read", vec![InputContent::text(format!("result {i}"))]));
    }
    let b = body(&openrouter("anthropic/claude-sonnet-4"), &context, &StreamOptions::default());
    assert_eq!(breakpoints(&b), 4);
    let messages = b["messages"].as_array().unwrap();
    let last = messages.last().unwrap();
    assert_eq!(last["content"][0]["text"], "result 29");
    assert_eq!(last["content"][0]["cache_control"], json!({"type": "ephemeral"}));
    // Older tool results stay plain strings: the wire is unchanged where nothing is marked.
    assert_eq!(messages[messages.len() - 3]["content"], "result 28");
}

#[test]
fn openrouter_is_recognised_by_host_and_claude_by_id_prefix() {
    let by_host = Model { provider: "my-router".into(), ..openrouter("Anthropic/claude-sonnet-4") };
    assert_eq!(breakpoints(&body(&by_host, &tool_loop_context(), &StreamOptions::default())), 4);

    // Other models on OpenRouter cache without marks (or not at all): the body is untouched.
    let gpt = openrouter("openai/gpt-4.1");
    let b = body(&gpt, &tool_loop_context(), &StreamOptions::default());
    assert_eq!(breakpoints(&b), 0);
    assert_eq!(b["messages"][0], json!({"role": "system", "content": "You are a coding agent."}));

    // A Claude-looking id on another OpenAI-compatible server gets no OpenRouter extension.
    let elsewhere = Model {
        provider: "gateway".into(),
        base_url: "http://127.0.0.1:4000/v1".into(),
        ..openrouter("anthropic/claude-sonnet-4")
    };
    assert_eq!(breakpoints(&body(&elsewhere, &tool_loop_context(), &StreamOptions::default())), 0);
}

#[test]
fn prompt_cache_key_is_the_session_id_on_openai_only() {
    let with_session = StreamOptions { session_id: Some("sess-42".into()), ..StreamOptions::default() };
    let openai =
        Model { provider: "openai".into(), base_url: "https://api.openai.com/v1".into(), ..openrouter("gpt-4.1") };
    assert_eq!(body(&openai, &tool_loop_context(), &with_session)["prompt_cache_key"], "sess-42");
    assert!(body(&openai, &tool_loop_context(), &StreamOptions::default()).get("prompt_cache_key").is_none());

    // OpenRouter and other servers do not document the field; strict ones reject it.
    let claude = body(&openrouter("anthropic/claude-sonnet-4"), &tool_loop_context(), &with_session);
    assert!(claude.get("prompt_cache_key").is_none());
    let local =
        Model { provider: "llama.cpp".into(), base_url: "http://127.0.0.1:8080/v1".into(), ..openrouter("qwen") };
    assert!(body(&local, &tool_loop_context(), &with_session).get("prompt_cache_key").is_none());
}
