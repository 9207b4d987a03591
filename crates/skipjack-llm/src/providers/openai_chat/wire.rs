//! The message shapes of a chat-completions request, shared by the request builder and the
//! history conversion.

use std::borrow::Cow;

use serde::Serialize;

/// An Anthropic prompt-cache breakpoint, as OpenRouter forwards it to Claude.
#[derive(Serialize, Clone, Copy)]
pub(super) struct CacheControl {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
}

pub(super) const EPHEMERAL: CacheControl = CacheControl { kind: "ephemeral" };
#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub(super) enum WireMessage<'a> {
    System {
        content: WireContent<'a>,
    },
    Developer {
        content: WireContent<'a>,
    },
    User {
        content: WireContent<'a>,
    },
    Assistant {
        /// `null` when the turn is only tool calls, as OpenAI itself sends it.
        content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireToolCall<'a>>,
        /// DeepSeek's and Moonshot's reasoning, sent back where their APIs require it.
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning_content: Option<String>,
        /// OpenRouter's structured reasoning, sent back verbatim to the model that wrote it.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        reasoning_details: Vec<serde_json::Value>,
    },
    Tool {
        tool_call_id: &'a str,
        content: WireContent<'a>,
    },
}

/// A message's `content`: a plain string, or parts (images, cache breakpoints).
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum WireContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<WirePart<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum WirePart<'a> {
    Text {
        text: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    ImageUrl {
        image_url: WireImageUrl,
    },
}

#[derive(Serialize)]
pub(super) struct WireImageUrl {
    pub(super) url: String,
}

#[derive(Serialize)]
pub(super) struct WireToolCall<'a> {
    pub(super) id: &'a str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) function: WireFunctionCall<'a>,
}

#[derive(Serialize)]
pub(super) struct WireFunctionCall<'a> {
    pub(super) name: &'a str,
    pub(super) arguments: String,
}
