//! Canonical context and options → one `streamGenerateContent` request, for Google AI Studio
//! (`google-gemini`, keyed by `x-goog-api-key`) or Vertex AI (`google-vertex`, an OAuth bearer
//! token the transport obtains from Application Default Credentials).

use serde::Serialize;
use serde_json::Value;

use super::history;
use super::schema;
use super::wire::{Content, Part};
use crate::error::{ErrorKind, LlmError};
use crate::message::Context;
use crate::model::{Api, Model, ReasoningEffort, StreamOptions};
use crate::providers::{join_url, HttpRequest};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<SystemInstruction<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tools<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generation_config: Option<GenerationConfig>,
}

#[derive(Serialize)]
struct SystemInstruction<'a> {
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tools<'a> {
    function_declarations: Vec<FunctionDeclaration<'a>>,
}

#[derive(Serialize)]
struct FunctionDeclaration<'a> {
    name: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Value>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<ThinkingConfig>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    include_thoughts: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_budget: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_level: Option<&'static str>,
}

/// Gemini 3 takes a thinking level; the 2.5 models a token budget.
fn uses_thinking_level(model_id: &str) -> bool {
    let id = model_id.rsplit('/').next().unwrap_or(model_id);
    id.starts_with("gemini-3")
}

fn thinking_config(model: &Model, effort: Option<ReasoningEffort>) -> Option<ThinkingConfig> {
    if !model.reasoning {
        return None;
    }
    let (mut budget, mut level) = (None, None);
    if let Some(effort) = effort {
        if uses_thinking_level(&model.id) {
            // The Pro models know `low` and `high` only; Flash also `minimal` and `medium`.
            let pro = model.id.contains("pro");
            level = Some(match effort {
                ReasoningEffort::Minimal if !pro => "minimal",
                ReasoningEffort::Minimal | ReasoningEffort::Low => "low",
                ReasoningEffort::Medium if !pro => "medium",
                ReasoningEffort::Medium | ReasoningEffort::High => "high",
            });
        } else {
            // 2.5 Pro cannot think on fewer than 128 tokens; Flash tops out at 24576.
            budget = Some(match effort {
                ReasoningEffort::Minimal => 128,
                ReasoningEffort::Low => 2_048,
                ReasoningEffort::Medium => 8_192,
                ReasoningEffort::High => 24_576,
            });
        }
    }
    Some(ThinkingConfig { include_thoughts: true, thinking_budget: budget, thinking_level: level })
}

/// `https://{location}-aiplatform.googleapis.com/v1/projects/{p}/locations/{l}`, with the
/// `global` location's host being plain `aiplatform.googleapis.com` (a base URL built from
/// the `${GOOGLE_VERTEX_LOCATION}-aiplatform…` template names a host that does not exist).
#[must_use]
pub fn vertex_base_url(base: &str) -> String {
    base.replacen("://global-aiplatform.googleapis.com", "://aiplatform.googleapis.com", 1)
}

/// The stream URL of `model` on its API.
fn url(model: &Model) -> String {
    match model.api {
        Api::GoogleVertex => join_url(
            &vertex_base_url(&model.base_url),
            &format!("publishers/google/models/{}:streamGenerateContent?alt=sse", model.id),
        ),
        _ => join_url(&model.base_url, &format!("models/{}:streamGenerateContent?alt=sse", model.id)),
    }
}

pub fn build_request(model: &Model, context: &Context, options: &StreamOptions) -> Result<HttpRequest, LlmError> {
    if let Some(t) = options.temperature {
        if !t.is_finite() {
            return Err(LlmError::new(ErrorKind::BadRequest, format!("temperature must be a finite number, got {t}")));
        }
    }
    let contents = history::convert(model, &context.messages);
    if contents.is_empty() {
        return Err(LlmError::new(ErrorKind::BadRequest, "the context has no message to send"));
    }
    let declarations: Vec<FunctionDeclaration<'_>> = context
        .tools
        .iter()
        .map(|t| FunctionDeclaration {
            name: &t.name,
            description: &t.description,
            parameters: (!schema::is_empty_object(&t.parameters)).then(|| schema::to_gemini(&t.parameters)),
        })
        .collect();
    let generation = GenerationConfig {
        max_output_tokens: options.max_tokens.filter(|n| *n > 0),
        temperature: options.temperature,
        thinking_config: thinking_config(model, options.reasoning),
    };
    let has_generation = generation.max_output_tokens.is_some()
        || generation.temperature.is_some()
        || generation.thinking_config.is_some();
    let body = Body {
        contents,
        system_instruction: context
            .system_prompt
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|text| SystemInstruction { parts: [Part { text: Some(text), ..Part::default() }] }),
        tools: if declarations.is_empty() { Vec::new() } else { vec![Tools { function_declarations: declarations }] },
        generation_config: has_generation.then_some(generation),
    };
    let body = crate::providers::body::to_json(&body)?;
    let mut headers: Vec<(String, String)> = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("accept".to_owned(), "text/event-stream".to_owned()),
    ];
    if let Some(key) = options.api_key.as_deref().filter(|k| !k.is_empty()) {
        headers.push(match model.api {
            Api::GoogleVertex => ("authorization".to_owned(), format!("Bearer {key}")),
            _ => ("x-goog-api-key".to_owned(), key.to_owned()),
        });
    }
    for (name, value) in model.headers.iter().chain(options.headers.iter()) {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
    Ok(HttpRequest { url: url(model), headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_location_uses_the_bare_host() {
        assert_eq!(
            vertex_base_url("https://global-aiplatform.googleapis.com/v1/projects/p/locations/global"),
            "https://aiplatform.googleapis.com/v1/projects/p/locations/global"
        );
        let regional = "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5";
        assert_eq!(vertex_base_url(regional), regional);
    }

    #[test]
    fn gemini_3_takes_a_level() {
        assert!(uses_thinking_level("gemini-3-pro-preview"));
        assert!(uses_thinking_level("models/gemini-3-flash"));
        assert!(!uses_thinking_level("gemini-2.5-pro"));
    }
}
