//! Helpers shared by the OpenAI chat-completions decode and request tests.

use std::collections::BTreeMap;

use serde_json::Value;
use skipjack_llm::message::{AssistantContent, AssistantMessage, CostSource, TextContent, ThinkingContent, ToolCall};
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::{Api, Model, Price, StreamEvent, Usage};

use super::{close, fixture};

pub const PRICE: Price = Price { input: 2.0, output: 8.0, cache_read: 0.5, cache_write: 2.5 };

pub fn model() -> Model {
    Model {
        provider: "test".into(),
        id: "test-model".into(),
        api: Api::OpenAiChat,
        base_url: "http://127.0.0.1:8080/v1".into(),
        name: None,
        context_window: 128_000,
        max_output: 16_000,
        price: Some(PRICE),
        reasoning: false,
        images: true,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

pub fn replay(name: &str) -> Vec<StreamEvent> {
    let bytes = fixture("openai", name);
    decode_chunks(&model(), &[&bytes])
}

pub fn render(e: &StreamEvent) -> String {
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

pub fn rendered(events: &[StreamEvent]) -> Vec<String> {
    events.iter().map(render).collect()
}

/// The message of the one terminal event, which must be last.
pub fn final_message(events: &[StreamEvent]) -> &AssistantMessage {
    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1, "{:?}", rendered(events));
    match events.last() {
        Some(StreamEvent::Done { message } | StreamEvent::Error { message, .. }) => message,
        other => panic!("last event is not terminal: {other:?}"),
    }
}

/// Tokens as given; cost from `PRICE`.
pub fn assert_usage(u: &Usage, input: u64, output: u64, cache_read: u64, cache_write: u64) {
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

pub fn assert_computed_total(m: &AssistantMessage) {
    let c = m.usage.cost;
    assert!(close(c.total, c.input + c.output + c.cache_read + c.cache_write), "{c:?}");
    assert_eq!(m.cost_source, CostSource::Computed);
}

pub fn text(t: &str) -> AssistantContent {
    AssistantContent::Text(TextContent { text: t.into() })
}

pub fn thinking(t: &str) -> AssistantContent {
    AssistantContent::Thinking(ThinkingContent { thinking: t.into(), signature: None, redacted: false })
}

pub fn call(id: &str, name: &str, args: Value) -> AssistantContent {
    AssistantContent::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments: args, arguments_error: None })
}

pub fn assert_events(events: &[StreamEvent], expected: &[&str]) {
    assert_eq!(rendered(events), expected);
}
