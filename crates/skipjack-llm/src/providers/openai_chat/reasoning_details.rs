//! OpenRouter's `reasoning_details`: the structured reasoning (text with its signature,
//! encrypted blocks, summaries) that Claude, Gemini and OpenAI reasoning models behind
//! OpenRouter need back, unmodified and in order, on the next request of a tool loop.
//!
//! A stream sends each detail in fragments keyed by `index` (text and summary grow, the
//! signature arrives last); they are merged here into whole details. The message keeps
//! them as the signature of a thinking block, `{"reasoning_details":[...]}`, which the
//! history replays to the same model only.

use serde_json::{Map, Value};

/// The key wrapping the details in a thinking block's signature.
pub(crate) const KEY: &str = "reasoning_details";

/// String fields that grow fragment by fragment; any other field is replaced by the
/// newest non-null value (`signature`, `id`, `format`, `data` when sent whole).
const GROWING: [&str; 3] = ["text", "summary", "data"];

#[derive(Debug, Default)]
pub(super) struct DetailsAccumulator {
    details: Vec<Map<String, Value>>,
    /// Something arrived since the details were last written to the message.
    pub(super) dirty: bool,
}

impl DetailsAccumulator {
    /// Merge one streamed fragment; returns how many bytes it added (charged to the
    /// message's size cap by the caller).
    pub(super) fn merge(&mut self, fragment: &Value) -> usize {
        let Some(fragment) = fragment.as_object() else { return 0 };
        let kind = fragment.get("type").and_then(Value::as_str);
        let index = fragment.get("index").and_then(Value::as_u64);
        let same = self.details.last_mut().filter(|last| {
            index.is_some()
                && last.get("index").and_then(Value::as_u64) == index
                && last.get("type").and_then(Value::as_str) == kind
        });
        self.dirty = true;
        let Some(last) = same else {
            self.details.push(fragment.clone());
            return fragment.iter().map(|(k, v)| k.len() + value_len(v)).sum();
        };
        let mut added = 0;
        for (key, value) in fragment {
            if value.is_null() {
                continue;
            }
            match (GROWING.contains(&key.as_str()), last.get_mut(key), value) {
                (true, Some(Value::String(have)), Value::String(more)) => {
                    have.push_str(more);
                    added += more.len();
                }
                _ => {
                    added += key.len() + value_len(value);
                    last.insert(key.clone(), value.clone());
                }
            }
        }
        added
    }

    pub(super) fn is_empty(&self) -> bool {
        self.details.is_empty()
    }

    /// `{"reasoning_details":[...]}`, the form a thinking block's signature keeps.
    pub(super) fn signature(&self) -> String {
        let details: Vec<Value> = self.details.iter().cloned().map(Value::Object).collect();
        let mut wrapper = Map::new();
        wrapper.insert(KEY.to_owned(), Value::Array(details));
        Value::Object(wrapper).to_string()
    }
}

fn value_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        other => other.to_string().len(),
    }
}

/// The details a thinking block's signature holds, if it holds OpenRouter's.
pub(crate) fn from_signature(signature: &str) -> Option<Vec<Value>> {
    let mut value: Value = serde_json::from_str(signature).ok()?;
    match value.get_mut(KEY)?.take() {
        Value::Array(items) if !items.is_empty() => Some(items),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fragments_of_one_index_merge_and_the_signature_lands_on_them() {
        let mut acc = DetailsAccumulator::default();
        acc.merge(&json!({"type": "reasoning.text", "text": "Let", "index": 0, "format": "anthropic-claude-v1"}));
        acc.merge(&json!({"type": "reasoning.text", "text": " me", "index": 0, "signature": null}));
        acc.merge(&json!({"type": "reasoning.text", "text": "", "index": 0, "signature": "c2ln"}));
        acc.merge(&json!({"type": "reasoning.encrypted", "data": "ZW5j", "index": 1}));
        let details = from_signature(&acc.signature()).unwrap();
        assert_eq!(
            details,
            vec![
                json!({"type": "reasoning.text", "text": "Let me", "index": 0, "format": "anthropic-claude-v1", "signature": "c2ln"}),
                json!({"type": "reasoning.encrypted", "data": "ZW5j", "index": 1}),
            ]
        );
    }

    #[test]
    fn details_without_an_index_are_never_merged() {
        let mut acc = DetailsAccumulator::default();
        acc.merge(&json!({"type": "reasoning.summary", "summary": "a"}));
        acc.merge(&json!({"type": "reasoning.summary", "summary": "b"}));
        acc.merge(&json!("not an object"));
        assert_eq!(from_signature(&acc.signature()).unwrap().len(), 2);
    }

    #[test]
    fn other_signatures_are_not_details() {
        for s in ["", "sig", "{}", r#"{"reasoning_details":[]}"#, r#"{"type":"reasoning","id":"rs_1"}"#] {
            assert!(from_signature(s).is_none(), "{s}");
        }
    }
}
