//! Tiered prices (models.dev's `context_over_200k` and `[[cost.tiers]]`) applied by the core
//! to the request that crosses them, on every wire API, to the cent-thousandth (1e-5 USD).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use skipjack_llm::message::AssistantMessage;
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::usage::PriceTier;
use skipjack_llm::{Model, Price, StreamEvent};

use common::{anthropic_model, fixture, openai_responses_model};

fn last_message(events: &[StreamEvent]) -> &AssistantMessage {
    match events.last() {
        Some(StreamEvent::Done { message }) => message,
        other => panic!("not done: {other:?}"),
    }
}

/// USD rounded to the cent-thousandth, as a price sheet is checked.
fn usd(x: f64) -> String {
    format!("{x:.5}")
}

/// GPT-5.4's sheet: $2.50 / $15 / $0.25 cached, and $5 / $22.50 / $0.50 past 272k.
fn gpt_5_4() -> Model {
    Model {
        id: "gpt-5.4".into(),
        price: Some(Price { input: 2.5, output: 15.0, cache_read: 0.25, cache_write: 0.0 }),
        tiers: vec![PriceTier {
            context_over: 272_000,
            price: Price { input: 5.0, output: 22.5, cache_read: 0.5, cache_write: 0.0 },
        }],
        ..openai_responses_model()
    }
}

/// Claude Opus 4.6: $5 / $25 / $0.50 read / $6.25 write, doubled input past 200k.
fn opus_4_6() -> Model {
    Model {
        id: "claude-opus-4-6".into(),
        price: Some(Price { input: 5.0, output: 25.0, cache_read: 0.5, cache_write: 6.25 }),
        tiers: vec![PriceTier {
            context_over: 200_000,
            price: Price { input: 10.0, output: 37.5, cache_read: 1.0, cache_write: 12.5 },
        }],
        ..anthropic_model()
    }
}

#[test]
fn responses_request_over_272k_is_billed_whole_at_the_long_context_tier() {
    let bytes = fixture("openai_responses", "usage_long_context_tier.sse");
    let m = last_message(&decode_chunks(&gpt_5_4(), &[&bytes])).clone();
    assert_eq!((m.usage.input, m.usage.cache_read, m.usage.output), (100_000, 200_000, 5_000));
    // 100k * $5 + 200k * $0.50 + 5k * $22.50 per million
    assert_eq!(usd(m.usage.cost.input), "0.50000");
    assert_eq!(usd(m.usage.cost.cache_read), "0.10000");
    assert_eq!(usd(m.usage.cost.output), "0.11250");
    assert_eq!(usd(m.usage.cost.total), "0.71250");
    // The same request without the tier: the base sheet.
    let flat = Model { tiers: Vec::new(), ..gpt_5_4() };
    let m = last_message(&decode_chunks(&flat, &[&bytes])).clone();
    assert_eq!(usd(m.usage.cost.total), "0.37500");
}

#[test]
fn a_small_responses_request_keeps_the_base_price() {
    let bytes = fixture("openai_responses", "usage_cached_tokens.sse");
    let m = last_message(&decode_chunks(&gpt_5_4(), &[&bytes])).clone();
    // 86 * $2.50 + 1920 * $0.25 + 300 * $15 per million
    assert_eq!((m.usage.input, m.usage.cache_read, m.usage.output), (86, 1_920, 300));
    assert_eq!(usd(m.usage.cost.total), usd((86.0 * 2.5 + 1920.0 * 0.25 + 300.0 * 15.0) / 1e6));
    assert_eq!(usd(m.usage.cost.total), "0.00519");
}

#[test]
fn anthropic_cache_reads_and_writes_count_toward_the_boundary() {
    // 14 + 1,200 written + 198,787 read = 200,001: one token over.
    let bytes = fixture("anthropic", "cache_usage_long_context_tier.sse");
    let m = last_message(&decode_chunks(&opus_4_6(), &[&bytes])).clone();
    assert_eq!((m.usage.input, m.usage.cache_write, m.usage.cache_read, m.usage.output), (14, 1_200, 198_787, 57));
    assert_eq!(usd(m.usage.cost.input), "0.00014");
    assert_eq!(usd(m.usage.cost.cache_write), "0.01500");
    assert_eq!(usd(m.usage.cost.cache_read), "0.19879");
    assert_eq!(usd(m.usage.cost.output), "0.00214");
    assert_eq!(usd(m.usage.cost.total), "0.21606");
    // Under the boundary (30,000 read): the base sheet.
    let bytes = fixture("anthropic", "cache_usage.sse");
    let m = last_message(&decode_chunks(&opus_4_6(), &[&bytes])).clone();
    assert_eq!(usd(m.usage.cost.total), usd((14.0 * 5.0 + 1200.0 * 6.25 + 30_000.0 * 0.5 + 57.0 * 25.0) / 1e6));
    assert!((m.usage.cost.total - 0.023_995).abs() < 1e-9, "{}", m.usage.cost.total);
}

fn chat_usage(prompt: u64, cached: u64, completion: u64) -> Vec<u8> {
    format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"ok\"}},\"finish_reason\":\"stop\"}}],\
         \"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\
         \"prompt_tokens_details\":{{\"cached_tokens\":{cached}}}}}}}\n\ndata: [DONE]\n\n"
    )
    .into_bytes()
}

#[test]
fn chat_prompt_exactly_at_the_boundary_is_base_priced_and_one_more_token_is_not() {
    let m = Model { api: skipjack_llm::Api::OpenAiChat, ..gpt_5_4() };
    let at = last_message(&decode_chunks(&m, &[&chat_usage(272_000, 72_000, 1_000)])).usage;
    // 200k * $2.50 + 72k * $0.25 + 1k * $15 per million
    assert_eq!(usd(at.cost.total), "0.53300");
    let over = last_message(&decode_chunks(&m, &[&chat_usage(272_001, 72_000, 1_000)])).usage;
    // 200,001 * $5 + 72k * $0.50 + 1k * $22.50 per million
    assert_eq!(usd(over.cost.total), "1.05851");
}

#[test]
fn a_provider_reported_charge_still_wins_over_a_tier() {
    let m = Model { api: skipjack_llm::Api::OpenAiChat, ..gpt_5_4() };
    let body = String::from_utf8(chat_usage(300_000, 0, 10))
        .unwrap()
        .replace("\"prompt_tokens_details\"", "\"cost\":0.25,\"prompt_tokens_details\"");
    let u = last_message(&decode_chunks(&m, &[body.as_bytes()])).usage;
    assert_eq!(usd(u.cost.total), "0.25000");
}

#[test]
fn tiers_without_a_known_price_leave_the_cost_unknown_not_a_tier_guess() {
    let bytes = fixture("openai_responses", "usage_long_context_tier.sse");
    let unpriced = Model { price: None, ..gpt_5_4() };
    let m = last_message(&decode_chunks(&unpriced, &[&bytes])).clone();
    assert_eq!((m.usage.input, m.usage.cache_read, m.usage.output), (100_000, 200_000, 5_000));
    assert_eq!(m.cost_source, skipjack_llm::message::CostSource::Unknown);
    assert_eq!(m.usage.cost, skipjack_llm::usage::Cost::default());
}
