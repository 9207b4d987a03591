//! One request, start to finish: send, retry before the body, stream the body through the
//! pipeline with idle timeouts, and stop at once on cancellation.

mod client;
pub mod queue;
pub mod retry;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

pub use client::HttpClient;
use queue::EventQueue;
use retry::Decision;

use crate::error::{classify_http, ErrorKind, LlmError};
use crate::events::StreamEvent;
use crate::message::Context;
use crate::model::{Model, StreamOptions};
use crate::pipeline::BodyDecoder;
use crate::providers::{self, HttpRequest};

/// Largest error body read to classify a failed response.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// How long the terminal event may wait for the end of a body whose stream completed.
const DRAIN_BEFORE_END: Duration = Duration::from_millis(50);
/// How long the end of such a body is still awaited after the terminal event.
const DRAIN_AFTER_END: Duration = Duration::from_secs(1);

/// Run one request to its terminal event, pushing events into `queue`, then close it.
pub async fn run(
    client: &HttpClient,
    model: &Model,
    context: &Context,
    options: &StreamOptions,
    cancel: &CancellationToken,
    queue: &Arc<EventQueue>,
) {
    let mut decoder = BodyDecoder::new(model);
    let mut out = Vec::new();
    match providers::build_request(model, context, options) {
        Ok(request) => drive(client, &request, options, cancel, queue, &mut decoder, &mut out).await,
        Err(e) => decoder.fail(e, &mut out),
    }
    // After an abandon the push fails, which is fine: nobody is listening.
    let _ = queue.push_batch(&mut out).await;
    queue.close();
}

async fn drive(
    client: &HttpClient,
    request: &HttpRequest,
    options: &StreamOptions,
    cancel: &CancellationToken,
    queue: &EventQueue,
    decoder: &mut BodyDecoder,
    out: &mut Vec<StreamEvent>,
) {
    let mut attempt: u32 = 0;
    let response = loop {
        let error = match send(client, request, options, cancel).await {
            Ok(response) => break response,
            Err(Attempt::Fatal(e)) => return decoder.fail(e, out),
            Err(Attempt::Retryable(e)) => e,
        };
        let delay = match retry::decide(&options.retry, attempt, error.retry_after_ms) {
            Decision::RetryAfter(d) => d,
            Decision::TooLong(d) => {
                let message = format!(
                    "{} (the server asked to wait {} s, more than the {} s retry cap)",
                    error.message,
                    d.as_secs(),
                    options.retry.max_delay_ms / 1000
                );
                return decoder.fail(LlmError { message, ..error }, out);
            }
            Decision::GiveUp => return decoder.fail(error, out),
        };
        attempt += 1;
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        out.push(StreamEvent::Retry { attempt, delay_ms, error });
        if queue.push_batch(out).await.is_err() {
            return;
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => return decoder.fail(aborted(), out),
            () = tokio::time::sleep(delay) => {}
        }
    };

    decoder.start(out);
    let idle = Duration::from_millis(options.timeouts.idle_ms);
    let mut body = response.bytes_stream();
    loop {
        let next = tokio::select! {
            biased;
            () = cancel.cancelled() => return decoder.fail(aborted(), out),
            next = tokio::time::timeout(idle, body.next()) => next,
        };
        match next {
            Err(_) => {
                let msg = format!("no data from the server for {} s", idle.as_secs());
                return decoder.fail(LlmError::new(ErrorKind::Timeout, msg), out);
            }
            Ok(None) => return decoder.finish(out),
            Ok(Some(Err(e))) => {
                let msg = format!("the connection broke mid-stream: {}", error_chain(&e));
                return decoder.fail(LlmError::new(ErrorKind::Network, msg), out);
            }
            Ok(Some(Ok(bytes))) => {
                let finished = decoder.feed(&bytes, out);
                // Read the body's last bytes (the chunked terminator, normally already here)
                // before reporting the end, so the connection is back in the pool when the
                // caller's next request looks for one; a slow terminator is still read after.
                let drained = finished && tokio::time::timeout(DRAIN_BEFORE_END, read_to_end(&mut body)).await.is_ok();
                let pushed = tokio::select! {
                    biased;
                    () = cancel.cancelled() => return decoder.fail(aborted(), out),
                    pushed = queue.push_batch(out) => pushed,
                };
                if finished && !drained {
                    let _ = tokio::time::timeout(DRAIN_AFTER_END, read_to_end(&mut body)).await;
                }
                if finished || pushed.is_err() {
                    return;
                }
            }
        }
    }
}

async fn read_to_end<S>(body: &mut S)
where
    S: futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
{
    while let Some(Ok(_)) = body.next().await {}
}

enum Attempt {
    Retryable(LlmError),
    Fatal(LlmError),
}

/// Send the request and wait for a 2xx response's headers.
async fn send(
    client: &HttpClient,
    request: &HttpRequest,
    options: &StreamOptions,
    cancel: &CancellationToken,
) -> Result<reqwest::Response, Attempt> {
    let mut builder = client.inner.post(&request.url).body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let first_byte = Duration::from_millis(options.timeouts.first_byte_ms);
    let result = tokio::select! {
        biased;
        () = cancel.cancelled() => return Err(Attempt::Fatal(aborted())),
        r = tokio::time::timeout(first_byte, builder.send()) => r,
    };
    let response = match result {
        Err(_) => {
            let msg = format!("no response from the server within {} s", first_byte.as_secs());
            return Err(Attempt::Retryable(LlmError::new(ErrorKind::Timeout, msg)));
        }
        Ok(Err(e)) => {
            let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Network };
            let retryable = e.is_connect() || e.is_timeout() || e.is_request();
            let err = LlmError::new(kind, format!("request to {} failed: {}", request.url, error_chain(&e)));
            return Err(if retryable { Attempt::Retryable(err) } else { Attempt::Fatal(err) });
        }
        Ok(Ok(r)) => r,
    };
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Ok(response);
    }
    let wait = retry::retry_after_ms(response.headers());
    let body = tokio::select! {
        biased;
        () = cancel.cancelled() => return Err(Attempt::Fatal(aborted())),
        body = read_capped(response, first_byte) => body,
    };
    let error = classify_http(status, &body, wait);
    if retry::is_retryable_status(status) && !(status == 429 && retry::is_quota_exhausted(&body)) {
        Err(Attempt::Retryable(error))
    } else {
        Err(Attempt::Fatal(error))
    }
}

async fn read_capped(mut response: reqwest::Response, limit: Duration) -> String {
    let mut buf = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            buf.extend_from_slice(&chunk);
            if buf.len() >= MAX_ERROR_BODY {
                buf.truncate(MAX_ERROR_BODY);
                break;
            }
        }
    };
    let _ = tokio::time::timeout(limit, read).await;
    String::from_utf8_lossy(&buf).into_owned()
}

fn aborted() -> LlmError {
    LlmError::new(ErrorKind::Aborted, "the request was cancelled")
}

/// reqwest's Display hides the cause ("error sending request"); users need the cause.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
