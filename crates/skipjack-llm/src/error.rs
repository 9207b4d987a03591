//! Classified errors: each kind tells the caller what it can do about it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The prompt does not fit the model's context window: compact and retry.
    ContextOverflow,
    /// Too many requests; `retry_after_ms` says when to come back if the server said.
    RateLimited,
    /// The key is missing, wrong or not allowed (401/403).
    Auth,
    /// The server rejected the request as malformed (other 4xx).
    BadRequest,
    /// The server failed (5xx) or reported an error in the stream.
    Server,
    /// The connection failed or broke.
    Network,
    /// Connect, first-byte or idle timeout.
    Timeout,
    /// The caller cancelled.
    Aborted,
    /// The response could not be understood (not SSE, ended early, malformed).
    InvalidResponse,
}

impl ErrorKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContextOverflow => "context_overflow",
            Self::RateLimited => "rate_limited",
            Self::Auth => "auth",
            Self::BadRequest => "bad_request",
            Self::Server => "server",
            Self::Network => "network",
            Self::Timeout => "timeout",
            Self::Aborted => "aborted",
            Self::InvalidResponse => "invalid_response",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct LlmError {
    pub kind: ErrorKind,
    pub message: String,
    /// HTTP status, when the error came from one.
    pub status: Option<u16>,
    /// How long the server asked us to wait.
    pub retry_after_ms: Option<u64>,
}

impl LlmError {
    #[must_use]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), status: None, retry_after_ms: None }
    }

    /// The error for a body that ended before the protocol's end marker.
    #[must_use]
    pub fn truncated(what: &str) -> Self {
        Self::new(ErrorKind::InvalidResponse, format!("the stream ended before {what}"))
    }

    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

/// Phrases servers use when the prompt is longer than the context window.
pub(crate) const OVERFLOW_PATTERNS: &[&str] = &[
    "context_length_exceeded",              // OpenAI code
    "maximum context length",               // OpenAI, vLLM, DeepSeek, OpenRouter
    "prompt is too long",                   // Anthropic
    "exceed_context_size_error",            // llama.cpp
    "exceeds the available context size",   // llama.cpp message
    "context window",                       // Mistral, generic
    "input is too long",                    // Bedrock-style gateways
    "too many tokens",                      // generic
    "reduce the length of the messages",    // OpenAI, Groq
    "exceeds the maximum number of tokens", // Gemini-compatible
    "input token count",                    // Gemini: "input token count (N) exceeds the maximum"
    "context length",                       // vLLM / generic "exceeds context length"
    "request too large",                    // Groq 413
    "string too long",                      // OpenAI
];

/// Classify a non-2xx response from its status and body text.
#[must_use]
pub fn classify_http(status: u16, body: &str, retry_after_ms: Option<u64>) -> LlmError {
    let lower = body.to_ascii_lowercase();
    let overflow = OVERFLOW_PATTERNS.iter().any(|p| lower.contains(p)) || status == 413;
    // A 429 is a rate limit whatever it says: Bedrock's throttling reads "Too many tokens".
    let kind = if overflow && (400..500).contains(&status) && status != 429 {
        ErrorKind::ContextOverflow
    } else if status == 400 && (lower.contains("api_key_invalid") || lower.contains("api key not valid")) {
        // Gemini answers a wrong key with 400 INVALID_ARGUMENT.
        ErrorKind::Auth
    } else {
        match status {
            401 | 403 => ErrorKind::Auth,
            429 => ErrorKind::RateLimited,
            408 => ErrorKind::Timeout,
            400..=499 => ErrorKind::BadRequest,
            _ => ErrorKind::Server,
        }
    };
    let message = error_message_from_body(body).unwrap_or_else(|| format!("HTTP {status}"));
    // Google sends the wait in the body (`RetryInfo`), not in a header.
    let retry_after_ms = retry_after_ms.or_else(|| google_retry_delay_ms(body));
    LlmError { kind, message: format!("HTTP {status}: {message}"), status: Some(status), retry_after_ms }
}

/// The `retryDelay` of a Google error body's `google.rpc.RetryInfo` detail (`"34s"`,
/// `"1.5s"`), in milliseconds. The body may be the error object, `{"error": ...}`, or that
/// wrapped in an array (as `streamGenerateContent` answers).
#[must_use]
pub fn google_retry_delay_ms(body: &str) -> Option<u64> {
    let parsed: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    let outer = parsed.as_array().and_then(|a| a.first()).unwrap_or(&parsed);
    let error = outer.get("error").unwrap_or(outer);
    google_retry_delay(error)
}

fn google_retry_delay(error: &serde_json::Value) -> Option<u64> {
    let details = error.get("details")?.as_array()?;
    let delay = details
        .iter()
        .filter(|d| {
            d.get("@type").and_then(serde_json::Value::as_str).is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
        })
        .find_map(|d| d.get("retryDelay").and_then(serde_json::Value::as_str))?;
    let seconds: f64 = delay.trim().strip_suffix('s')?.parse().ok()?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked finite, clamped
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).min(1e15) as u64)
}

/// A Google API error object (`{"code", "message", "status", "details"}`, as sent in the body
/// of a failed response or as a stream event) → a classified error carrying the HTTP status
/// its `status` stands for, so it is retried like that status would be.
#[must_use]
pub fn google_error(error: &serde_json::Value) -> LlmError {
    let text = |k: &str| error.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    let (status_name, message) = (text("status"), text("message"));
    let code = error.get("code").and_then(serde_json::Value::as_u64).and_then(|c| u16::try_from(c).ok());
    let status = match status_name {
        "RESOURCE_EXHAUSTED" => Some(429),
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => Some(400),
        "UNAUTHENTICATED" => Some(401),
        "PERMISSION_DENIED" => Some(403),
        "NOT_FOUND" => Some(404),
        "ABORTED" => Some(409),
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => Some(500),
        "UNAVAILABLE" => Some(503),
        "DEADLINE_EXCEEDED" => Some(504),
        "CANCELLED" => Some(499),
        _ => code,
    };
    let body = match (status_name.is_empty(), message.is_empty()) {
        (true, true) => "the server reported an error".to_owned(),
        (true, false) => message.to_owned(),
        (false, true) => status_name.to_owned(),
        (false, false) => format!("{status_name}: {message}"),
    };
    let mut e = classify_http(status.unwrap_or(500), &body, google_retry_delay(error));
    e.message = body;
    e.status = status;
    e
}

/// Classify an error object reported inside a stream.
#[must_use]
pub fn classify_stream_error(text: &str) -> ErrorKind {
    let lower = text.to_ascii_lowercase();
    if OVERFLOW_PATTERNS.iter().any(|p| lower.contains(p)) {
        ErrorKind::ContextOverflow
    } else if lower.contains("rate limit") || lower.contains("rate_limit") {
        ErrorKind::RateLimited
    } else {
        ErrorKind::Server
    }
}

/// The human part of a JSON error body: `error.message`, `message` or `detail`.
fn error_message_from_body(body: &str) -> Option<String> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    let parsed: Option<serde_json::Value> = serde_json::from_str(trimmed).ok();
    let found = parsed.as_ref().and_then(|v| {
        // Google's streaming endpoint wraps its error object in an array.
        let v = v.as_array().and_then(|a| a.first()).unwrap_or(v);
        let err = v.get("error").unwrap_or(v);
        err.get("message")
            .or_else(|| err.get("detail"))
            .and_then(|m| m.as_str().map(str::to_owned))
            .or_else(|| err.as_str().map(str::to_owned))
    });
    Some(found.unwrap_or_else(|| truncate(trimmed, 500)))
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_messages_are_classified() {
        let bodies = [
            r#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
            r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}"#,
        ];
        for b in bodies {
            assert_eq!(classify_http(400, b, None).kind, ErrorKind::ContextOverflow, "{b}");
        }
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify_http(401, "{}", None).kind, ErrorKind::Auth);
        assert_eq!(classify_http(429, "slow down", Some(1000)).kind, ErrorKind::RateLimited);
        let bedrock = r#"{"message":"Too many tokens, please wait before trying again."}"#;
        assert_eq!(classify_http(429, bedrock, None).kind, ErrorKind::RateLimited);
        assert_eq!(classify_http(503, "", None).kind, ErrorKind::Server);
        assert_eq!(classify_http(422, r#"{"detail":"bad"}"#, None).message, "HTTP 422: bad");
    }
}
