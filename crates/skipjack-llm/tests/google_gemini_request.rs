//! Requests for Gemini (AI Studio and Vertex) and Claude on Vertex: exact bodies where the
//! replay of thought signatures depends on it, URLs, headers, and the schema conversion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fixture, gemini_model};
use serde_json::{json, Value};
use skipjack_llm::message::{
    AssistantContent, AssistantMessage, Context, Message, TextContent, Tool, ToolResultMessage, UserMessage,
};
use skipjack_llm::model::ReasoningEffort;
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::providers::google_gemini::schema::to_gemini;
use skipjack_llm::providers::{build_request, HttpRequest};
use skipjack_llm::{Api, Model, StreamEvent, StreamOptions};

fn user(text: &str) -> Message {
    Message::User(UserMessage { content: vec![skipjack_llm::message::InputContent::text(text)], timestamp: 0 })
}

fn result(id: &str, name: &str, text: &str, is_error: bool) -> Message {
    Message::ToolResult(ToolResultMessage {
        tool_call_id: id.into(),
        tool_name: name.into(),
        content: vec![skipjack_llm::message::InputContent::text(text)],
        is_error,
        timestamp: 0,
    })
}

/// The message a fixture decodes to, as the next request's history would hold it.
fn decoded(model: &Model, name: &str) -> AssistantMessage {
    let events = decode_chunks(model, &[&fixture("google_gemini", name)]);
    match events.last() {
        Some(StreamEvent::Done { message }) => message.clone(),
        other => panic!("{other:?}"),
    }
}

fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn read_tool() -> Tool {
    Tool {
        name: "read".into(),
        description: "Read a file".into(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"],
                           "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#"}),
    }
}

#[test]
fn signatures_are_replayed_exactly_on_the_parts_they_came_with() {
    let model = gemini_model();
    let turn = decoded(&model, "parallel_function_calls.sse");
    let ids: Vec<String> = turn
        .content
        .iter()
        .filter_map(|b| match b {
            AssistantContent::ToolCall(c) => Some(c.id.clone()),
            _ => None,
        })
        .collect();
    let context = Context {
        system_prompt: Some("Be brief.".into()),
        messages: vec![
            user("read a and b"),
            Message::Assistant(turn),
            result(&ids[0], "read", "A", false),
            result(&ids[1], "read", "no such file", true),
        ],
        tools: vec![read_tool()],
    };
    let options = StreamOptions { api_key: Some("k-123".into()), max_tokens: Some(1000), ..StreamOptions::default() };
    let req = build_request(&model, &context, &options).unwrap();
    let expected = concat!(
        r#"{"contents":[{"role":"user","parts":[{"text":"read a and b"}]},"#,
        r#"{"role":"model","parts":[{"text":"I'll read both files.","thought":true},"#,
        r#"{"functionCall":{"name":"read","args":{"path":"a.txt"}},"thoughtSignature":"c2lnLWNhbGwtMQ=="},"#,
        r#"{"functionCall":{"name":"read","args":{"path":"b.txt"}}}]},"#,
        r#"{"role":"user","parts":[{"functionResponse":{"name":"read","response":{"output":"A"}}},"#,
        r#"{"functionResponse":{"name":"read","response":{"error":"no such file"}}}]}],"#,
        r#""systemInstruction":{"parts":[{"text":"Be brief."}]},"#,
        r#""tools":[{"functionDeclarations":[{"name":"read","description":"Read a file","#,
        r#""parameters":{"properties":{"path":{"type":"string"}},"required":["path"],"type":"object"}}]}],"#,
        r#""generationConfig":{"maxOutputTokens":1000,"thinkingConfig":{"includeThoughts":true}}}"#
    );
    assert_eq!(String::from_utf8(req.body.clone()).unwrap(), expected);
    assert_eq!(
        req.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(header(&req, "x-goog-api-key"), Some("k-123"));
    assert_eq!(header(&req, "authorization"), None);
}

#[test]
fn text_signatures_and_the_trailing_signature_part_are_replayed() {
    let model = gemini_model();
    let first = decoded(&model, "thinking_signature.sse");
    let second = decoded(&model, "signature_only_part.sse");
    let context = Context {
        messages: vec![user("hi"), Message::Assistant(first), user("again"), Message::Assistant(second), user("ok")],
        ..Context::default()
    };
    let b = body(&build_request(&model, &context, &StreamOptions::default()).unwrap());
    assert_eq!(
        b["contents"][1]["parts"],
        json!([
            {"text": "**Planning**\nThe user wants a greeting.", "thought": true},
            {"text": "Hi there.", "thoughtSignature": "c2lnLXRleHQtMQ=="},
        ])
    );
    assert_eq!(
        b["contents"][3]["parts"],
        json!([
            {"text": "Thinking it over.", "thought": true},
            {"text": "Done."},
            {"text": "", "thoughtSignature": "c2lnLWVuZA=="},
        ])
    );
}

#[test]
fn another_models_thoughts_and_signatures_are_not_sent() {
    let model = gemini_model();
    let turn = decoded(&model, "parallel_function_calls.sse");
    let other = Model { id: "gemini-2.5-flash".into(), ..gemini_model() };
    let context = Context { messages: vec![user("x"), Message::Assistant(turn)], ..Context::default() };
    let b = body(&build_request(&other, &context, &StreamOptions::default()).unwrap());
    let parts = b["contents"][1]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| p.get("thoughtSignature").is_none() && p.get("thought").is_none()), "{parts:?}");
}

#[test]
fn server_ids_go_back_and_generated_ones_do_not() {
    let model = gemini_model();
    let turn = decoded(&model, "function_call_with_id.sse");
    let context = Context {
        messages: vec![user("ls"), Message::Assistant(turn), result("srv-call-7", "bash", "out", false)],
        ..Context::default()
    };
    let b = body(&build_request(&model, &context, &StreamOptions::default()).unwrap());
    assert_eq!(b["contents"][1]["parts"][0]["functionCall"]["id"], "srv-call-7");
    assert_eq!(b["contents"][2]["parts"][0]["functionResponse"]["id"], "srv-call-7");
}

#[test]
fn unanswered_calls_of_a_failed_turn_are_dropped_and_a_typed_message_follows_the_responses() {
    let model = gemini_model();
    let mut turn = decoded(&model, "parallel_function_calls.sse");
    let first_id = match &turn.content[2] {
        AssistantContent::ToolCall(c) => c.id.clone(),
        other => panic!("{other:?}"),
    };
    turn.stop_reason = skipjack_llm::StopReason::Aborted;
    let context = Context {
        messages: vec![user("go"), Message::Assistant(turn), user("and hurry"), result(&first_id, "read", "A", false)],
        ..Context::default()
    };
    let b = body(&build_request(&model, &context, &StreamOptions::default()).unwrap());
    let calls: Vec<&Value> =
        b["contents"][1]["parts"].as_array().unwrap().iter().filter(|p| p.get("functionCall").is_some()).collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["functionCall"]["args"]["path"], "a.txt");
    let answer = b["contents"][2]["parts"].as_array().unwrap();
    assert!(answer[0].get("functionResponse").is_some());
    assert_eq!(answer[1]["text"], "and hurry");
}

#[test]
fn reasoning_effort_becomes_a_budget_or_a_level() {
    let ctx = Context { messages: vec![user("x")], ..Context::default() };
    let high = StreamOptions { reasoning: Some(ReasoningEffort::High), ..StreamOptions::default() };
    let b = body(&build_request(&gemini_model(), &ctx, &high).unwrap());
    assert_eq!(b["generationConfig"]["thinkingConfig"], json!({"includeThoughts": true, "thinkingBudget": 24576}));
    let three = Model { id: "gemini-3-pro-preview".into(), ..gemini_model() };
    let min = StreamOptions { reasoning: Some(ReasoningEffort::Minimal), ..StreamOptions::default() };
    let b = body(&build_request(&three, &ctx, &min).unwrap());
    assert_eq!(b["generationConfig"]["thinkingConfig"], json!({"includeThoughts": true, "thinkingLevel": "low"}));
    let plain = Model { reasoning: false, ..gemini_model() };
    let b = body(&build_request(&plain, &ctx, &high).unwrap());
    assert!(b.get("generationConfig").is_none(), "{b}");
}

#[test]
fn vertex_gemini_uses_the_publisher_url_and_a_bearer_token() {
    let model = Model {
        provider: "google-vertex".into(),
        api: Api::GoogleVertex,
        base_url: "https://global-aiplatform.googleapis.com/v1/projects/my-proj/locations/global".into(),
        ..gemini_model()
    };
    let ctx = Context { messages: vec![user("x")], ..Context::default() };
    let opts = StreamOptions { api_key: Some("ya29.token".into()), ..StreamOptions::default() };
    let req = build_request(&model, &ctx, &opts).unwrap();
    assert_eq!(
        req.url,
        "https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(header(&req, "authorization"), Some("Bearer ya29.token"));
    assert_eq!(header(&req, "x-goog-api-key"), None);
}

#[test]
fn claude_on_vertex_names_the_model_in_the_url_and_the_version_in_the_body() {
    let model = Model {
        provider: "google-vertex-anthropic".into(),
        id: "claude-sonnet-4-5@20250929".into(),
        api: Api::GoogleVertexAnthropic,
        base_url: "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5".into(),
        ..common::anthropic_model()
    };
    let ctx = Context { messages: vec![user("hello")], ..Context::default() };
    let opts = StreamOptions { api_key: Some("ya29.t".into()), ..StreamOptions::default() };
    let req = build_request(&model, &ctx, &opts).unwrap();
    assert_eq!(
        req.url,
        "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    );
    let b = body(&req);
    assert_eq!(b["anthropic_version"], "vertex-2023-10-16");
    assert!(b.get("model").is_none(), "{b}");
    assert_eq!(b["stream"], true);
    assert_eq!(header(&req, "authorization"), Some("Bearer ya29.t"));
    assert_eq!(header(&req, "x-api-key"), None);
    assert_eq!(header(&req, "anthropic-version"), None);
    // The plain Anthropic API is unchanged.
    let plain = build_request(&common::anthropic_model(), &ctx, &opts).unwrap();
    assert_eq!(body(&plain)["model"], "claude-sonnet-4-5");
    assert_eq!(header(&plain, "anthropic-version"), Some("2023-06-01"));
}

#[test]
fn claude_thinking_signatures_replay_on_vertex() {
    let model = Model {
        provider: "google-vertex-anthropic".into(),
        api: Api::GoogleVertexAnthropic,
        base_url: "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5".into(),
        ..common::anthropic_model()
    };
    let events = decode_chunks(&model, &[&fixture("anthropic", "thinking_signature.sse")]);
    let Some(StreamEvent::Done { message }) = events.last() else { panic!("{events:?}") };
    assert_eq!(message.api, "google-vertex-anthropic");
    let ctx =
        Context { messages: vec![user("q"), Message::Assistant(message.clone()), user("more")], ..Context::default() };
    let b = body(&build_request(&model, &ctx, &StreamOptions::default()).unwrap());
    let first = &b["messages"][1]["content"][0];
    assert_eq!(first["type"], "thinking");
    assert!(first["signature"].as_str().is_some_and(|s| !s.is_empty()));
}

#[test]
fn a_tool_without_parameters_declares_none() {
    let tool = Tool {
        name: "now".into(),
        description: "time".into(),
        parameters: json!({"type": "object", "properties": {}}),
    };
    let ctx = Context { messages: vec![user("x")], tools: vec![tool], ..Context::default() };
    let b = body(&build_request(&gemini_model(), &ctx, &StreamOptions::default()).unwrap());
    assert_eq!(b["tools"][0]["functionDeclarations"][0], json!({"name": "now", "description": "time"}));
}

#[test]
fn schemas_are_converted_to_the_gemini_subset() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "$defs": {"Mode": {"type": "string", "enum": ["fast", "slow"], "description": "how"}},
        "properties": {
            "path": {"type": ["string", "null"], "format": "uri", "default": "."},
            "mode": {"$ref": "#/$defs/Mode"},
            "level": {"type": "integer", "enum": [1, 2, 3], "exclusiveMinimum": 0},
            "kind": {"const": "file"},
            "either": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
            "tags": {"type": "array"},
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
            "merged": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                                  {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}]},
            "multi": {"type": ["string", "integer"], "description": "d"}
        },
        "required": ["path", "ghost"]
    });
    let out = to_gemini(&schema);
    assert_eq!(
        out,
        json!({
            "type": "object",
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "nullable": true},
                "mode": {"type": "string", "format": "enum", "enum": ["fast", "slow"], "description": "how"},
                "level": {"type": "integer", "description": "one of: 1, 2, 3"},
                "kind": {"type": "string", "format": "enum", "enum": ["file"]},
                "either": {"anyOf": [{"type": "string"}, {"type": "number"}], "nullable": true},
                "tags": {"type": "array", "items": {}},
                "pair": {"type": "array", "items": {"type": "string"}},
                "merged": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}},
                           "required": ["a", "b"]},
                "multi": {"description": "d", "anyOf": [{"type": "string"}, {"type": "integer"}]}
            }
        })
    );
}

#[test]
fn recursive_references_end() {
    let schema = json!({
        "type": "object",
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "properties": {"root": {"$ref": "#/$defs/Node"}, "broken": {"$ref": "#/$defs/Missing"}}
    });
    let out = to_gemini(&schema);
    let mut depth = 0;
    let mut node = &out["properties"]["root"];
    while let Some(child) = node.get("properties").and_then(|p| p.get("child")) {
        node = child;
        depth += 1;
    }
    assert!((5..=10).contains(&depth), "{depth}");
    assert_eq!(node["description"], "(recursive structure)");
    assert_eq!(out["properties"]["broken"], json!({}));
    // Whatever the input, nothing Gemini rejects survives.
    let text = out.to_string();
    for banned in ["$ref", "$defs", "additionalProperties", "oneOf", "const", "$schema"] {
        assert!(!text.contains(banned), "{banned} in {text}");
    }
}

#[test]
fn an_empty_history_is_refused_before_sending() {
    let e = build_request(&gemini_model(), &Context::default(), &StreamOptions::default()).unwrap_err();
    assert_eq!(e.kind, skipjack_llm::ErrorKind::BadRequest);
    let only_text = Context {
        messages: vec![Message::User(UserMessage {
            content: vec![skipjack_llm::message::InputContent::Text(TextContent { text: String::new() })],
            timestamp: 0,
        })],
        ..Context::default()
    };
    assert!(build_request(&gemini_model(), &only_text, &StreamOptions::default()).is_err());
}

#[test]
fn google_error_bodies_are_classified() {
    use skipjack_llm::error::{classify_http, ErrorKind};
    let exhausted = r#"[{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.5s"}]}}]"#;
    let e = classify_http(429, exhausted, None);
    assert_eq!((e.kind, e.retry_after_ms), (ErrorKind::RateLimited, Some(2_500)));
    assert!(e.message.starts_with("HTTP 429: You exceeded your current quota"), "{}", e.message);
    assert!(!skipjack_llm::transport::retry::is_quota_exhausted(exhausted));
    // A header's figure wins over the body's.
    assert_eq!(classify_http(429, exhausted, Some(100)).retry_after_ms, Some(100));
    // No RetryInfo and a billing message: out of credit, not worth a retry.
    let billing =
        r#"{"error":{"code":429,"message":"check your plan and billing details","status":"RESOURCE_EXHAUSTED"}}"#;
    assert!(skipjack_llm::transport::retry::is_quota_exhausted(billing));
    let overflow = r#"{"error":{"code":400,"message":"The input token count (1201337) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#;
    assert_eq!(classify_http(400, overflow, None).kind, ErrorKind::ContextOverflow);
    let bad_key = r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#;
    assert_eq!(classify_http(400, bad_key, None).kind, ErrorKind::Auth);
    let bad_arg = r#"{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}}"#;
    assert_eq!(classify_http(400, bad_arg, None).kind, ErrorKind::BadRequest);
}

#[test]
fn each_signed_thought_is_replayed_as_its_own_part() {
    let model = gemini_model();
    let turn = decoded(&model, "two_signed_thoughts.sse");
    let context = Context { messages: vec![user("q"), Message::Assistant(turn), user("next")], ..Context::default() };
    let b = body(&build_request(&model, &context, &StreamOptions::default()).unwrap());
    assert_eq!(
        b["contents"][1]["parts"],
        json!([
            {"text": "First thought.", "thought": true, "thoughtSignature": "c2lnLUE="},
            {"text": "Second thought. More.", "thought": true, "thoughtSignature": "c2lnLUI="},
            {"text": "Answer."},
        ])
    );
}

/// A step the model made on another model (or whose signature was lost), replayed to Gemini 3.
fn unsigned_step(target: &Model) -> Value {
    let issuer = Model { id: "gemini-2.5-flash".into(), ..gemini_model() };
    let turn = decoded(&issuer, "parallel_function_calls.sse");
    let ids: Vec<String> = turn
        .content
        .iter()
        .filter_map(|c| match c {
            AssistantContent::ToolCall(call) => Some(call.id.clone()),
            _ => None,
        })
        .collect();
    let mut messages = vec![user("x"), Message::Assistant(turn)];
    messages.extend(ids.iter().map(|id| result(id, "read", "ok", false)));
    let context = Context { messages, ..Context::default() };
    body(&build_request(target, &context, &StreamOptions::default()).unwrap())
}

#[test]
fn gemini_3_gets_the_skip_sentinel_on_the_first_unsigned_call_of_a_step_only() {
    for id in ["gemini-3-pro-preview", "gemini-3.1-flash", "publishers/google/models/gemini-3-flash", "gemini-4-x"] {
        let b = unsigned_step(&Model { id: id.into(), ..gemini_model() });
        let parts = b["contents"][1]["parts"].as_array().unwrap();
        let calls: Vec<&Value> = parts.iter().filter(|p| p.get("functionCall").is_some()).collect();
        assert_eq!(calls.len(), 2, "{id}: {parts:?}");
        assert_eq!(calls[0]["thoughtSignature"], "skip_thought_signature_validator", "{id}");
        assert!(calls[1].get("thoughtSignature").is_none(), "{id}: parallel calls after the first stay unsigned");
    }
    for id in ["gemini-2.5-pro", "gemini-2.0-flash", "gemini-exp-1206", "gemma-3-27b", "my-gemini-3"] {
        let b = unsigned_step(&Model { id: id.into(), ..gemini_model() });
        let parts = b["contents"][1]["parts"].as_array().unwrap();
        assert!(parts.iter().all(|p| p.get("thoughtSignature").is_none()), "{id}: {parts:?}");
    }
}

#[test]
fn a_real_signature_is_never_replaced_by_the_sentinel() {
    let model = Model { id: "gemini-3-pro-preview".into(), ..gemini_model() };
    let turn = decoded(&model, "parallel_function_calls.sse");
    let context = Context { messages: vec![user("x"), Message::Assistant(turn)], ..Context::default() };
    let b = body(&build_request(&model, &context, &StreamOptions::default()).unwrap());
    let text = b.to_string();
    assert!(!text.contains("skip_thought_signature_validator"), "{text}");
    let parts = b["contents"][1]["parts"].as_array().unwrap();
    let first_call = parts.iter().find(|p| p.get("functionCall").is_some()).unwrap();
    assert_eq!(first_call["thoughtSignature"], "c2lnLWNhbGwtMQ==");
}
