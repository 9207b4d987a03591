//! One stream request (`{model, context, options}`), parsed with the messages it shares with
//! earlier requests taken from a cache.
//!
//! An agent's requests grow by a message or two per turn and repeat everything before, so
//! parsing the whole history every turn made each turn's cost grow with the session (about
//! 6 ms per MB). The request therefore comes in parts: the head (model, system prompt, tools,
//! options) and each message's JSON on its own, so nothing has to scan the history to find
//! where the messages are. Each message's text is looked up in a content-addressed cache:
//! identical bytes parse to an identical message, so a hit is as good as a parse, and
//! anything new is parsed and validated as before. The head (system prompt, tool list), the
//! other large part that repeats, is cached the same way, and its tool list on its own too.
//!
//! The cache keeps two generations of entries, rotated by size rather than per request, so
//! concurrent conversations (a subagent, a compaction summary) do not evict each other.

use std::sync::{Arc, Mutex, PoisonError};

use foldhash::HashMap;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::message::{Context, Message, Tool};
use crate::model::{Model, StreamOptions};

/// Bytes of cached text per generation: at most about twice this (keys and parsed values)
/// is held per generation, and two generations are kept.
const GENERATION_BYTES: usize = 32 << 20;
/// A single entry larger than this is parsed each time rather than cached: it would rotate
/// a whole generation out by itself.
const MAX_ENTRY_BYTES: usize = GENERATION_BYTES / 4;

/// A parsed request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub model: Model,
    pub context: Context,
    pub options: StreamOptions,
}

/// The request without its messages, with the tool list left unparsed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Head<'a> {
    model: Model,
    #[serde(borrow)]
    context: HeadContext<'a>,
    #[serde(default)]
    options: StreamOptions,
}

/// `Context` without `messages` (they come apart); the same defaults and strictness
/// (`"tools": null` is still an error, as it is for `Context`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadContext<'a> {
    #[serde(default)]
    system_prompt: Option<String>,
    #[serde(default, borrow, deserialize_with = "present")]
    tools: Option<&'a RawValue>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Parse a request: `head` is the JSON of `{model, context, options}` whose context has no
/// `messages`, and `messages` the JSON of each message, in order. The error says what is
/// wrong (and in which message).
///
/// # Errors
/// The parts are not the JSON of a request.
pub fn parse(head: &[u8], messages: &[&[u8]]) -> Result<Request, String> {
    // A history this large (a resumed session of tens of MB) would not stay cached anyway,
    // and filling the cache costs more than the parse it replaces.
    let uncached = head.len() + messages.iter().map(|m| m.len()).sum::<usize>() > GENERATION_BYTES;
    let head = if uncached { Arc::new(parse_head(head, false)?) } else { cached_head(head)? };
    let mut parsed = Vec::with_capacity(messages.len());
    for (i, bytes) in messages.iter().enumerate() {
        let message = if uncached {
            serde_json::from_slice(bytes).map_err(|e| e.to_string())
        } else {
            std::str::from_utf8(bytes)
                .map_err(|e| e.to_string())
                .and_then(|text| cached(&MESSAGES, text))
                .map(|message| Message::clone(&message))
        };
        parsed.push(message.map_err(|e| format!("context.messages[{i}]: {e}"))?);
    }
    Ok(Request {
        model: head.model.clone(),
        context: Context {
            system_prompt: head.system_prompt.clone(),
            messages: parsed,
            tools: Vec::clone(&head.tools),
        },
        options: head.options.clone(),
    })
}

/// The head, parsed: the same bytes every turn of a conversation (the system prompt and the
/// tools' schemas, ~10 kB), so it is cached like a message.
struct ParsedHead {
    model: Model,
    system_prompt: Option<String>,
    tools: Arc<Vec<Tool>>,
    options: StreamOptions,
}

fn cached_head(head: &[u8]) -> Result<Arc<ParsedHead>, String> {
    let text = std::str::from_utf8(head).map_err(|e| e.to_string())?;
    cached_with(&HEADS, text, |text| parse_head(text.as_bytes(), true))
}

/// `cache_tools`: take the tool list from its own cache (a head that changed only its system
/// prompt keeps its parsed tools).
fn parse_head(head: &[u8], cache_tools: bool) -> Result<ParsedHead, String> {
    let raw: Head<'_> = serde_json::from_slice(head).map_err(|e| e.to_string())?;
    let tools = match raw.context.tools {
        Some(text) if cache_tools => cached(&TOOLS, text.get()).map_err(|e| format!("context.tools: {e}"))?,
        Some(text) => Arc::new(serde_json::from_str(text.get()).map_err(|e| format!("context.tools: {e}"))?),
        None => Arc::new(Vec::new()),
    };
    Ok(ParsedHead { model: raw.model, system_prompt: raw.context.system_prompt, tools, options: raw.options })
}

static MESSAGES: Mutex<Option<Generations<Message>>> = Mutex::new(None);
static TOOLS: Mutex<Option<Generations<Vec<Tool>>>> = Mutex::new(None);
static HEADS: Mutex<Option<Generations<ParsedHead>>> = Mutex::new(None);

/// `text` parsed, from the cache when the same text was parsed before.
fn cached<T: for<'de> Deserialize<'de>>(cache: &Mutex<Option<Generations<T>>>, text: &str) -> Result<Arc<T>, String> {
    cached_with(cache, text, |text| serde_json::from_str::<T>(text).map_err(|e| e.to_string()))
}

/// `parse(text)`, from the cache when the same text was parsed before. Parsing happens
/// outside the lock, so concurrent requests do not wait on each other's new messages.
fn cached_with<T>(
    cache: &Mutex<Option<Generations<T>>>,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Arc<T>, String> {
    if let Some(hit) = lock(cache).get_or_insert_with(Generations::default).get(text) {
        return Ok(hit);
    }
    let value = Arc::new(parse(text)?);
    if text.len() <= MAX_ENTRY_BYTES {
        lock(cache).get_or_insert_with(Generations::default).insert(text, Arc::clone(&value));
    }
    Ok(value)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a map half-updated in a way that matters
    // (entries are whole or absent), so a poisoned cache is still used.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Entries used recently: `current`, and the generation before it. A hit in `previous`
/// moves to `current`; when `current` holds `GENERATION_BYTES` of text it becomes
/// `previous` and the older generation is dropped. What an active conversation sends is
/// therefore always in one of the two, and what nobody sent for a generation goes.
struct Generations<T> {
    current: HashMap<Box<str>, Arc<T>>,
    previous: HashMap<Box<str>, Arc<T>>,
    current_bytes: usize,
}

impl<T> Default for Generations<T> {
    fn default() -> Self {
        Self { current: HashMap::default(), previous: HashMap::default(), current_bytes: 0 }
    }
}

impl<T> Generations<T> {
    fn get(&mut self, text: &str) -> Option<Arc<T>> {
        if let Some(hit) = self.current.get(text) {
            return Some(Arc::clone(hit));
        }
        let (key, value) = self.previous.remove_entry(text)?;
        self.add(key, Arc::clone(&value));
        Some(value)
    }

    fn insert(&mut self, text: &str, value: Arc<T>) {
        if !self.current.contains_key(text) {
            self.add(text.into(), value);
        }
    }

    fn add(&mut self, key: Box<str>, value: Arc<T>) {
        if self.current_bytes + key.len() > GENERATION_BYTES {
            self.previous = std::mem::take(&mut self.current);
            self.current_bytes = 0;
        }
        self.current_bytes += key.len();
        self.current.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(context: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "model": {"id": "m", "provider": "p", "api": "openai-chat", "base_url": "http://127.0.0.1:1"},
            "context": context,
        }))
        .unwrap()
    }

    /// The whole request's JSON in the parts `parse` takes: the head, and each message (a
    /// `messages` that is not a list stays in the head, as a caller could send it).
    fn split(whole: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut value: serde_json::Value = serde_json::from_slice(whole).unwrap();
        let mut messages = Vec::new();
        if let Some(context) = value["context"].as_object_mut() {
            if context.get("messages").is_some_and(serde_json::Value::is_array) {
                if let Some(serde_json::Value::Array(list)) = context.remove("messages") {
                    messages = list.iter().map(|m| serde_json::to_vec(m).unwrap()).collect();
                }
            }
        }
        (serde_json::to_vec(&value).unwrap(), messages)
    }

    fn m(parts: &[Vec<u8>]) -> Vec<&[u8]> {
        parts.iter().map(Vec::as_slice).collect()
    }

    fn parse_whole(whole: &[u8]) -> Result<Request, String> {
        let (head, messages) = split(whole);
        parse(&head, &m(&messages))
    }

    /// The request parsed in one pass, without the cache.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Whole {
        model: Model,
        context: Context,
        #[serde(default)]
        options: StreamOptions,
    }

    /// The reference: the whole payload parsed in one go, as before the cache.
    fn direct(bytes: &[u8]) -> Result<Request, String> {
        let w: Whole = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        Ok(Request { model: w.model, context: w.context, options: w.options })
    }

    fn history(n: usize) -> serde_json::Value {
        let mut messages = vec![json!({"role": "user", "content": "read it"})];
        for i in 0..n {
            messages.push(json!({
                "role": "assistant",
                "content": [{"type": "tool_call", "id": format!("c{i}"), "name": "read", "arguments": {"path": "a\u{e9}\"b"}}],
                "api": "openai-chat", "provider": "p", "model": "m",
                "usage": {"input": 1, "output": 2, "cache_read": 0, "cache_write": 0, "total_tokens": 3,
                          "cost": {"input": 0.0, "output": 0.0, "cache_read": 0.0, "cache_write": 0.0, "total": 0.0}},
                "stop_reason": "tool_use",
            }));
            messages.push(json!({"role": "tool_result", "tool_call_id": format!("c{i}"), "tool_name": "read",
                                 "content": [{"type": "text", "text": format!("line {i}\n\\u0000")}]}));
        }
        json!({
            "system_prompt": "be brief",
            "messages": messages,
            "tools": [{"name": "read", "description": "reads", "parameters": {"type": "object"}}],
        })
    }

    #[test]
    fn parses_like_the_whole_payload_cold_and_warm() {
        for n in [0, 1, 5, 5, 6] {
            let bytes = payload(&history(n));
            assert_eq!(parse_whole(&bytes), direct(&bytes), "history of {n}");
        }
    }

    #[test]
    fn same_message_text_in_another_position_or_request_is_the_same_message() {
        let a = payload(&history(3));
        let mut ctx = history(3);
        ctx["messages"].as_array_mut().unwrap().reverse();
        let b = payload(&ctx);
        assert_eq!(parse_whole(&a), direct(&a));
        assert_eq!(parse_whole(&b), direct(&b));
        assert_ne!(parse_whole(&a).unwrap().context.messages, parse_whole(&b).unwrap().context.messages);
    }

    #[test]
    fn rejects_what_the_whole_parse_rejects_even_when_cached() {
        let good = history(2);
        assert!(parse_whole(&payload(&good)).is_ok());
        let cases = [
            json!({"messages": null}),
            json!({"tools": null}),
            json!({"messages": [], "extra": 1}),
            json!({"messages": [{"role": "user", "content": "x", "extra": 1}]}),
            json!({"messages": [{"role": "robot", "content": "x"}]}),
            json!({"messages": [{"role": "user"}]}),
            json!({"tools": [{"name": "read"}]}),
            json!({"messages": "no"}),
        ];
        for ctx in cases {
            let bytes = payload(&ctx);
            assert!(direct(&bytes).is_err(), "the reference accepts {ctx}");
            let err = parse_whole(&bytes).expect_err(&ctx.to_string());
            assert!(!err.is_empty());
        }
        // Syntax errors anywhere, including inside a message that is otherwise cached.
        let (head, messages) = split(&payload(&good));
        let text = String::from_utf8(messages[0].clone()).unwrap();
        for broken in [text.replacen("\"read it\"", "\"read it", 1), text.replacen('}', "", 1), format!("{text} x")] {
            let mut parts = messages.clone();
            parts[0] = broken.clone().into_bytes();
            assert!(parse(&head, &m(&parts)).is_err(), "{broken}");
        }
        for broken in [&b""[..], &[0xff, 0xfe], &[b'"', 0xff, b'"']] {
            let mut parts = messages.clone();
            parts[1] = broken.to_vec();
            assert!(parse(&head, &m(&parts)).unwrap_err().starts_with("context.messages[1]: "));
            assert!(parse(broken, &m(&messages)).is_err());
        }
        let head_text = String::from_utf8(head.clone()).unwrap();
        assert!(parse(head_text.replacen('}', "", 1).as_bytes(), &m(&messages)).is_err());
        assert!(parse(format!("{head_text} x").as_bytes(), &m(&messages)).is_err());
        // The messages come apart: a head that carries some too is refused.
        let mut with_messages: serde_json::Value = serde_json::from_slice(&head).unwrap();
        with_messages["context"]["messages"] = json!([]);
        assert!(parse(&serde_json::to_vec(&with_messages).unwrap(), &m(&messages)).is_err());
    }

    #[test]
    fn a_cached_head_never_stands_for_another() {
        let model = json!({"id": "m", "provider": "p", "api": "openai-chat", "base_url": "http://127.0.0.1:1"});
        let mut other_model = model.clone();
        other_model["id"] = json!("m2");
        let mut prompt = history(1);
        prompt["system_prompt"] = json!("be verbose");
        let mut no_prompt = history(1);
        no_prompt.as_object_mut().unwrap().remove("system_prompt");
        let mut tools = history(1);
        tools["tools"][0]["description"] = json!("reads a file");
        let mut no_tools = history(1);
        no_tools.as_object_mut().unwrap().remove("tools");
        let requests = [
            json!({"model": model, "context": history(1)}),
            json!({"model": other_model, "context": history(1)}),
            json!({"model": model, "context": history(1), "options": {"api_key": "sk-a", "max_tokens": 5}}),
            json!({"model": model, "context": history(1), "options": {"api_key": "sk-b", "max_tokens": 5}}),
            json!({"model": model, "context": prompt}),
            json!({"model": model, "context": no_prompt}),
            json!({"model": model, "context": tools}),
            json!({"model": model, "context": no_tools}),
        ];
        for round in 0..2 {
            for request in &requests {
                let bytes = serde_json::to_vec(request).unwrap();
                assert_eq!(parse_whole(&bytes), direct(&bytes), "round {round}: {request}");
            }
        }
        // A head that differs from a cached one only in being invalid is refused.
        let mut bad = requests[2].clone();
        bad["options"]["max_tokens"] = json!("five");
        assert!(parse_whole(&serde_json::to_vec(&bad).unwrap()).is_err());
    }

    #[test]
    fn a_payload_over_a_generation_is_parsed_whole() {
        let mut ctx = history(2);
        ctx["system_prompt"] = json!("s".repeat(GENERATION_BYTES));
        let bytes = payload(&ctx);
        assert_eq!(parse_whole(&bytes), direct(&bytes));
        ctx["messages"][1]["extra"] = json!(1);
        assert!(parse_whole(&payload(&ctx)).is_err());
        ctx["messages"][1] = json!({"role": "user", "content": "x".repeat(GENERATION_BYTES)});
        let bytes = payload(&ctx);
        assert_eq!(parse_whole(&bytes), direct(&bytes));
    }

    #[test]
    fn error_names_the_message() {
        let ctx = json!({"messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": 5}]});
        let err = parse_whole(&payload(&ctx)).unwrap_err();
        assert!(err.starts_with("context.messages[1]: "), "{err}");
    }

    #[test]
    fn generations_rotate_by_size_and_keep_recent_hits() {
        let mut g = Generations::<u32>::default();
        let big = "x".repeat(GENERATION_BYTES / 2 + 1);
        g.insert("a", Arc::new(1));
        g.insert(&big, Arc::new(2)); // fits with "a"
        assert_eq!(g.get("a").as_deref(), Some(&1));
        g.insert(&format!("{big}y"), Arc::new(3)); // rotates: "a" and big move to previous
        assert!(g.current.len() == 1 && g.previous.len() == 2);
        assert_eq!(g.get("a").as_deref(), Some(&1)); // promoted back
        assert!(g.current.contains_key("a"));
        g.insert(&format!("{big}z"), Arc::new(4)); // rotates again: big (never re-used) is gone
        assert_eq!(g.get(&big), None);
        assert_eq!(g.get("a").as_deref(), Some(&1));
    }
}
