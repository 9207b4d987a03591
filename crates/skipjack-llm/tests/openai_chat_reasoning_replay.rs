//! Reasoning carried from one chat-completions turn to the next, byte for byte: OpenRouter's
//! `reasoning_details` go back verbatim to the model that wrote them; DeepSeek's and
//! Moonshot's `reasoning_content` goes back on tool-call turns; every other server gets none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use skipjack_llm::message::{
    AssistantContent, AssistantMessage, Context, InputContent, Message, ToolResultMessage, UserMessage,
};
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::providers::build_request;
use skipjack_llm::{Model, StreamEvent, StreamOptions};

use common::fixture;
use common::openai_chat::{final_message, model};

fn openrouter(id: &str) -> Model {
    Model {
        provider: "openrouter".into(),
        id: id.into(),
        base_url: "https://openrouter.ai/api/v1".into(),
        reasoning: true,
        ..model()
    }
}

fn deepseek() -> Model {
    Model {
        provider: "deepseek".into(),
        id: "deepseek-v4-pro".into(),
        base_url: "https://api.deepseek.com".into(),
        reasoning: true,
        ..model()
    }
}

/// Decode a fixture for `m`, checking every split of its bytes into two chunks and one
/// chunk per byte decode to the same message (the signature included).
fn decode_every_split(m: &Model, name: &str) -> AssistantMessage {
    let bytes = fixture("openai", name);
    let whole = final_message(&decode_chunks(m, &[&bytes])).clone();
    let strip = |mut msg: AssistantMessage| {
        msg.timestamp = 0;
        msg
    };
    let expected = strip(whole.clone());
    for cut in 0..=bytes.len() {
        let events: Vec<StreamEvent> = decode_chunks(m, &[&bytes[..cut], &bytes[cut..]]);
        assert_eq!(strip(final_message(&events).clone()), expected, "split at byte {cut}");
    }
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(strip(final_message(&decode_chunks(m, &singles)).clone()), expected, "one byte per chunk");
    whole
}

fn next_request(m: &Model, turn: AssistantMessage, call_id: &str, output: &str) -> String {
    let context = Context {
        system_prompt: None,
        messages: vec![
            Message::User(UserMessage { content: vec![InputContent::text("go")], timestamp: 0 }),
            Message::Assistant(turn),
            Message::ToolResult(ToolResultMessage {
                tool_call_id: call_id.into(),
                tool_name: "read".into(),
                content: vec![InputContent::text(output)],
                is_error: false,
                timestamp: 0,
            }),
        ],
        tools: vec![],
    };
    let request = build_request(m, &context, &StreamOptions::default()).unwrap();
    String::from_utf8(request.body).unwrap()
}

#[test]
fn claude_on_openrouter_gets_its_signed_reasoning_back_verbatim() {
    let m = openrouter("anthropic/claude-sonnet-4.5");
    let turn = decode_every_split(&m, "openrouter_reasoning_details_signed_tool_call.sse");
    assert_eq!(turn.text(), "Reading it.");
    let body = next_request(&m, turn, "toolu_01A", "alpha");
    assert_eq!(
        body,
        concat!(
            r#"{"model":"anthropic/claude-sonnet-4.5","messages":[{"role":"user","content":[{"type":"text","text":"go","cache_control":{"type":"ephemeral"}}]},"#,
            r#"{"role":"assistant","content":"Reading it.","tool_calls":[{"id":"toolu_01A","type":"function","function":{"name":"read","arguments":"{\"path\":\"a.txt\"}"}}],"#,
            r#""reasoning_details":[{"format":"anthropic-claude-v1","index":0,"signature":"EqQBCkYIBxgCKkD3sig+/=","text":"The user wants the file read.","type":"reasoning.text"}]},"#,
            r#"{"role":"tool","tool_call_id":"toolu_01A","content":[{"type":"text","text":"alpha","cache_control":{"type":"ephemeral"}}]}],"#,
            r#""stream":true,"stream_options":{"include_usage":true}}"#
        )
    );
}

#[test]
fn encrypted_reasoning_without_text_still_rides_on_an_empty_thinking_block() {
    let m = openrouter("openai/gpt-5-mini");
    let turn = decode_every_split(&m, "openrouter_encrypted_reasoning_only.sse");
    let thinking: Vec<_> = turn
        .content
        .iter()
        .filter_map(|b| match b {
            AssistantContent::Thinking(t) => Some(t),
            _ => None,
        })
        .collect();
    // The summary is shown as thinking; the encrypted block only travels.
    assert_eq!(thinking.len(), 1);
    assert_eq!(thinking[0].thinking, "**Planning the grep**");
    let body = next_request(&m, turn, "call_G1", "none");
    assert!(
        body.contains(concat!(
            r#""tool_calls":[{"id":"call_G1","type":"function","function":{"name":"grep","arguments":"{\"pattern\":\"TODO\"}"}}],"#,
            r#""reasoning_details":[{"format":"openai-responses-v1","index":0,"summary":"**Planning the grep**","type":"reasoning.summary"},"#,
            r#"{"data":"gAAAAABpENCRYPTED==","format":"openai-responses-v1","id":"rs_0a1b2c","index":1,"type":"reasoning.encrypted"}]}"#
        )),
        "{body}"
    );
}

#[test]
fn details_are_never_sent_to_another_model_or_another_server() {
    let claude = openrouter("anthropic/claude-sonnet-4.5");
    let turn = decode_every_split(&claude, "openrouter_reasoning_details_signed_tool_call.sse");
    // Claude's signature is invalid for Gemini; Anthropic rejects a foreign one.
    let gemini = openrouter("google/gemini-2.5-pro");
    let body = next_request(&gemini, turn.clone(), "toolu_01A", "alpha");
    assert!(!body.contains("reasoning"), "{body}");
    // The same model id at another provider (a failover to a direct key) gets none either.
    let direct =
        Model { provider: "anthropic-proxy".into(), base_url: "http://127.0.0.1:9/v1".into(), ..claude.clone() };
    let body = next_request(&direct, turn.clone(), "toolu_01A", "alpha");
    assert!(!body.contains("reasoning"), "{body}");
    // Nor from a failed turn, whose signature may have been cut short.
    let mut failed = turn;
    failed.stop_reason = skipjack_llm::StopReason::Error;
    let body = next_request(&claude, failed, "toolu_01A", "alpha");
    assert!(!body.contains("reasoning_details"), "{body}");
}

#[test]
fn deepseek_gets_reasoning_content_back_on_its_tool_call_turn() {
    let m = deepseek();
    let turn = decode_every_split(&m, "deepseek_reasoning_tool_call.sse");
    let body = next_request(&m, turn, "call_00_ds1", "beta");
    assert_eq!(
        body,
        concat!(
            r#"{"model":"deepseek-v4-pro","messages":[{"role":"user","content":"go"},"#,
            r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_00_ds1","type":"function","function":{"name":"read","arguments":"{\"path\":\"b.txt\"}"}}],"reasoning_content":"Need the file first."},"#,
            r#"{"role":"tool","tool_call_id":"call_00_ds1","content":"beta"}],"stream":true,"stream_options":{"include_usage":true}}"#
        )
    );
}

#[test]
fn deepseek_gets_an_empty_reasoning_content_for_another_models_tool_call() {
    // A session that switched to DeepSeek mid-loop: the earlier turn is OpenRouter's Claude.
    let claude = openrouter("anthropic/claude-sonnet-4.5");
    let turn = decode_every_split(&claude, "openrouter_reasoning_details_signed_tool_call.sse");
    let body = next_request(&deepseek(), turn, "toolu_01A", "alpha");
    assert!(body.contains(r#""reasoning_content":""}"#), "{body}");
    assert!(!body.contains("The user wants"), "another model's reasoning is not DeepSeek's: {body}");
    assert!(!body.contains("reasoning_details"), "{body}");
}

#[test]
fn moonshot_by_host_whatever_the_provider_is_called() {
    let m = Model {
        provider: "my-kimi".into(),
        id: "kimi-k2-thinking".into(),
        base_url: "https://api.moonshot.ai/v1".into(),
        reasoning: true,
        ..model()
    };
    let turn = decode_every_split(&m, "deepseek_reasoning_tool_call.sse");
    let body = next_request(&m, turn, "call_00_ds1", "beta");
    assert!(body.contains(r#""reasoning_content":"Need the file first.""#), "{body}");
}

#[test]
fn openai_azure_and_unknown_servers_get_no_reasoning_fields() {
    let ds = deepseek();
    let turn = decode_every_split(&ds, "deepseek_reasoning_tool_call.sse");
    for (provider, base) in [
        ("openai", "https://api.openai.com/v1"),
        ("azure", "https://contoso.openai.azure.com/openai/v1"),
        ("vllm", "http://127.0.0.1:8000/v1"),
        // DeepSeek's models at another host follow that host's rules, not DeepSeek's.
        ("together", "https://api.together.xyz/v1"),
    ] {
        let m = Model { provider: provider.into(), base_url: base.into(), id: ds.id.clone(), ..ds.clone() };
        let turn = AssistantMessage { provider: provider.into(), ..turn.clone() };
        let body = next_request(&m, turn, "call_00_ds1", "beta");
        assert!(!body.contains("reasoning_content"), "{provider}: {body}");
        assert!(!body.contains("reasoning_details"), "{provider}: {body}");
    }
}

#[test]
fn endless_reasoning_details_end_at_the_message_cap_not_in_memory() {
    use skipjack_llm::model::Limits;
    use skipjack_llm::pipeline::BodyDecoder;

    // Encrypted details that never show as text still count against the message's cap.
    let limits = Limits { max_message_bytes: 50_000, ..Limits::default() };
    let m = openrouter("openai/gpt-5-mini");
    let mut d = BodyDecoder::with_limits(&m, limits);
    let mut out = Vec::new();
    d.start(&mut out);
    let chunk = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"reasoning_details\":[{{\"type\":\"reasoning.encrypted\",\"data\":\"{}\"}}]}}}}]}}\n\n",
        "A".repeat(1_000)
    );
    let mut ended = false;
    for _ in 0..1_000 {
        if d.feed(chunk.as_bytes(), &mut out) {
            ended = true;
            break;
        }
    }
    assert!(ended, "a megabyte of details went past a 50 kB cap");
    let Some(StreamEvent::Error { error, .. }) = out.last() else { panic!("{:?}", out.last()) };
    assert!(error.message.contains("limits.max_message_bytes"), "{}", error.message);
}
