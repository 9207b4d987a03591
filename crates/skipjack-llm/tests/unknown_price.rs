//! A model with no known price: its messages say the cost is unknown (never a computed $0),
//! while a provider-reported charge still counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use skipjack_llm::message::CostSource;
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::{Api, Model, Price, StreamEvent};

fn model(price: Option<Price>) -> Model {
    Model {
        provider: "custom".into(),
        id: "m".into(),
        api: Api::OpenAiChat,
        base_url: "http://127.0.0.1:9/v1".into(),
        name: None,
        context_window: 0,
        max_output: 0,
        price,
        reasoning: false,
        images: false,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

fn finish(m: &Model, usage: &str) -> (CostSource, f64, u64) {
    let body = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"hi\"}}}}]}}\n\n\
         data: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\n\
         data: {{\"choices\":[],\"usage\":{usage}}}\n\ndata: [DONE]\n\n"
    );
    let events = decode_chunks(m, &[body.as_bytes()]);
    let Some(StreamEvent::Done { message }) = events.last() else { panic!("{:?}", events.last()) };
    (message.cost_source, message.usage.cost.total, message.usage.input)
}

#[test]
fn no_price_is_unknown_not_free() {
    let (source, total, input) = finish(&model(None), r#"{"prompt_tokens":1000,"completion_tokens":10}"#);
    assert_eq!(source, CostSource::Unknown);
    assert!(total.abs() < f64::EPSILON);
    assert_eq!(input, 1000);
}

#[test]
fn a_known_zero_price_is_free() {
    let free = Some(Price { input: 0.0, output: 0.0, cache_read: 0.0, cache_write: 0.0 });
    let (source, total, _) = finish(&model(free), r#"{"prompt_tokens":1000,"completion_tokens":10}"#);
    assert_eq!(source, CostSource::Computed);
    assert!(total.abs() < f64::EPSILON);
}

#[test]
fn a_reported_charge_counts_without_a_price() {
    let (source, total, _) = finish(&model(None), r#"{"prompt_tokens":1000,"completion_tokens":10,"cost":0.0125}"#);
    assert_eq!(source, CostSource::Provider);
    assert!((total - 0.0125).abs() < 1e-12);
}

#[test]
fn the_python_side_sends_no_price_as_null() {
    let m: Model =
        serde_json::from_str(r#"{"provider":"p","id":"m","api":"openai-chat","base_url":"http://x","price":null}"#)
            .unwrap();
    assert_eq!(m.price, None);
}
