//! Canonical messages and content blocks: the one shape every wire API maps to and from.
//!
//! The serde form of these types is also the boundary format with Python
//! (`skipjack.llm.types` mirrors it field for field), so names here are API.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::usage::Usage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextContent {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThinkingContent {
    pub thinking: String,
    /// Opaque provider signature; replayed verbatim so multi-turn thinking stays valid.
    #[serde(default)]
    pub signature: Option<String>,
    /// Redacted thinking: `signature` holds the encrypted payload and `thinking` is empty.
    #[serde(default)]
    pub redacted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageContent {
    /// Base64-encoded bytes.
    pub data: String,
    pub mime_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// A JSON object when `arguments_error` is `None`; otherwise the raw text the model sent,
    /// kept so the failure can be shown and the history replayed exactly.
    pub arguments: Value,
    #[serde(default)]
    pub arguments_error: Option<String>,
}

/// A block of assistant output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AssistantContent {
    Text(TextContent),
    Thinking(ThinkingContent),
    ToolCall(ToolCall),
}

/// A block of user or tool-result input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputContent {
    Text(TextContent),
    Image(ImageContent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model finished its answer.
    Stop,
    /// The output token limit cut the answer short.
    Length,
    /// The model asked for tools.
    ToolUse,
    /// The provider's content filter stopped the answer.
    ContentFilter,
    /// The request or the stream failed; `error_message` says why.
    Error,
    /// The caller cancelled the request.
    Aborted,
}

/// Whether `usage.cost.total` was computed from prices or reported by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    #[default]
    Computed,
    Provider,
    /// No price is known for the model: the cost fields are 0 but mean "unknown", not "free".
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserMessage {
    #[serde(deserialize_with = "text_or_blocks")]
    pub content: Vec<InputContent>,
    #[serde(default)]
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistantMessage {
    pub content: Vec<AssistantContent>,
    pub api: String,
    pub provider: String,
    pub model: String,
    pub usage: Usage,
    pub stop_reason: StopReason,
    #[serde(default)]
    pub error_message: Option<String>,
    /// The error class (see `ErrorKind`) when `stop_reason` is `error` or `aborted`.
    #[serde(default)]
    pub error_kind: Option<String>,
    #[serde(default)]
    pub cost_source: CostSource,
    #[serde(default)]
    pub response_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolResultMessage {
    pub tool_call_id: String,
    pub tool_name: String,
    #[serde(deserialize_with = "text_or_blocks")]
    pub content: Vec<InputContent>,
    #[serde(default)]
    pub is_error: bool,
    #[serde(default)]
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User(UserMessage),
    Assistant(AssistantMessage),
    ToolResult(ToolResultMessage),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Context {
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub tools: Vec<Tool>,
}

impl AssistantMessage {
    /// The concatenated text blocks.
    #[must_use]
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                AssistantContent::Text(t) => Some(t.text.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl InputContent {
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(TextContent { text: text.into() })
    }
}

/// A plain string is accepted as one text block: it is what most callers send.
fn text_or_blocks<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<InputContent>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Blocks(Vec<InputContent>),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(t) => vec![InputContent::text(t)],
        Either::Blocks(b) => b,
    })
}

#[must_use]
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
