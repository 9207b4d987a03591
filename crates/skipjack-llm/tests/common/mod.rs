//! Helpers shared by the integration tests: the models they decode for and their fixtures.
//! Each test crate uses some of them, so the rest are dead code there.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod openai_chat;

use std::collections::BTreeMap;
use std::path::PathBuf;

use skipjack_llm::{Api, Model, Price};

/// Claude Sonnet's list prices (USD per million tokens), each distinct in a cost.
pub const ANTHROPIC_PRICE: Price = Price { input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75 };

/// gpt-5.3-codex's list prices (USD per million tokens).
pub const RESPONSES_PRICE: Price = Price { input: 1.75, output: 14.0, cache_read: 0.175, cache_write: 0.0 };

pub fn anthropic_model() -> Model {
    Model {
        provider: "anthropic".into(),
        id: "claude-sonnet-4-5".into(),
        api: Api::AnthropicMessages,
        base_url: "https://api.anthropic.com".into(),
        name: None,
        context_window: 200_000,
        max_output: 64_000,
        price: Some(ANTHROPIC_PRICE),
        reasoning: true,
        images: true,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

pub fn openai_responses_model() -> Model {
    Model {
        provider: "openai".into(),
        id: "gpt-5.3-codex".into(),
        api: Api::OpenAiResponses,
        base_url: "https://api.openai.com/v1".into(),
        name: None,
        context_window: 400_000,
        max_output: 128_000,
        price: Some(RESPONSES_PRICE),
        reasoning: true,
        images: true,
        api_key_env: Some("OPENAI_API_KEY".into()),
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

/// gemini-2.5-pro's list prices up to 200k tokens (USD per million tokens).
pub const GEMINI_PRICE: Price = Price { input: 1.25, output: 10.0, cache_read: 0.125, cache_write: 0.0 };

pub fn gemini_model() -> Model {
    Model {
        provider: "google".into(),
        id: "gemini-2.5-pro".into(),
        api: Api::GoogleGemini,
        base_url: "https://generativelanguage.googleapis.com/v1beta".into(),
        name: None,
        context_window: 1_048_576,
        max_output: 65_536,
        price: Some(GEMINI_PRICE),
        reasoning: true,
        images: true,
        api_key_env: Some("GEMINI_API_KEY".into()),
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

/// Claude Sonnet 4 on Bedrock (us inference profile), list prices per million tokens.
pub fn bedrock_model() -> Model {
    Model {
        provider: "amazon-bedrock".into(),
        id: "us.anthropic.claude-sonnet-4-20250514-v1:0".into(),
        api: Api::BedrockConverse,
        base_url: "https://bedrock-runtime.us-east-1.amazonaws.com".into(),
        name: None,
        context_window: 200_000,
        max_output: 64_000,
        price: Some(ANTHROPIC_PRICE),
        reasoning: true,
        images: true,
        api_key_env: Some("AWS_BEARER_TOKEN_BEDROCK".into()),
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

/// A recorded stream under `tests/fixtures/sse/<provider>/`.
pub fn fixture(provider: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse").join(provider).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}
