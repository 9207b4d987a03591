//! When to retry, and how long to wait.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::error::{ErrorKind, LlmError};
use crate::model::RetryPolicy;

/// Statuses worth another attempt: timeouts, conflicts, too-early, rate limits, server
/// faults and Anthropic's 529 "overloaded".
#[must_use]
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 425 | 429 | 500 | 502 | 503 | 504 | 529)
}

/// An error event that arrived before any content is worth another attempt when the
/// status it stands for would be (the providers' decoders set it from the event's type or
/// code); a message about exhausted credit is not.
#[must_use]
pub fn is_retryable_stream_error(error: &LlmError) -> bool {
    let by_status = error.status.is_some_and(is_retryable_status);
    let rate_limited = error.kind == ErrorKind::RateLimited;
    // A server that said when to come back is not reporting exhausted credit.
    (by_status || rate_limited) && (error.retry_after_ms.is_some() || !is_quota_exhausted(&error.message))
}

/// A 429 that means "out of credit" will not get better by waiting.
#[must_use]
pub fn is_quota_exhausted(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    // Gemini's per-minute limits say "check your plan and billing details" too, but name
    // when to come back (`RetryInfo`): those are worth the wait.
    let says_when = lower.contains("google.rpc.retryinfo");
    lower.contains("insufficient_quota") || (lower.contains("billing") && !says_when)
}

/// `retry-after-ms` (OpenAI), else `retry-after` in seconds or as an HTTP date.
#[must_use]
pub fn retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return finite_ms(ms);
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return finite_ms(secs * 1000.0);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let wait = when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
    u64::try_from(wait.as_millis()).ok()
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked finite and clamped
fn finite_ms(ms: f64) -> Option<u64> {
    (ms.is_finite() && ms >= 0.0).then(|| ms.min(1e15) as u64)
}

/// What to do after failed attempt number `attempt` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    /// The server asked for a longer wait than the policy allows.
    TooLong(Duration),
    GiveUp,
}

#[must_use]
pub fn decide(policy: &RetryPolicy, attempt: u32, server_wait_ms: Option<u64>) -> Decision {
    if attempt >= policy.max_retries {
        return Decision::GiveUp;
    }
    if let Some(ms) = server_wait_ms {
        return if ms > policy.max_delay_ms {
            Decision::TooLong(Duration::from_millis(ms))
        } else {
            Decision::RetryAfter(Duration::from_millis(ms))
        };
    }
    let exp = policy.base_delay_ms.saturating_mul(1u64 << attempt.min(20));
    let capped = exp.min(policy.max_delay_ms);
    // "Equal jitter": half fixed, half random, so clients that failed together spread out
    // without any of them retrying immediately.
    let half = capped / 2;
    Decision::RetryAfter(Duration::from_millis(half + fastrand::u64(0..=half)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after_ms(&h), Some(3000));
        h.insert("retry-after-ms", HeaderValue::from_static("250.5"));
        assert_eq!(retry_after_ms(&h), Some(250));
        let mut h = HeaderMap::new();
        let future = SystemTime::now() + Duration::from_secs(30);
        let v = HeaderValue::from_str(&httpdate::fmt_http_date(future)).unwrap();
        h.insert("retry-after", v);
        let ms = retry_after_ms(&h).unwrap();
        assert!((28_000..=30_000).contains(&ms), "{ms}");
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_the_server() {
        let p = RetryPolicy { max_retries: 3, base_delay_ms: 100, max_delay_ms: 300 };
        for (attempt, (lo, hi)) in [(0, (50, 100)), (1, (100, 200)), (2, (150, 300))] {
            let Decision::RetryAfter(d) = decide(&p, attempt, None) else { panic!() };
            let ms = u64::try_from(d.as_millis()).unwrap();
            assert!((lo..=hi).contains(&ms), "attempt {attempt}: {ms}");
        }
        assert_eq!(decide(&p, 3, None), Decision::GiveUp);
        assert_eq!(decide(&p, 0, Some(200)), Decision::RetryAfter(Duration::from_millis(200)));
        assert_eq!(decide(&p, 0, Some(5000)), Decision::TooLong(Duration::from_millis(5000)));
    }
}
