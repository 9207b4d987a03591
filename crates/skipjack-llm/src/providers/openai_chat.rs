//! The OpenAI-compatible chat-completions wire API (`POST /chat/completions`, streamed).
//!
//! Many servers speak this protocol with small differences: OpenAI itself, OpenRouter,
//! DeepSeek, Moonshot, Groq, vLLM, llama.cpp, Ollama, ... The request side sends only the
//! fields a given server accepts (strict servers answer 400 to unknown ones); the decode side
//! accepts every variant seen in the wild and never lets an odd field drop content.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::assembler::MessageAssembler;
use crate::error::{classify_stream_error, ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::message::{
    AssistantContent, AssistantMessage, Context, InputContent, Message, StopReason, ToolCall, ToolResultMessage,
    UserMessage,
};
use crate::model::{Model, ReasoningEffort, StreamOptions};
use crate::providers::{join_url, Decoder, HttpRequest, Progress};
use crate::sse::SseEvent;
use crate::usage::TokenCounts;

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

/// An Anthropic prompt-cache breakpoint, as OpenRouter forwards it to Claude.
#[derive(Serialize, Clone, Copy)]
struct CacheControl {
    #[serde(rename = "type")]
    kind: &'static str,
}

const EPHEMERAL: CacheControl = CacheControl { kind: "ephemeral" };

#[derive(Serialize)]
struct WireFunctionDef<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum WireMessage<'a> {
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
    },
    Tool {
        tool_call_id: &'a str,
        content: WireContent<'a>,
    },
}

/// A message's `content`: a plain string, or parts (images, cache breakpoints).
#[derive(Serialize)]
#[serde(untagged)]
enum WireContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<WirePart<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WirePart<'a> {
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
struct WireImageUrl {
    url: String,
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: String,
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
    convert_messages(&context.messages, &mut messages)?;

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
    let body = serde_json::to_vec(&body)
        .map_err(|e| LlmError::new(ErrorKind::BadRequest, format!("could not serialise the request: {e}")))?;

    let mut headers: Vec<(String, String)> = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("accept".to_owned(), "text/event-stream".to_owned()),
    ];
    if let Some(key) = options.api_key.as_deref() {
        headers.push(("authorization".to_owned(), format!("Bearer {key}")));
    }
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

fn convert_messages<'a>(history: &'a [Message], out: &mut Vec<WireMessage<'a>>) -> Result<(), LlmError> {
    // A failed turn may hold a tool call the loop never ran; OpenAI rejects a call without
    // its result, so such calls are only replayed when a result for them exists.
    let answered: HashSet<&str> = history
        .iter()
        .filter_map(|m| match m {
            Message::ToolResult(r) => Some(r.tool_call_id.as_str()),
            _ => None,
        })
        .collect();

    // Images from a run of tool results, sent as one user message after the run: the tool
    // role is text-only on most servers, and a user message between two tool results would
    // break the "every call is followed by its result" rule.
    let mut pending_images: Vec<WirePart<'a>> = Vec::new();
    for message in history {
        if !matches!(message, Message::ToolResult(_)) {
            flush_images(&mut pending_images, out);
        }
        match message {
            Message::User(u) => out.push(WireMessage::User { content: user_content(u) }),
            Message::Assistant(a) => {
                if let Some(m) = assistant_message(a, &answered)? {
                    out.push(m);
                }
            }
            Message::ToolResult(r) => out.push(tool_result(r, &mut pending_images)),
        }
    }
    flush_images(&mut pending_images, out);
    Ok(())
}

fn flush_images<'a>(pending: &mut Vec<WirePart<'a>>, out: &mut Vec<WireMessage<'a>>) {
    if !pending.is_empty() {
        out.push(WireMessage::User { content: WireContent::Parts(std::mem::take(pending)) });
    }
}

fn image_part(mime_type: &str, data: &str) -> WirePart<'static> {
    WirePart::ImageUrl { image_url: WireImageUrl { url: format!("data:{mime_type};base64,{data}") } }
}

fn user_content(u: &UserMessage) -> WireContent<'_> {
    if let [InputContent::Text(t)] = u.content.as_slice() {
        return WireContent::Text(Cow::Borrowed(&t.text));
    }
    if u.content.is_empty() {
        return WireContent::Text(Cow::Borrowed(""));
    }
    WireContent::Parts(
        u.content
            .iter()
            .map(|c| match c {
                InputContent::Text(t) => WirePart::Text { text: Cow::Borrowed(&t.text), cache_control: None },
                InputContent::Image(i) => image_part(&i.mime_type, &i.data),
            })
            .collect(),
    )
}

/// `None` when the turn has nothing to replay. Thinking is dropped: the chat-completions
/// protocol has no portable way to send it back.
fn assistant_message<'a>(
    a: &'a AssistantMessage,
    answered: &HashSet<&str>,
) -> Result<Option<WireMessage<'a>>, LlmError> {
    let failed = matches!(a.stop_reason, StopReason::Error | StopReason::Aborted);
    // Blocks of the one `content` channel are split only by interleaved reasoning, so plain
    // concatenation gives back exactly what the model sent.
    let text: String = a.text();
    let mut tool_calls = Vec::new();
    for block in &a.content {
        if let AssistantContent::ToolCall(call) = block {
            if failed && !answered.contains(call.id.as_str()) {
                continue;
            }
            tool_calls.push(WireToolCall {
                id: &call.id,
                kind: "function",
                function: WireFunctionCall { name: &call.name, arguments: arguments_text(call)? },
            });
        }
    }
    if text.is_empty() && tool_calls.is_empty() {
        return Ok(None);
    }
    let content = if text.is_empty() { None } else { Some(text) };
    Ok(Some(WireMessage::Assistant { content, tool_calls }))
}

/// The arguments as the model should see them again: the object's JSON, or the raw text it
/// sent when that text did not parse (so a retry can see its own mistake).
fn arguments_text(call: &ToolCall) -> Result<String, LlmError> {
    if call.arguments_error.is_some() {
        if let Value::String(raw) = &call.arguments {
            return Ok(raw.clone());
        }
    }
    serde_json::to_string(&call.arguments)
        .map_err(|e| LlmError::new(ErrorKind::BadRequest, format!("tool call {} arguments: {e}", call.id)))
}

fn tool_result<'a>(r: &'a ToolResultMessage, pending_images: &mut Vec<WirePart<'a>>) -> WireMessage<'a> {
    let mut text = String::new();
    let mut images = Vec::new();
    for c in &r.content {
        match c {
            InputContent::Text(t) => {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&t.text);
            }
            InputContent::Image(i) => images.push(image_part(&i.mime_type, &i.data)),
        }
    }
    if !images.is_empty() {
        if text.is_empty() {
            "(the image is attached in the next message)".clone_into(&mut text);
        }
        pending_images.push(WirePart::Text { text: Cow::Owned(images_caption(r)), cache_control: None });
        pending_images.extend(images);
    }
    WireMessage::Tool { tool_call_id: &r.tool_call_id, content: WireContent::Text(Cow::Owned(text)) }
}

fn images_caption(r: &ToolResultMessage) -> String {
    format!("Image output of tool call {} ({}):", r.tool_call_id, r.tool_name)
}

// ---------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------

/// One `data:` payload. Unknown fields (`system_fingerprint`, llama.cpp `timings`,
/// `obfuscation`, `provider`, ...) are ignored by serde's default.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default, deserialize_with = "lenient_object")]
    usage: Option<WireUsage>,
    /// Groq reported usage only here before it supported `stream_options`.
    #[serde(default, deserialize_with = "lenient_object")]
    x_groq: Option<XGroq>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct XGroq {
    #[serde(default, deserialize_with = "lenient_object")]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default, deserialize_with = "lenient_count")]
    index: Option<u64>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
    /// Moonshot reports usage inside the choice.
    #[serde(default, deserialize_with = "lenient_object")]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    /// OpenAI's refusal channel: shown as text, since it is the model's answer.
    #[serde(default, deserialize_with = "lenient")]
    refusal: Option<String>,
    /// DeepSeek, vLLM, llama.cpp.
    #[serde(default, deserialize_with = "lenient")]
    reasoning_content: Option<String>,
    /// OpenRouter, Ollama.
    #[serde(default, deserialize_with = "lenient")]
    reasoning: Option<String>,
    /// OpenRouter's structured form; it repeats `reasoning` when both are present.
    #[serde(default, deserialize_with = "lenient")]
    reasoning_details: Option<Vec<Value>>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default, deserialize_with = "lenient_count")]
    index: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    /// Text fragments normally; a few servers send the whole object at once.
    #[serde(default)]
    arguments: Option<Value>,
}

/// Every field optional and type-tolerant: a usage object never makes a chunk unreadable.
#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default, deserialize_with = "lenient_count")]
    prompt_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    completion_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_object")]
    prompt_tokens_details: Option<PromptDetails>,
    /// OpenRouter, top-level form.
    #[serde(default, deserialize_with = "lenient_count")]
    cache_write_tokens: Option<u64>,
    /// Moonshot.
    #[serde(default, deserialize_with = "lenient_count")]
    cached_tokens: Option<u64>,
    /// DeepSeek: `prompt_tokens` = hit + miss.
    #[serde(default, deserialize_with = "lenient_count")]
    prompt_cache_hit_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    prompt_cache_miss_tokens: Option<u64>,
    /// OpenRouter's charge in USD.
    #[serde(default, deserialize_with = "lenient_number")]
    cost: Option<f64>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default, deserialize_with = "lenient_count")]
    cached_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    cache_write_tokens: Option<u64>,
}

/// An object, or `None` for anything else: serde would otherwise read an array as a
/// struct's fields in order (`"usage": [1, 2]` as prompt and completion counts).
fn lenient_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.filter(Value::is_object).and_then(|v| serde_json::from_value(v).ok()))
}

/// `None` instead of an error for a value of an unexpected shape.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| serde_json::from_value(v).ok()))
}

/// A token count: an integer, an integral float (`12.0`) or a numeric string.
fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(count_of))
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // range checked first
fn count_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e18).map(|f| f.round() as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }))
}

/// Usage merged field by field over the stream (some servers repeat it, some split it).
#[derive(Debug, Default, Clone, Copy)]
struct UsageState {
    prompt: Option<u64>,
    completion: Option<u64>,
    cached: Option<u64>,
    cache_write: Option<u64>,
    hit: Option<u64>,
    miss: Option<u64>,
    cost: Option<f64>,
}

impl UsageState {
    fn merge(&mut self, u: &WireUsage) {
        let details = u.prompt_tokens_details.as_ref();
        let set = |slot: &mut Option<u64>, v: Option<u64>| {
            if v.is_some() {
                *slot = v;
            }
        };
        set(&mut self.prompt, u.prompt_tokens);
        set(&mut self.completion, u.completion_tokens);
        set(&mut self.cached, details.and_then(|d| d.cached_tokens).or(u.cached_tokens));
        set(&mut self.cache_write, details.and_then(|d| d.cache_write_tokens).or(u.cache_write_tokens));
        set(&mut self.hit, u.prompt_cache_hit_tokens);
        set(&mut self.miss, u.prompt_cache_miss_tokens);
        if u.cost.is_some() {
            self.cost = u.cost;
        }
    }

    fn counts(&self) -> TokenCounts {
        let prompt = self.prompt.unwrap_or_else(|| self.hit.unwrap_or(0).saturating_add(self.miss.unwrap_or(0)));
        // DeepSeek also mirrors the hit count into `cached_tokens`; either is the same figure.
        let cache_read = self.hit.or(self.cached).unwrap_or(0);
        let mut counts = TokenCounts::from_inclusive_prompt(
            prompt,
            cache_read,
            self.cache_write.unwrap_or(0),
            self.completion.unwrap_or(0),
        );
        counts.reported_cost = self.cost;
        counts
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Text,
    Thinking,
}

/// One streamed tool call: how the wire names it and which content block it fills.
#[derive(Debug)]
struct CallSlot {
    /// 0 when the server sends no index.
    wire_index: u64,
    wire_id: Option<String>,
    block: usize,
}

#[derive(Debug, Default)]
pub struct ChatDecoder {
    /// The open text or thinking block.
    stream_block: Option<(Channel, usize)>,
    calls: Vec<CallSlot>,
    finish: Option<StopReason>,
    done: bool,
    usage: UsageState,
}

impl Decoder for ChatDecoder {
    fn on_event(
        &mut self,
        event: &SseEvent,
        asm: &mut MessageAssembler,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Progress, LlmError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Progress::More);
        }
        if data == "[DONE]" {
            self.done = true;
            self.name_anonymous_calls(asm);
            return Ok(Progress::Complete);
        }
        if event.event.as_deref() == Some("error") {
            let body = serde_json::from_str::<Value>(data).unwrap_or_else(|_| Value::String(data.to_owned()));
            return Err(stream_error(body.get("error").unwrap_or(&body)));
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
            LlmError::new(
                ErrorKind::InvalidResponse,
                format!("a stream chunk is not a valid chat completion chunk ({e}): {}", excerpt(data, 200)),
            )
        })?;
        if let Some(id) = chunk.id.as_deref() {
            asm.set_response_id(id);
        }
        let mut error: Option<LlmError> = None;
        for choice in chunk.choices.iter().flatten() {
            // Only one completion is requested; a server echoing others is ignored.
            if choice.index.is_some_and(|i| i != 0) {
                continue;
            }
            if let Some(delta) = &choice.delta {
                self.on_delta(delta, asm, out);
            }
            if let Some(u) = &choice.usage {
                self.usage.merge(u);
            }
            if let Some(reason) = choice.finish_reason.as_deref() {
                if reason == "error" {
                    let detail = chunk.error.as_ref().or(choice.error.as_ref());
                    error = Some(detail.map_or_else(
                        || {
                            LlmError::new(
                                ErrorKind::Server,
                                "the provider ended the response with finish_reason \"error\"",
                            )
                        },
                        stream_error,
                    ));
                } else {
                    self.finish = Some(map_finish_reason(reason));
                    self.name_anonymous_calls(asm);
                }
            }
        }
        if let Some(u) = chunk.x_groq.as_ref().and_then(|x| x.usage.as_ref()) {
            self.usage.merge(u);
        }
        if let Some(u) = &chunk.usage {
            self.usage.merge(u);
        }
        if let Some(e) = chunk.error.as_ref().filter(|e| !e.is_null()) {
            return Err(stream_error(e));
        }
        match error {
            Some(e) => Err(e),
            None => Ok(Progress::More),
        }
    }

    fn end(&mut self) -> Result<StopReason, LlmError> {
        let reason = match self.finish {
            Some(reason) => reason,
            // Some servers end with `[DONE]` alone.
            None if self.done => StopReason::Stop,
            None => return Err(crate::pipeline::truncated("a finish reason or [DONE]")),
        };
        // Some servers say `stop` after tool calls; the calls still want running.
        Ok(if reason == StopReason::Stop && !self.calls.is_empty() { StopReason::ToolUse } else { reason })
    }

    fn counts(&self) -> TokenCounts {
        self.usage.counts()
    }
}

impl ChatDecoder {
    fn on_delta(&mut self, delta: &Delta, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        // Reasoning sources are alternatives, not parts: OpenRouter sends the same text in
        // `reasoning` and `reasoning_details`, so the first non-empty one is used.
        let reasoning = [delta.reasoning_content.as_deref(), delta.reasoning.as_deref()]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty());
        if let Some(r) = reasoning {
            self.push(Channel::Thinking, r, asm, out);
        } else if let Some(details) = &delta.reasoning_details {
            for d in details {
                let piece = d.get("text").or_else(|| d.get("summary")).and_then(Value::as_str);
                if let Some(p) = piece {
                    self.push(Channel::Thinking, p, asm, out);
                }
            }
        }
        for text in [delta.content.as_deref(), delta.refusal.as_deref()].into_iter().flatten() {
            self.push(Channel::Text, text, asm, out);
        }
        for call in delta.tool_calls.iter().flatten() {
            self.on_tool_call(call, asm, out);
        }
    }

    fn push(&mut self, channel: Channel, delta: &str, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        if delta.is_empty() {
            return;
        }
        let index = match self.stream_block {
            Some((c, i)) if c == channel => i,
            other => {
                if let Some((_, i)) = other {
                    asm.close(i, out);
                }
                let i = match channel {
                    Channel::Text => asm.open_text(out),
                    Channel::Thinking => asm.open_thinking(out),
                };
                self.stream_block = Some((channel, i));
                i
            }
        };
        match channel {
            Channel::Text => asm.push_text(index, delta, out),
            Channel::Thinking => asm.push_thinking(index, delta, out),
        }
    }

    fn on_tool_call(&mut self, call: &ToolCallDelta, asm: &mut MessageAssembler, out: &mut Vec<StreamEvent>) {
        let id = call.id.as_deref().filter(|s| !s.is_empty());
        let function = call.function.as_ref();
        let name = function.and_then(|f| f.name.as_deref()).filter(|s| !s.is_empty());
        let slot = match self.find_call(call.index, id) {
            Some(slot) => {
                // Servers that repeat id and name in every fragment: fill, never append.
                asm.complete_tool_call_identity(slot.block, id, name);
                if slot.wire_id.is_none() {
                    slot.wire_id = id.map(str::to_owned);
                }
                slot.block
            }
            None => {
                if let Some((_, i)) = self.stream_block.take() {
                    asm.close(i, out);
                }
                let block = asm.open_tool_call(id.unwrap_or(""), name.unwrap_or(""), out);
                self.calls.push(CallSlot {
                    wire_index: call.index.unwrap_or(0),
                    wire_id: id.map(str::to_owned),
                    block,
                });
                block
            }
        };
        match function.and_then(|f| f.arguments.as_ref()) {
            Some(Value::String(s)) => asm.push_tool_args(slot, s, out),
            Some(Value::Null) | None => {}
            Some(other) => asm.push_tool_args(slot, &other.to_string(), out),
        }
    }

    /// The call a fragment continues, or `None` for a new call. A known id wins; otherwise
    /// the wire index (0 when a server omits it) names the call, unless the fragment brings
    /// a different id: some servers give every call index 0. Searched from the newest, which
    /// is the match in every real stream, so the lookup stays O(1) in practice.
    fn find_call(&mut self, index: Option<u64>, id: Option<&str>) -> Option<&mut CallSlot> {
        let by_id = id.and_then(|id| self.calls.iter().rposition(|c| c.wire_id.as_deref() == Some(id)));
        let pos = by_id.or_else(|| {
            let index = index.unwrap_or(0);
            let p = self.calls.iter().rposition(|c| c.wire_index == index)?;
            let other_id = self.calls.get(p).is_some_and(|c| c.wire_id.is_some()) && id.is_some();
            (!other_id).then_some(p)
        });
        pos.and_then(|p| self.calls.get_mut(p))
    }

    /// A call that never got an id would be unanswerable: give it a stable one.
    fn name_anonymous_calls(&self, asm: &mut MessageAssembler) {
        for c in self.calls.iter().filter(|c| c.wire_id.is_none()) {
            asm.complete_tool_call_identity(c.block, Some(&format!("call_{}", c.block)), None);
        }
    }
}

fn map_finish_reason(reason: &str) -> StopReason {
    match reason {
        "length" | "max_tokens" => StopReason::Length,
        "tool_calls" | "function_call" | "tool_use" => StopReason::ToolUse,
        "content_filter" => StopReason::ContentFilter,
        // `stop`, `eos`, `end_turn` and anything new: the answer ended normally.
        _ => StopReason::Stop,
    }
}

/// An error object reported inside the stream: `{"message", "code", ...}` or a bare string.
fn stream_error(error: &Value) -> LlmError {
    let message = match error {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("message").and_then(Value::as_str).map_or_else(|| error.to_string(), str::to_owned),
        other => other.to_string(),
    };
    let code = error.get("code").filter(|c| !c.is_null()).map(|c| match c {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let text = match code {
        Some(code) => format!("{message} (code: {code})"),
        None => message,
    };
    LlmError::new(classify_stream_error(&text), text)
}

fn excerpt(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accept_odd_shapes() {
        assert_eq!(count_of(&serde_json::json!(12)), Some(12));
        assert_eq!(count_of(&serde_json::json!(12.0)), Some(12));
        assert_eq!(count_of(&serde_json::json!("7")), Some(7));
        assert_eq!(count_of(&serde_json::json!(-1)), None);
        assert_eq!(count_of(&serde_json::json!(null)), None);
    }

    #[test]
    fn finish_reasons_map() {
        assert_eq!(map_finish_reason("stop"), StopReason::Stop);
        assert_eq!(map_finish_reason("length"), StopReason::Length);
        assert_eq!(map_finish_reason("tool_calls"), StopReason::ToolUse);
        assert_eq!(map_finish_reason("function_call"), StopReason::ToolUse);
        assert_eq!(map_finish_reason("content_filter"), StopReason::ContentFilter);
        assert_eq!(map_finish_reason("something_new"), StopReason::Stop);
    }

    #[test]
    fn excerpt_respects_char_boundaries() {
        assert_eq!(excerpt("héllo", 2), "h");
        assert_eq!(excerpt("abc", 10), "abc");
    }
}
