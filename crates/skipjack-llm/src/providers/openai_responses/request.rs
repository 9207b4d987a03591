//! Canonical context and options → one streamed `POST /responses` request.

use serde::Serialize;
use serde_json::Value;

use super::history;
use super::wire::InputItem;
use crate::error::{ErrorKind, LlmError};
use crate::message::Context;
use crate::model::{Model, ReasoningEffort, StreamOptions};
use crate::providers::{credentials, join_url, HttpRequest};

/// The API rejects `max_output_tokens` below this.
const MIN_OUTPUT_TOKENS: u64 = 16;

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<&'a str>,
    input: Vec<InputItem<'a>>,
    stream: bool,
    /// Stateless: nothing is kept server-side, so zero-data-retention accounts work and the
    /// history is always what the client sends.
    store: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    include: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<Reasoning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_key: Option<&'a str>,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
    /// The API defaults to strict schemas, which demand every property be required and
    /// `additionalProperties: false`; skipjack's tools have optional arguments, so strict
    /// mode would reject them (or force rewriting every schema and its defaults).
    strict: bool,
}

#[derive(Serialize)]
struct Reasoning {
    #[serde(skip_serializing_if = "Option::is_none")]
    effort: Option<&'static str>,
    /// `auto` streams the summaries shown as thinking; without it nothing is shown.
    summary: &'static str,
}

/// OpenAI's reasoning families; they take `reasoning` and `include`, and reject `temperature`.
/// ChatGPT's `-chat` snapshots are not among them.
fn is_reasoning_id(id: &str) -> bool {
    let id = id.rsplit('/').next().unwrap_or(id);
    let family = ["o1", "o3", "o4", "gpt-5"].iter().any(|p| id.starts_with(p)) || id.contains("codex");
    family && !id.contains("-chat")
}

/// Codex models accept low/medium/high only; `minimal` is answered with 400 there.
fn effort_for(model_id: &str, effort: ReasoningEffort) -> &'static str {
    if effort == ReasoningEffort::Minimal && model_id.contains("codex") {
        ReasoningEffort::Low.as_str()
    } else {
        effort.as_str()
    }
}

/// Only OpenAI documents `prompt_cache_key`; other servers speaking this API may be strict.
fn is_openai(model: &Model) -> bool {
    let host = reqwest::Url::parse(&model.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    host == "api.openai.com" || model.provider.eq_ignore_ascii_case("openai")
}

pub fn build_request(model: &Model, context: &Context, options: &StreamOptions) -> Result<HttpRequest, LlmError> {
    if let Some(t) = options.temperature {
        if !t.is_finite() {
            return Err(LlmError::new(ErrorKind::BadRequest, format!("temperature must be a finite number, got {t}")));
        }
    }
    let reasoning_model = model.reasoning || is_reasoning_id(&model.id);
    let mut input = Vec::with_capacity(context.messages.len() + 1);
    history::convert(model, &context.messages, &mut input)?;
    let tools: Vec<WireTool<'_>> = context
        .tools
        .iter()
        .map(|t| WireTool {
            kind: "function",
            name: &t.name,
            description: &t.description,
            parameters: &t.parameters,
            strict: false,
        })
        .collect();
    let body = Body {
        model: &model.id,
        instructions: context.system_prompt.as_deref().filter(|s| !s.is_empty()),
        input,
        stream: true,
        store: false,
        // Encrypted reasoning is what lets the next stateless request continue the thought.
        include: if reasoning_model { vec!["reasoning.encrypted_content"] } else { Vec::new() },
        parallel_tool_calls: (!tools.is_empty()).then_some(true),
        tools,
        reasoning: reasoning_model
            .then(|| Reasoning { effort: options.reasoning.map(|e| effort_for(&model.id, e)), summary: "auto" }),
        max_output_tokens: options.max_tokens.map(|n| n.max(MIN_OUTPUT_TOKENS)),
        temperature: options.temperature.filter(|_| !reasoning_model),
        prompt_cache_key: options.session_id.as_deref().filter(|s| !s.is_empty() && is_openai(model)),
    };
    let body = crate::providers::body::to_json(&body)?;

    let mut headers: Vec<(String, String)> = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("accept".to_owned(), "text/event-stream".to_owned()),
    ];
    credentials::push_auth(model, options, &mut headers);
    for (name, value) in model.headers.iter().chain(options.headers.iter()) {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
    Ok(HttpRequest { url: join_url(&model.base_url, "responses"), headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_families_are_recognised() {
        for id in ["gpt-5", "gpt-5.3-codex", "o4-mini", "openai/o3-pro", "codex-mini-latest"] {
            assert!(is_reasoning_id(id), "{id}");
        }
        for id in ["gpt-4.1", "gpt-4o", "chatgpt-4o-latest", "gpt-5-chat-latest"] {
            assert!(!is_reasoning_id(id), "{id}");
        }
    }

    #[test]
    fn minimal_effort_is_raised_for_codex_only() {
        assert_eq!(effort_for("gpt-5.1-codex", ReasoningEffort::Minimal), "low");
        assert_eq!(effort_for("gpt-5", ReasoningEffort::Minimal), "minimal");
        assert_eq!(effort_for("gpt-5-codex", ReasoningEffort::High), "high");
    }
}
