//! Canonical context and options → one `POST /v1/messages` request.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::history::{self, Block, CacheControl, Role, WireMessage, EPHEMERAL};
use crate::error::{ErrorKind, LlmError};
use crate::message::{Context, Tool};
use crate::model::{Api, Model, ReasoningEffort, StreamOptions};
use crate::providers::google_gemini::vertex_base_url;
use crate::providers::{join_url, HttpRequest};

const API_VERSION: &str = "2023-06-01";
/// The Messages API version Vertex AI serves Claude with.
const VERTEX_API_VERSION: &str = "vertex-2023-10-16";
/// Lets the model think between tool calls instead of only before its first one.
const INTERLEAVED_THINKING_BETA: &str = "interleaved-thinking-2025-05-14";
/// A model header that picks how the key is sent: `bearer` sends `authorization: Bearer`
/// (gateways that speak the Messages API but authenticate like OpenAI); anything else, or
/// no marker, sends `x-api-key`. Never sent on the wire.
pub const AUTH_MARKER: &str = "x-skipjack-auth";
/// Anthropic requires `max_tokens`; used when neither the caller nor the model says.
const DEFAULT_MAX_TOKENS: u64 = 8192;
/// Tokens kept for the answer on top of a thinking budget.
const ANSWER_ROOM: u64 = 4096;
/// Anthropic's smallest accepted thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;

#[derive(Debug, Serialize)]
struct Body<'a> {
    /// Vertex names the model in the URL and rejects it in the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    /// Vertex takes the API version in the body instead of the `anthropic-version` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    anthropic_version: Option<&'static str>,
    max_tokens: u64,
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<Block<'a>>,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<Thinking>,
}

#[derive(Debug, Serialize)]
struct WireTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

#[derive(Debug, Serialize)]
struct Thinking {
    #[serde(rename = "type")]
    kind: &'static str,
    budget_tokens: u64,
}

pub fn build_request(model: &Model, context: &Context, options: &StreamOptions) -> Result<HttpRequest, LlmError> {
    let mut messages = history::convert(model, &context.messages);
    if messages.is_empty() {
        return Err(LlmError::new(ErrorKind::BadRequest, "the context has no message to send"));
    }
    let (max_tokens, budget) = token_limits(model, options);
    let mut system: Vec<Block<'_>> = context
        .system_prompt
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|text| Block::Text { text, cache_control: None })
        .into_iter()
        .collect();
    let mut tools: Vec<WireTool<'_>> = context.tools.iter().map(wire_tool).collect();
    place_cache_breakpoints(&mut system, &mut tools, &mut messages);
    let vertex = model.api == Api::GoogleVertexAnthropic;
    let body = Body {
        model: (!vertex).then_some(model.id.as_str()),
        anthropic_version: vertex.then_some(VERTEX_API_VERSION),
        max_tokens,
        stream: true,
        system,
        messages,
        tools,
        // Anthropic rejects any temperature but 1 while thinking.
        temperature: if budget.is_some() { None } else { options.temperature },
        thinking: budget.map(|budget_tokens| Thinking { kind: "enabled", budget_tokens }),
    };
    let body = crate::providers::body::to_json(&body)?;
    let interleaved = budget.is_some() && !context.tools.is_empty();
    let url = if vertex {
        join_url(
            &vertex_base_url(&model.base_url),
            &format!("publishers/anthropic/models/{}:streamRawPredict", model.id),
        )
    } else {
        messages_url(&model.base_url)
    };
    Ok(HttpRequest { url, headers: headers(model, options, interleaved, vertex), body })
}

/// `{base}/v1/messages`, or `{base}/messages` when the base URL already names the version.
fn messages_url(base: &str) -> String {
    if base.trim_end_matches('/').ends_with("/v1") {
        join_url(base, "messages")
    } else {
        join_url(base, "v1/messages")
    }
}

fn wire_tool(tool: &Tool) -> WireTool<'_> {
    WireTool { name: &tool.name, description: &tool.description, input_schema: &tool.parameters, cache_control: None }
}

/// `max_tokens` and the thinking budget, if thinking is on.
///
/// Anthropic counts thinking inside `max_tokens` and requires the budget to be below it,
/// so the limit is raised to leave `ANSWER_ROOM` after the budget, then capped by the
/// model's output limit, which may in turn shrink the budget (never below Anthropic's
/// minimum; if even that does not fit, the request goes without thinking).
pub(crate) fn token_limits(model: &Model, options: &StreamOptions) -> (u64, Option<u64>) {
    let cap = (model.max_output > 0).then_some(model.max_output);
    let requested = options.max_tokens.or(cap).unwrap_or(DEFAULT_MAX_TOKENS).max(1);
    let capped = |n: u64| cap.map_or(n, |c| n.min(c));
    let effort = options.reasoning.filter(|_| model.reasoning);
    let Some(effort) = effort else { return (capped(requested), None) };
    let wanted = match effort {
        ReasoningEffort::Minimal => 1024,
        ReasoningEffort::Low => 4096,
        ReasoningEffort::Medium => 10_240,
        ReasoningEffort::High => 32_000,
    };
    let max_tokens = capped(requested.max(wanted + ANSWER_ROOM));
    let budget = wanted.min(max_tokens.saturating_sub(ANSWER_ROOM)).max(MIN_THINKING_BUDGET);
    if budget >= max_tokens {
        return (capped(requested), None);
    }
    (max_tokens, Some(budget))
}

/// Three of Anthropic's four cache breakpoints: the end of the system prompt, the end of
/// the tool list, and the end of the newest user turn, so each request reads the prefix
/// the previous one wrote and writes the turn it adds.
fn place_cache_breakpoints(system: &mut [Block<'_>], tools: &mut [WireTool<'_>], messages: &mut [WireMessage<'_>]) {
    if let Some(last) = system.last_mut() {
        last.set_cache_control();
    }
    if let Some(last) = tools.last_mut() {
        last.cache_control = Some(EPHEMERAL);
    }
    let last_user = messages.iter_mut().rev().find(|m| m.role == Role::User);
    if let Some(block) = last_user.and_then(|m| m.content.last_mut()) {
        block.set_cache_control();
    }
}

/// Fixed headers, then the model's, then the request's (later ones win, names compared
/// without case). The key goes in `x-api-key`, or `authorization: Bearer` when the model
/// carries the `AUTH_MARKER` header set to `bearer`; it is left out when the caller's
/// headers already authenticate.
fn headers(model: &Model, options: &StreamOptions, interleaved: bool, vertex: bool) -> Vec<(String, String)> {
    let mut extra: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in model.headers.iter().chain(&options.headers) {
        extra.insert(name.to_ascii_lowercase(), value.clone());
    }
    // Vertex takes the OAuth access token the transport obtained as a bearer token.
    let bearer = vertex || extra.remove(AUTH_MARKER).is_some_and(|v| v.trim().eq_ignore_ascii_case("bearer"));
    extra.remove(AUTH_MARKER);
    let mut out = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("accept".to_owned(), "text/event-stream".to_owned()),
    ];
    if !vertex {
        out.push(("anthropic-version".to_owned(), API_VERSION.to_owned()));
    }
    let caller_authenticates = extra.contains_key("authorization") || extra.contains_key("x-api-key");
    if let Some(key) = options.api_key.as_deref().filter(|k| !k.is_empty()) {
        if !caller_authenticates {
            out.push(if bearer {
                ("authorization".to_owned(), format!("Bearer {key}"))
            } else {
                ("x-api-key".to_owned(), key.to_owned())
            });
        }
    }
    if interleaved {
        let beta = extra.entry("anthropic-beta".to_owned()).or_default();
        if !beta.split(',').any(|b| b.trim() == INTERLEAVED_THINKING_BETA) {
            if !beta.trim().is_empty() {
                beta.push(',');
            }
            beta.push_str(INTERLEAVED_THINKING_BETA);
        }
    }
    out.retain(|(name, _)| !extra.contains_key(name));
    out.extend(extra);
    out
}
