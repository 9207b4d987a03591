//! Building the request: which fields a given server accepts, and prompt-cache breakpoints.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::history::{convert_messages, ReasoningReplay};
use super::wire::*;
use crate::error::{ErrorKind, LlmError};
use crate::message::Context;
use crate::model::{Model, ReasoningEffort, StreamOptions};
use crate::providers::{credentials, join_url, HttpRequest};

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

/// Which server family the request goes to; decides the fields that differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// api.openai.com (or a model whose provider is `openai`).
    OpenAi,
    /// Azure OpenAI: the same models, so the same token-limit field, but no cache key.
    Azure,
    OpenRouter,
    /// Any other OpenAI-compatible server: only the widely supported fields are sent.
    Generic,
}

/// DeepSeek's and Moonshot's own APIs, whose thinking models require `reasoning_content`
/// back on tool-call turns (api-docs.deepseek.com/guides/thinking_mode; Moonshot's
/// kimi-k2-thinking guide).
fn wants_reasoning_content(model: &Model) -> bool {
    let host = reqwest::Url::parse(&model.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let provider = model.provider.to_ascii_lowercase();
    ["api.deepseek.com", "api.moonshot.ai", "api.moonshot.cn"].contains(&host.as_str())
        || ["deepseek", "moonshotai", "moonshotai-cn"].contains(&provider.as_str())
}

impl Flavor {
    fn of(model: &Model) -> Self {
        let host = reqwest::Url::parse(&model.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        let provider = model.provider.to_ascii_lowercase();
        if host == "api.openai.com" || provider == "openai" {
            Self::OpenAi
        } else if host.ends_with(".openai.azure.com") || provider == "azure" {
            Self::Azure
        } else if host == "openrouter.ai" || host.ends_with(".openrouter.ai") || provider == "openrouter" {
            Self::OpenRouter
        } else {
            Self::Generic
        }
    }
}

/// OpenAI's reasoning families: they take the system prompt as a `developer` message and
/// reject `temperature`.
fn is_openai_reasoning_id(id: &str) -> bool {
    let id = id.rsplit('/').next().unwrap_or(id);
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| id.starts_with(p))
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
    stream_options: WireStreamOptions,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
    /// OpenRouter's unified reasoning parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<WireReasoning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_key: Option<&'a str>,
}

#[derive(Serialize)]
struct WireStreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct WireReasoning {
    effort: &'static str,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionDef<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

#[derive(Serialize)]
struct WireFunctionDef<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

/// Build the streamed chat-completions request.
///
/// Token limit: OpenAI deprecated `max_tokens` and its reasoning models reject it, so OpenAI
/// and Azure get `max_completion_tokens`; every other server gets `max_tokens`, the field all
/// of them (DeepSeek, OpenRouter, vLLM, llama.cpp, ...) understand, while several of them do
/// not know the newer name.
pub fn build_request(model: &Model, context: &Context, options: &StreamOptions) -> Result<HttpRequest, LlmError> {
    let flavor = Flavor::of(model);
    let openai_like = matches!(flavor, Flavor::OpenAi | Flavor::Azure);
    let openai_reasoning = openai_like && (model.reasoning || is_openai_reasoning_id(&model.id));

    if let Some(t) = options.temperature {
        if !t.is_finite() {
            return Err(LlmError::new(ErrorKind::BadRequest, format!("temperature must be a finite number, got {t}")));
        }
    }

    let mut messages = Vec::with_capacity(context.messages.len() + 1);
    if let Some(system) = context.system_prompt.as_deref().filter(|s| !s.is_empty()) {
        let content = WireContent::Text(Cow::Borrowed(system));
        messages.push(if openai_reasoning {
            WireMessage::Developer { content }
        } else {
            WireMessage::System { content }
        });
    }
    let replay = match flavor {
        Flavor::OpenRouter => ReasoningReplay::Details,
        Flavor::Generic if wants_reasoning_content(model) => ReasoningReplay::Content,
        _ => ReasoningReplay::Strip,
    };
    convert_messages(model, replay, &context.messages, &mut messages)?;

    let mut tools: Vec<WireTool<'_>> = context
        .tools
        .iter()
        .map(|t| WireTool {
            kind: "function",
            function: WireFunctionDef { name: &t.name, description: &t.description, parameters: &t.parameters },
            cache_control: None,
        })
        .collect();
    if flavor == Flavor::OpenRouter && is_claude_id(&model.id) {
        place_cache_breakpoints(&mut messages, &mut tools);
    }

    let effort = options.reasoning.filter(|_| model.reasoning || openai_reasoning);
    let body = ChatRequest {
        model: &model.id,
        messages,
        stream: true,
        stream_options: WireStreamOptions { include_usage: true },
        tools,
        max_tokens: options.max_tokens.filter(|_| !openai_like),
        max_completion_tokens: options.max_tokens.filter(|_| openai_like),
        // OpenAI's reasoning models answer 400 to any temperature.
        temperature: options.temperature.filter(|_| !openai_reasoning),
        reasoning_effort: match flavor {
            Flavor::OpenRouter => None,
            Flavor::OpenAi | Flavor::Azure => effort.map(ReasoningEffort::as_str),
            // `minimal` is OpenAI's own level; elsewhere the accepted set is low/medium/high.
            Flavor::Generic => effort.map(|e| if e == ReasoningEffort::Minimal { "low" } else { e.as_str() }),
        },
        reasoning: match flavor {
            Flavor::OpenRouter => effort.map(|e| WireReasoning { effort: e.as_str() }),
            _ => None,
        },
        // Only OpenAI documents this field; strict servers reject unknown ones.
        prompt_cache_key: options.session_id.as_deref().filter(|_| flavor == Flavor::OpenAi),
    };
    let body = crate::providers::body::to_json(&body)?;

    let mut headers: Vec<(String, String)> = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("accept".to_owned(), "text/event-stream".to_owned()),
    ];
    credentials::push_auth(model, options, &mut headers);
    for (name, value) in model.headers.iter().chain(options.headers.iter()) {
        set_header(&mut headers, name, value);
    }

    Ok(HttpRequest { url: join_url(&model.base_url, "chat/completions"), headers, body })
}

/// A Claude model id on OpenRouter (`anthropic/claude-sonnet-4`, `anthropic/claude-3.5-haiku:beta`).
fn is_claude_id(id: &str) -> bool {
    id.get(..10).is_some_and(|p| p.eq_ignore_ascii_case("anthropic/"))
}

/// Claude caches nothing unless the request marks breakpoints, and OpenRouter forwards the
/// marks it finds on a function tool and on text parts (its API schema; strings cannot carry
/// one). Claude reads its prompt as tools, system, messages, so the marks go on the last tool,
/// the system prompt and the newest user message, and, in a tool loop, the newest tool
/// result: each request then reads the prefix the previous one wrote. That is four marks at
/// most, Anthropic's limit.
fn place_cache_breakpoints(messages: &mut [WireMessage<'_>], tools: &mut [WireTool<'_>]) {
    if let Some(last) = tools.last_mut() {
        last.cache_control = Some(EPHEMERAL);
    }
    if let Some(WireMessage::System { content } | WireMessage::Developer { content }) = messages.first_mut() {
        mark_last_text(content);
    }
    let last_user = messages.iter().rposition(|m| matches!(m, WireMessage::User { .. }));
    let last_tool = messages.iter().rposition(|m| matches!(m, WireMessage::Tool { .. }));
    let newer_tool = last_tool.filter(|t| last_user.is_none_or(|u| *t > u));
    for i in [last_user, newer_tool].into_iter().flatten() {
        if let Some(WireMessage::User { content } | WireMessage::Tool { content, .. }) = messages.get_mut(i) {
            mark_last_text(content);
        }
    }
}

/// Mark the last non-empty text part (Anthropic refuses a mark on empty text); a plain
/// string becomes a single text part. Content without text gets no mark.
fn mark_last_text(content: &mut WireContent<'_>) {
    if let WireContent::Text(text) = content {
        if text.is_empty() {
            return;
        }
        *content = WireContent::Parts(vec![WirePart::Text { text: std::mem::take(text), cache_control: None }]);
    }
    if let WireContent::Parts(parts) = content {
        let last_text = parts.iter_mut().rev().find_map(|p| match p {
            WirePart::Text { text, cache_control } if !text.is_empty() => Some(cache_control),
            _ => None,
        });
        if let Some(cache_control) = last_text {
            *cache_control = Some(EPHEMERAL);
        }
    }
}

/// Later values replace earlier ones; header names compare case-insensitively.
fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value.to_owned()));
}
