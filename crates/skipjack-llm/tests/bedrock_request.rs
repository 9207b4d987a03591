//! `build_request` for Bedrock Converse: URL, auth (bearer, SigV4 against AWS's published test
//! vector and a second, independent computation) and the exact body, reasoning signatures
//! replayed byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use skipjack_llm::auth::aws::{sign_headers, AwsCredentials};
use skipjack_llm::message::{
    AssistantContent, CostSource, ImageContent, InputContent, TextContent, ThinkingContent, Tool, ToolCall,
    ToolResultMessage, UserMessage,
};
use skipjack_llm::model::ReasoningEffort;
use skipjack_llm::providers::bedrock_converse::build_request_with;
use skipjack_llm::providers::HttpRequest;
use skipjack_llm::{AssistantMessage, Context, ErrorKind, Message, Model, StopReason, StreamOptions, Usage};

use common::bedrock_model as model;

/// 2015-08-30T12:36:00Z, the time of AWS's SigV4 test suite.
fn suite_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_440_938_160)
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |k| map.get(k).cloned()
}

fn no_env() -> impl Fn(&str) -> Option<String> {
    env_of(&[("HOME", "/nonexistent-home")])
}

fn bearer() -> StreamOptions {
    StreamOptions { api_key: Some("bedrock-api-key-1".into()), ..StreamOptions::default() }
}

fn user(text: &str) -> Message {
    Message::User(UserMessage { content: vec![InputContent::text(text)], timestamp: 0 })
}

fn assistant(provider: &str, api: &str, content: Vec<AssistantContent>) -> Message {
    Message::Assistant(AssistantMessage {
        content,
        api: api.into(),
        provider: provider.into(),
        model: "m".into(),
        usage: Usage::default(),
        stop_reason: StopReason::ToolUse,
        error_message: None,
        error_kind: None,
        cost_source: CostSource::Computed,
        response_id: None,
        timestamp: 0,
    })
}

fn thinking(t: &str, signature: &str, redacted: bool) -> AssistantContent {
    AssistantContent::Thinking(ThinkingContent { thinking: t.into(), signature: Some(signature.into()), redacted })
}

fn call(id: &str, name: &str, arguments: Value) -> AssistantContent {
    AssistantContent::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments, arguments_error: None })
}

fn result(id: &str, content: &str, is_error: bool) -> Message {
    Message::ToolResult(ToolResultMessage {
        tool_call_id: id.into(),
        tool_name: "read".into(),
        content: vec![InputContent::text(content)],
        is_error,
        timestamp: 0,
    })
}

fn read_tool() -> Tool {
    Tool {
        name: "read".into(),
        description: "Read a file".into(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
    }
}

fn build(model: &Model, context: &Context, options: &StreamOptions) -> HttpRequest {
    build_request_with(model, context, options, &no_env(), SystemTime::now()).unwrap()
}

fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

const SIG: &str = "EqQBCkYIBxgCKkB/+sig==\u{0}odd";
const REDACTED: &str = "RURBQkVFRg==";

#[test]
fn reasoning_is_replayed_exactly_with_tools_results_and_cache_points() {
    let context = Context {
        system_prompt: Some("You are terse.".into()),
        messages: vec![
            user("read a.py"),
            assistant(
                "amazon-bedrock",
                "bedrock-converse",
                vec![
                    thinking("I should read it.", SIG, false),
                    thinking("", REDACTED, true),
                    AssistantContent::Text(TextContent { text: "Reading.".into() }),
                    call("tooluse_1", "read", json!({"path": "a.py"})),
                ],
            ),
            result("tooluse_1", "print(1)", false),
        ],
        tools: vec![read_tool()],
    };
    let options = StreamOptions { reasoning: Some(ReasoningEffort::Low), temperature: Some(0.5), ..bearer() };
    let req = build(&model(), &context, &options);
    assert_eq!(
        req.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream"
    );
    assert_eq!(header(&req, "authorization"), Some("Bearer bedrock-api-key-1"));
    assert_eq!(header(&req, "accept"), Some("application/vnd.amazon.eventstream"));
    assert_eq!(
        body(&req),
        json!({
            "messages": [
                {"role": "user", "content": [{"text": "read a.py"}]},
                {"role": "assistant", "content": [
                    {"reasoningContent": {"reasoningText": {"text": "I should read it.", "signature": SIG}}},
                    {"reasoningContent": {"redactedContent": REDACTED}},
                    {"text": "Reading."},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "read", "input": {"path": "a.py"}}}
                ]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "print(1)"}]}},
                    {"cachePoint": {"type": "default"}}
                ]}
            ],
            "system": [{"text": "You are terse."}, {"cachePoint": {"type": "default"}}],
            // The model's output limit; thinking's budget fits inside it.
            "inferenceConfig": {"maxTokens": 64000},
            "toolConfig": {"tools": [
                {"toolSpec": {"name": "read", "description": "Read a file", "inputSchema": {"json": {"type": "object", "properties": {"path": {"type": "string"}}}}}},
                {"cachePoint": {"type": "default"}}
            ]},
            "additionalModelRequestFields": {
                "thinking": {"type": "enabled", "budget_tokens": 4096},
                "anthropic_beta": ["interleaved-thinking-2025-05-14"]
            }
        })
    );
    // The signature's bytes appear in the body exactly as they came (JSON-escaped only).
    let raw = String::from_utf8(req.body.clone()).unwrap();
    assert!(raw.contains(r#""signature":"EqQBCkYIBxgCKkB/+sig==\u0000odd""#), "{raw}");
}

#[test]
fn foreign_reasoning_is_dropped_and_errors_marked() {
    let context = Context {
        system_prompt: None,
        messages: vec![
            user("go"),
            assistant(
                "anthropic",
                "anthropic-messages",
                vec![thinking("theirs", "anthropic-sig", false), call("call/1:x", "read", json!({}))],
            ),
            result("call/1:x", "", true),
            user("  "),
        ],
        tools: vec![read_tool()],
    };
    let b = body(&build(&model(), &context, &bearer()));
    assert_eq!(
        b["messages"],
        json!([
            {"role": "user", "content": [{"text": "go"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1_x", "name": "read", "input": {}}}]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "call_1_x", "content": [{"text": "(no output)"}], "status": "error"}},
                {"cachePoint": {"type": "default"}}
            ]}
        ])
    );
    assert_eq!(b["inferenceConfig"], json!({"maxTokens": 64000}));
    assert!(b.get("additionalModelRequestFields").is_none());
}

#[test]
fn without_tools_past_calls_travel_as_text_and_other_models_get_no_claude_fields() {
    let mut m = model();
    m.id = "meta.llama3-70b-instruct-v1:0".into();
    m.max_output = 2048;
    let context = Context {
        system_prompt: Some("sys".into()),
        messages: vec![
            user("go"),
            assistant("amazon-bedrock", "bedrock-converse", vec![call("t1", "read", json!({"path": "x"}))]),
            result("t1", "data", false),
            Message::User(UserMessage {
                content: vec![
                    InputContent::Image(ImageContent { data: "iVBOR".into(), mime_type: "image/png".into() }),
                    InputContent::Image(ImageContent { data: "AAAA".into(), mime_type: "image/bmp".into() }),
                ],
                timestamp: 0,
            }),
        ],
        tools: vec![],
    };
    let options = StreamOptions { reasoning: Some(ReasoningEffort::High), temperature: Some(0.2), ..bearer() };
    let b = body(&build(&m, &context, &options));
    assert_eq!(
        b,
        json!({
            "messages": [
                {"role": "user", "content": [{"text": "go"}]},
                {"role": "assistant", "content": [{"text": "[called tool read with {\"path\":\"x\"}]"}]},
                {"role": "user", "content": [
                    {"text": "[result of tool read]\ndata"},
                    {"image": {"format": "png", "source": {"bytes": "iVBOR"}}},
                    {"text": "[an image of type image/bmp that Bedrock cannot take]"}
                ]}
            ],
            "system": [{"text": "sys"}],
            "inferenceConfig": {"maxTokens": 2048, "temperature": 0.2}
        })
    );
}

#[test]
fn base_url_region_placeholder_and_arn_model_ids() {
    let mut m = model();
    m.base_url = "https://bedrock-runtime.{region}.amazonaws.com".into();
    m.id = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet".into();
    let env = env_of(&[("AWS_REGION", "eu-west-1"), ("HOME", "/nonexistent")]);
    let context = Context { messages: vec![user("hi")], ..Context::default() };
    let req = build_request_with(&m, &context, &bearer(), &env, SystemTime::now()).unwrap();
    assert_eq!(
        req.url,
        "https://bedrock-runtime.eu-west-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-3-7-sonnet/converse-stream"
    );
}

#[test]
fn no_credentials_at_all_is_an_auth_error_naming_every_way() {
    let context = Context { messages: vec![user("hi")], ..Context::default() };
    let e =
        build_request_with(&model(), &context, &StreamOptions::default(), &no_env(), SystemTime::now()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    for needle in ["AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "~/.aws/credentials"] {
        assert!(e.message.contains(needle), "{}", e.message);
    }
    // A caller's own authorization header needs nothing else.
    let mut options = StreamOptions::default();
    options.headers.insert("Authorization".into(), "Bearer from-gateway".into());
    let req = build_request_with(&model(), &context, &options, &no_env(), SystemTime::now()).unwrap();
    assert_eq!(header(&req, "authorization"), Some("Bearer from-gateway"));
    assert!(header(&req, "x-amz-date").is_none());
}

/// AWS's SigV4 test suite, `post-vanilla`: POST / to example.amazonaws.com, service
/// `service`, us-east-1, AKIDEXAMPLE at 20150830T123600Z.
#[test]
fn sigv4_matches_the_aws_test_suite() {
    let creds = AwsCredentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: None,
        source: "test".into(),
    };
    let headers =
        sign_headers(&creds, "us-east-1", "service", suite_time(), "https://example.amazonaws.com/", &[], b"").unwrap();
    let auth = headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
    assert_eq!(
        auth,
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        )
    );
    let wrong = AwsCredentials { secret_access_key: "wrong".into(), ..creds };
    let headers =
        sign_headers(&wrong, "us-east-1", "service", suite_time(), "https://example.amazonaws.com/", &[], b"").unwrap();
    assert!(!headers.iter().any(|(_, v)| v.contains("5da7c1a2acd57cee")));
}

#[test]
fn sigv4_from_the_environment_signs_every_sent_header_and_the_session_token() {
    let env = env_of(&[
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("AWS_SESSION_TOKEN", "session/token=="),
        ("HOME", "/nonexistent"),
    ]);
    let context = Context { messages: vec![user("hi")], ..Context::default() };
    let req = build_request_with(&model(), &context, &StreamOptions::default(), &env, suite_time()).unwrap();
    assert_eq!(header(&req, "x-amz-date"), Some("20150830T123600Z"));
    assert_eq!(header(&req, "x-amz-security-token"), Some("session/token=="));
    let auth = header(&req, "authorization").unwrap();
    assert!(
        auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, \
             SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature="
        ),
        "{auth}"
    );
    // The same request signed twice at the same time gives the same signature; a byte more
    // in the body gives another.
    let again = build_request_with(&model(), &context, &StreamOptions::default(), &env, suite_time()).unwrap();
    assert_eq!(header(&again, "authorization"), Some(auth));
    let other = Context { messages: vec![user("hi!")], ..Context::default() };
    let changed = build_request_with(&model(), &other, &StreamOptions::default(), &env, suite_time()).unwrap();
    assert_ne!(header(&changed, "authorization"), Some(auth));
}
