//! Canonical context and options → one `POST {base}/model/{modelId}/converse-stream`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::SystemTime;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use serde_json::{json, Value};

use super::history::{self, Block, CachePoint, Role, WireMessage, CACHE_POINT};
use crate::auth::aws::{self, Env};
use crate::error::{ErrorKind, LlmError};
use crate::message::{Context, Tool};
use crate::model::{Model, StreamOptions};
use crate::providers::anthropic::token_limits;
use crate::providers::{join_url, HttpRequest};

/// Lets Claude think between tool calls, passed through `additionalModelRequestFields`.
const INTERLEAVED_THINKING_BETA: &str = "interleaved-thinking-2025-05-14";
/// A registry base URL with this placeholder takes the region from the AWS settings.
const REGION_PLACEHOLDER: &str = "{region}";
/// RFC 3986 unreserved characters stay; everything else in a model id (`:` of versions, `/`
/// of ARNs) is escaped so the id is one path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<SystemBlock<'a>>,
    inference_config: InferenceConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_model_request_fields: Option<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
enum SystemBlock<'a> {
    Text(&'a str),
    CachePoint(CachePoint),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig {
    max_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
}

#[derive(Debug, Serialize)]
struct ToolConfig<'a> {
    tools: Vec<ToolEntry<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
enum ToolEntry<'a> {
    ToolSpec(ToolSpec<'a>),
    CachePoint(CachePoint),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolSpec<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: InputSchema<'a>,
}

#[derive(Debug, Serialize)]
struct InputSchema<'a> {
    json: &'a Value,
}

/// Claude on Bedrock (model ids and inference profiles such as `us.anthropic.claude-…`).
fn is_claude(model_id: &str) -> bool {
    model_id.contains("anthropic.claude")
}

/// Models that accept `cachePoint` blocks; any other model rejects the request carrying
/// one, so they are sent only where Bedrock documents prompt caching (Claude 3.5 Haiku,
/// 3.7 Sonnet and later; Amazon Nova).
fn caches_prompts(model_id: &str) -> bool {
    if model_id.contains("amazon.nova") {
        return true;
    }
    if !is_claude(model_id) {
        return false;
    }
    let old =
        ["claude-3-haiku", "claude-3-sonnet", "claude-3-opus", "claude-3-5-sonnet", "claude-instant", "claude-v2"];
    !old.iter().any(|o| model_id.contains(o))
}

/// `model.base_url` with its `{region}` filled in; an empty base URL means the regional
/// Bedrock runtime endpoint.
#[must_use]
pub fn base_url(model: &Model, env: Env<'_>) -> String {
    let base = if model.base_url.trim().is_empty() {
        "https://bedrock-runtime.{region}.amazonaws.com"
    } else {
        model.base_url.as_str()
    };
    if base.contains(REGION_PLACEHOLDER) {
        base.replace(REGION_PLACEHOLDER, &aws::resolve_region(env))
    } else {
        base.to_owned()
    }
}

/// The region a Bedrock host names (`bedrock-runtime[-fips].REGION.amazonaws.com`), so a
/// request to another region's endpoint is signed for that region.
fn region_of_host(url: &str) -> Option<String> {
    let host = url.split_once("://")?.1.split(['/', ':']).next()?;
    let rest = host.strip_prefix("bedrock-runtime-fips.").or_else(|| host.strip_prefix("bedrock-runtime."))?;
    let (region, domain) = rest.split_once('.')?;
    domain.starts_with("amazonaws.").then(|| region.to_owned())
}

pub fn build_request(model: &Model, context: &Context, options: &StreamOptions) -> Result<HttpRequest, LlmError> {
    build_request_with(model, context, options, &aws::process_env, SystemTime::now())
}

/// [`build_request`] with the environment and the signing time given (tests).
pub fn build_request_with(
    model: &Model,
    context: &Context,
    options: &StreamOptions,
    env: Env<'_>,
    now: SystemTime,
) -> Result<HttpRequest, LlmError> {
    let tools_on_wire = !context.tools.is_empty();
    let mut messages = history::convert(model, &context.messages, tools_on_wire);
    if messages.is_empty() {
        return Err(LlmError::new(ErrorKind::BadRequest, "the context has no message to send"));
    }
    // Converse, like Anthropic, wants the conversation to open with a user turn.
    if messages.first().is_some_and(|m| m.role == Role::Assistant) {
        messages.insert(0, WireMessage { role: Role::User, content: vec![Block::Text(Cow::Borrowed("(continue)"))] });
    }
    let claude = is_claude(&model.id);
    let (max_tokens, budget) = token_limits(model, options);
    let budget = budget.filter(|_| claude);
    let mut system: Vec<SystemBlock<'_>> =
        context.system_prompt.as_deref().filter(|s| !s.trim().is_empty()).map(SystemBlock::Text).into_iter().collect();
    let mut tools: Vec<ToolEntry<'_>> = context.tools.iter().map(tool_spec).collect();
    if caches_prompts(&model.id) {
        place_cache_points(&mut system, &mut tools, &mut messages);
    }
    let additional = budget.map(|budget_tokens| {
        let mut fields = json!({ "thinking": { "type": "enabled", "budget_tokens": budget_tokens } });
        if tools_on_wire {
            fields["anthropic_beta"] = json!([INTERLEAVED_THINKING_BETA]);
        }
        fields
    });
    let body = Body {
        messages,
        system,
        inference_config: InferenceConfig {
            max_tokens,
            // Claude rejects any temperature but 1 while thinking.
            temperature: if budget.is_some() { None } else { options.temperature },
        },
        tool_config: tools_on_wire.then_some(ToolConfig { tools }),
        additional_model_request_fields: additional,
    };
    let body = crate::providers::body::to_json(&body)?;
    let base = base_url(model, env);
    let model_segment = utf8_percent_encode(&model.id, PATH_SEGMENT).to_string();
    let url = join_url(&base, &format!("model/{model_segment}/converse-stream"));
    let headers = authenticated_headers(model, options, env, now, &url, &body)?;
    Ok(HttpRequest { url, headers, body })
}

fn tool_spec(tool: &Tool) -> ToolEntry<'_> {
    ToolEntry::ToolSpec(ToolSpec {
        name: &tool.name,
        description: &tool.description,
        input_schema: InputSchema { json: &tool.parameters },
    })
}

/// The places of our Anthropic breakpoints: after the system prompt, after the tool list,
/// and after the newest user turn, so each request reads the prefix the last one wrote.
fn place_cache_points(
    system: &mut Vec<SystemBlock<'_>>,
    tools: &mut Vec<ToolEntry<'_>>,
    messages: &mut [WireMessage<'_>],
) {
    if !system.is_empty() {
        system.push(SystemBlock::CachePoint(CACHE_POINT));
    }
    if !tools.is_empty() {
        tools.push(ToolEntry::CachePoint(CACHE_POINT));
    }
    if let Some(last_user) = messages.iter_mut().rev().find(|m| m.role == Role::User) {
        last_user.content.push(Block::CachePoint(CACHE_POINT));
    }
}

/// Fixed headers, then the model's, then the request's (later win, names without case),
/// then auth: nothing when the caller's headers already carry `authorization`; a Bedrock API
/// key as a bearer token; else a SigV4 signature over exactly the headers sent.
fn authenticated_headers(
    model: &Model,
    options: &StreamOptions,
    env: Env<'_>,
    now: SystemTime,
    url: &str,
    body: &[u8],
) -> Result<Vec<(String, String)>, LlmError> {
    let mut extra: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in model.headers.iter().chain(&options.headers) {
        extra.insert(name.to_ascii_lowercase(), value.clone());
    }
    let mut out = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("accept".to_owned(), "application/vnd.amazon.eventstream".to_owned()),
    ];
    out.retain(|(name, _)| !extra.contains_key(name));
    let caller_authenticates = extra.contains_key("authorization");
    out.extend(extra);
    if caller_authenticates {
        return Ok(out);
    }
    if let Some(key) = options.api_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        out.push(("authorization".to_owned(), format!("Bearer {key}")));
        return Ok(out);
    }
    let credentials = aws::resolve_credentials(env)?;
    let region = region_of_host(url).unwrap_or_else(|| aws::resolve_region(env));
    let signed = aws::sign_headers(&credentials, &region, "bedrock", now, url, &out, body)?;
    out.extend(signed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_read_from_bedrock_hosts_only() {
        assert_eq!(
            region_of_host("https://bedrock-runtime.eu-west-3.amazonaws.com/model/x").as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(
            region_of_host("https://bedrock-runtime-fips.us-east-1.amazonaws.com").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(region_of_host("http://127.0.0.1:8080/model/x"), None);
        assert_eq!(region_of_host("https://bedrock-runtime.evil.example.com/"), None);
    }

    #[test]
    fn cache_points_only_where_bedrock_takes_them() {
        assert!(caches_prompts("us.anthropic.claude-sonnet-4-20250514-v1:0"));
        assert!(caches_prompts("anthropic.claude-3-7-sonnet-20250219-v1:0"));
        assert!(caches_prompts("amazon.nova-pro-v1:0"));
        assert!(!caches_prompts("anthropic.claude-3-5-sonnet-20240620-v1:0"));
        assert!(!caches_prompts("meta.llama3-70b-instruct-v1:0"));
    }
}
