//! Pieces the two OpenAI wire APIs (chat completions and Responses) share word for word.

use serde_json::Value;

use crate::error::{ErrorKind, LlmError};
use crate::message::ToolCall;

/// The arguments as the model should see them again: the object's JSON, or the raw text it
/// sent when that text did not parse (so a retry can see its own mistake).
pub(crate) fn arguments_text(call: &ToolCall) -> Result<String, LlmError> {
    if call.arguments_error.is_some() {
        if let Value::String(raw) = &call.arguments {
            return Ok(raw.clone());
        }
    }
    serde_json::to_string(&call.arguments)
        .map_err(|e| LlmError::new(ErrorKind::BadRequest, format!("tool call {} arguments: {e}", call.id)))
}

/// At most `max` bytes of `s`, cut at a character boundary (for error messages quoting a
/// provider's bytes).
pub(crate) fn excerpt(s: &str, max: usize) -> &str {
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
    use super::excerpt;

    #[test]
    fn excerpt_respects_char_boundaries() {
        assert_eq!(excerpt("héllo", 2), "h");
        assert_eq!(excerpt("abc", 10), "abc");
    }
}
