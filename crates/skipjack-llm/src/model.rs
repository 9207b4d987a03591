//! The one model type every caller uses, and the options of one request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::usage::{Price, PriceTier};

/// Which wire protocol a model's server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Api {
    #[serde(rename = "openai-chat")]
    OpenAiChat,
    #[serde(rename = "anthropic-messages")]
    AnthropicMessages,
    /// OpenAI's Responses API (`POST /responses`), the only one serving its codex and -pro models.
    #[serde(rename = "openai-responses")]
    OpenAiResponses,
    /// Google's Gemini API (`:streamGenerateContent`), keyed by `x-goog-api-key`.
    #[serde(rename = "google-gemini")]
    GoogleGemini,
    /// Gemini on Vertex AI: the same wire format, an OAuth token from Application Default Credentials.
    #[serde(rename = "google-vertex")]
    GoogleVertex,
    /// Claude on Vertex AI: Anthropic Messages at `:streamRawPredict`, with Vertex's auth.
    #[serde(rename = "google-vertex-anthropic")]
    GoogleVertexAnthropic,
    /// Amazon Bedrock's Converse stream (`POST /model/{id}/converse-stream`), event-stream framed.
    #[serde(rename = "bedrock-converse")]
    BedrockConverse,
}

impl Api {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAiChat => "openai-chat",
            Self::AnthropicMessages => "anthropic-messages",
            Self::OpenAiResponses => "openai-responses",
            Self::GoogleGemini => "google-gemini",
            Self::GoogleVertex => "google-vertex",
            Self::GoogleVertexAnthropic => "google-vertex-anthropic",
            Self::BedrockConverse => "bedrock-converse",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub provider: String,
    pub id: String,
    pub api: Api,
    pub base_url: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub context_window: u64,
    /// Largest prompt the server accepts when smaller than the context window (0: the
    /// window is the limit); gpt-5 takes 272k of its 400k.
    #[serde(default)]
    pub max_input: u64,
    #[serde(default)]
    pub max_output: u64,
    /// USD per million tokens; `None` when no price is known, so the cost is unknown (never $0).
    #[serde(default)]
    pub price: Option<Price>,
    /// Prices replacing `price` for a request whose prompt exceeds a size (models.dev's
    /// `context_over_200k` and `[[cost.tiers]]`).
    #[serde(default)]
    pub tiers: Vec<PriceTier>,
    /// The model can think (reasoning effort or a thinking budget may be sent).
    #[serde(default)]
    pub reasoning: bool,
    /// The model accepts image input.
    #[serde(default)]
    pub images: bool,
    /// Environment variable holding this provider's API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Headers sent with every request to this model.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEffort {
    Minimal,
    Low,
    Medium,
    High,
}

impl ReasoningEffort {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Retry before the first byte of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base_delay_ms: u64,
    /// Longest wait between attempts; a server asking for more fails fast with its figure.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 4, base_delay_ms: 1_000, max_delay_ms: 60_000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Opening the TCP (and TLS) connection, per attempt.
    pub connect_ms: u64,
    /// From sending the request to the response headers.
    pub first_byte_ms: u64,
    /// Longest silence between two reads of the body; generous, since reasoning models
    /// can think for minutes before their first token.
    /// Longest wait for the next SSE event: only bytes that carry events (`data:` lines)
    /// restart it, so a server sending nothing but `: keep-alive` comments, blank lines or
    /// data-less `event:` lines still times out.
    pub idle_ms: u64,
    /// The whole request, retries and their waits included: a server that trickles events
    /// forever still ends here.
    pub total_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect_ms: 15_000, first_byte_ms: 300_000, idle_ms: 300_000, total_ms: 1_800_000 }
    }
}

/// Size caps on what a server may make the client hold, so a hostile or broken server
/// ends the stream with a classified error instead of exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// One SSE line, and one event's `data` (its lines joined).
    pub max_event_bytes: usize,
    /// A message's whole content: text, thinking (and its signatures) and tool calls
    /// together, so many blocks cannot add up past what one may hold.
    pub max_message_bytes: usize,
    /// One tool call's arguments.
    pub max_tool_args_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_event_bytes: 16 << 20, max_message_bytes: 64 << 20, max_tool_args_bytes: 16 << 20 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StreamOptions {
    pub api_key: Option<String>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub reasoning: Option<ReasoningEffort>,
    /// Extra headers for this request (override the model's).
    pub headers: BTreeMap<String, String>,
    /// An OAuth / Entra ID token, sent as `Authorization: Bearer` in place of the API key's
    /// header (Azure's `AZURE_OPENAI_AD_TOKEN`).
    pub bearer_token: Option<String>,
    /// A stable id (the session's) used as a prompt cache key where the server accepts one.
    pub session_id: Option<String>,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    pub limits: Limits,
}
