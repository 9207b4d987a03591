//! One request, start to finish: send, retry before any content (a failed status, or an
//! error event at the start of a 200 body), stream the body through the pipeline under an
//! idle timer and a total deadline, and stop at once on cancellation.

mod client;
pub mod queue;
pub mod retry;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use client::HttpClient;
use queue::EventQueue;
use retry::Decision;

use crate::auth;
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
    let mut decoder = BodyDecoder::with_limits(model, options.limits);
    decoder.hold_early_errors(true);
    let mut out = Vec::new();
    let with_token;
    let options = if auth::google::needs_token(model, options) {
        match google_token(options, cancel).await {
            Ok(token) => {
                with_token = StreamOptions { api_key: Some(token), ..options.clone() };
                &with_token
            }
            Err(e) => {
                decoder.fail(e, &mut out);
                let _ = queue.push_batch(&mut out).await;
                return queue.close();
            }
        }
    } else {
        options
    };
    if let Some(source) = auth::aws_process::pending(model, options, &auth::aws::process_env) {
        if let Err(e) = aws_process_credentials(source, options, cancel).await {
            decoder.fail(e, &mut out);
            let _ = queue.push_batch(&mut out).await;
            return queue.close();
        }
    }
    match providers::build_request(model, context, options) {
        Ok(request) => {
            let deadline = after(options.timeouts.total_ms);
            let mut io = Io { client, request: &request, options, cancel, queue, deadline };
            io.drive(&mut decoder, &mut out).await;
        }
        Err(e) => decoder.fail(e, &mut out),
    }
    // After an abandon the push fails, which is fine: nobody is listening.
    let _ = queue.push_batch(&mut out).await;
    queue.close();
}

/// A Vertex access token, under the request's cancellation and first-byte timeout.
async fn google_token(options: &StreamOptions, cancel: &CancellationToken) -> Result<String, LlmError> {
    let limit = Duration::from_millis(options.timeouts.first_byte_ms);
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(aborted()),
        r = tokio::time::timeout(limit, auth::google::access_token()) => r.unwrap_or_else(|_| {
            let msg = format!("no Google access token within {} (timeouts.first_byte_ms)", seconds(limit_ms(limit)));
            Err(LlmError::new(ErrorKind::Timeout, msg))
        }),
    }
}

/// The AWS profile's `credential_process` run (and cached), under the request's cancellation
/// and first-byte timeout.
async fn aws_process_credentials(
    source: auth::aws_process::ProcessSource,
    options: &StreamOptions,
    cancel: &CancellationToken,
) -> Result<(), LlmError> {
    let limit = Duration::from_millis(options.timeouts.first_byte_ms);
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(aborted()),
        r = auth::aws_process::refresh(source, limit) => r,
    }
}

fn limit_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `ms` from now; `None` when that is too far to represent (no deadline in practice).
fn after(ms: u64) -> Option<Instant> {
    Instant::now().checked_add(Duration::from_millis(ms))
}

/// Sleep until `deadline`, or forever without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `2 s`, `0.3 s`, `30 min`: timer values as users configured them.
fn seconds(ms: u64) -> String {
    if ms >= 120_000 && ms % 60_000 == 0 {
        format!("{} min", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        #[allow(clippy::cast_precision_loss)] // display only
        let s = ms as f64 / 1000.0;
        format!("{s} s")
    }
}

fn total_timeout(options: &StreamOptions) -> LlmError {
    let msg = format!(
        "the request did not finish within its total deadline of {} (timeouts.total_ms)",
        seconds(options.timeouts.total_ms)
    );
    LlmError::new(ErrorKind::Timeout, msg)
}

/// How one response body ended.
enum BodyEnd {
    /// A terminal event was emitted (or the consumer went away).
    Finished,
    /// The server reported an error before any content: a retry may replace it.
    EarlyError(LlmError),
}

/// What one request needs at every step.
struct Io<'a> {
    client: &'a HttpClient,
    request: &'a HttpRequest,
    options: &'a StreamOptions,
    cancel: &'a CancellationToken,
    queue: &'a EventQueue,
    /// The total deadline (`timeouts.total_ms`), across attempts.
    deadline: Option<Instant>,
}

impl Io<'_> {
    async fn drive(&mut self, decoder: &mut BodyDecoder, out: &mut Vec<StreamEvent>) {
        let mut attempt: u32 = 0;
        let mut started = false;
        loop {
            let error = match self.send().await {
                Ok(response) => {
                    if !started {
                        decoder.start(out);
                        started = true;
                    }
                    match self.stream_body(response, decoder, out).await {
                        BodyEnd::Finished => return,
                        // An error event before any content is retried like the status it
                        // stands for, with nothing of the failed body kept; anything else
                        // the server said ends the stream.
                        BodyEnd::EarlyError(e) if retry::is_retryable_stream_error(&e) => {
                            decoder.restart();
                            e
                        }
                        BodyEnd::EarlyError(e) => return decoder.fail(e, out),
                    }
                }
                Err(Attempt::Fatal(e)) => return decoder.fail(e, out),
                Err(Attempt::Retryable(e)) => e,
            };
            let delay = match retry::decide(&self.options.retry, attempt, error.retry_after_ms) {
                Decision::RetryAfter(d) => d,
                Decision::TooLong(d) => {
                    let message = format!(
                        "{} (the server asked to wait {} s, more than the {} s retry cap)",
                        error.message,
                        d.as_secs(),
                        self.options.retry.max_delay_ms / 1000
                    );
                    return decoder.fail(LlmError { message, ..error }, out);
                }
                Decision::GiveUp => return decoder.fail(error, out),
            };
            attempt += 1;
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            out.push(StreamEvent::Retry { attempt, delay_ms, error });
            if self.queue.push_batch(out).await.is_err() {
                return;
            }
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return decoder.fail(aborted(), out),
                () = until(self.deadline) => return decoder.fail(total_timeout(self.options), out),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Stream one accepted body through the decoder to its end.
    async fn stream_body(
        &self,
        response: reqwest::Response,
        decoder: &mut BodyDecoder,
        out: &mut Vec<StreamEvent>,
    ) -> BodyEnd {
        let idle_ms = self.options.timeouts.idle_ms;
        let idle = Duration::from_millis(idle_ms);
        // The timers and the cancellation waiter live for the whole body. Built afresh per
        // chunk (as `select!` does with inline futures), every event registered and removed
        // two timer entries and a waiter: at a paced stream's one event per wake-up, a
        // large share of the stream thread's work.
        let cancelled = self.cancel.cancelled();
        let total = until(self.deadline);
        tokio::pin!(cancelled, total);
        // The idle timer restarts only when bytes that carry events arrive: a server that
        // sends nothing but keep-alive comments is idle, however busy its socket. Events only
        // record when they came; the timer is moved when it fires early, so a steady stream
        // never touches it.
        let mut last_events = Instant::now();
        let mut idle_timer = after(idle_ms).map(|at| Box::pin(tokio::time::sleep_until(at)));
        let mut seen = decoder.event_bytes();
        let mut body = response.bytes_stream();
        loop {
            let idle_fired = async {
                match idle_timer.as_mut() {
                    Some(timer) => timer.as_mut().await,
                    None => std::future::pending().await,
                }
            };
            let next = tokio::select! {
                biased;
                () = &mut cancelled => return self.end(decoder, aborted(), out),
                () = &mut total => return self.end(decoder, total_timeout(self.options), out),
                () = idle_fired => None,
                next = body.next() => Some(next),
            };
            let Some(next) = next else {
                match last_events.checked_add(idle) {
                    Some(due) if due > Instant::now() => {
                        if let Some(timer) = idle_timer.as_mut() {
                            timer.as_mut().reset(due);
                        }
                        continue;
                    }
                    _ => {
                        let msg = format!(
                            "no event from the server for {} (timeouts.idle_ms; keep-alive comments do not count)",
                            seconds(idle_ms)
                        );
                        return self.end(decoder, LlmError::new(ErrorKind::Timeout, msg), out);
                    }
                }
            };
            let bytes = match next {
                None => {
                    decoder.finish(out);
                    return self.early_or_finished(decoder);
                }
                Some(Err(e)) => {
                    let msg = format!("the connection broke mid-stream: {}", error_chain(&e));
                    return self.end(decoder, LlmError::new(ErrorKind::Network, msg), out);
                }
                Some(Ok(bytes)) => bytes,
            };
            let finished = decoder.feed(&bytes, out);
            let carried_events = decoder.event_bytes() != seen;
            seen = decoder.event_bytes();
            if let BodyEnd::EarlyError(e) = self.early_or_finished(decoder) {
                return BodyEnd::EarlyError(e);
            }
            // Read the body's last bytes (the chunked terminator, normally already here)
            // before reporting the end, so the connection is back in the pool when the
            // caller's next request looks for one; a slow terminator is still read after.
            let drained = finished && tokio::time::timeout(DRAIN_BEFORE_END, read_to_end(&mut body)).await.is_ok();
            let pushed = tokio::select! {
                biased;
                () = &mut cancelled => return self.end(decoder, aborted(), out),
                pushed = self.queue.push_batch(out) => pushed,
            };
            if finished && !drained {
                let _ = tokio::time::timeout(DRAIN_AFTER_END, read_to_end(&mut body)).await;
            }
            if finished || pushed.is_err() {
                return BodyEnd::Finished;
            }
            // Restarted after the push, not on arrival: a caller slow to take events
            // (back-pressure) is not the server being silent.
            if carried_events {
                last_events = Instant::now();
            }
        }
    }

    fn early_or_finished(&self, decoder: &mut BodyDecoder) -> BodyEnd {
        decoder.take_early_error().map_or(BodyEnd::Finished, BodyEnd::EarlyError)
    }

    fn end(&self, decoder: &mut BodyDecoder, error: LlmError, out: &mut Vec<StreamEvent>) -> BodyEnd {
        decoder.fail(error, out);
        BodyEnd::Finished
    }

    /// Send the request and wait for a 2xx response's headers.
    async fn send(&self) -> Result<reqwest::Response, Attempt> {
        let (request, options) = (self.request, self.options);
        let mut builder = self.client.inner.post(&request.url).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let first_byte_ms = options.timeouts.first_byte_ms;
        let first_byte = Duration::from_millis(first_byte_ms);
        let result = tokio::select! {
            biased;
            () = self.cancel.cancelled() => return Err(Attempt::Fatal(aborted())),
            () = until(self.deadline) => return Err(Attempt::Fatal(total_timeout(options))),
            r = tokio::time::timeout(first_byte, builder.send()) => r,
        };
        let response = match result {
            Err(_) => {
                let msg =
                    format!("no response from the server within {} (timeouts.first_byte_ms)", seconds(first_byte_ms));
                return Err(Attempt::Retryable(LlmError::new(ErrorKind::Timeout, msg)));
            }
            Ok(Err(e)) if e.is_connect() && is_timeout(&e) => {
                let msg = format!(
                    "could not connect to {} within {} (timeouts.connect_ms)",
                    request.url,
                    seconds(options.timeouts.connect_ms)
                );
                return Err(Attempt::Retryable(LlmError::new(ErrorKind::Timeout, msg)));
            }
            Ok(Err(e)) if e.is_connect() && dns_failure(&e).is_some() => {
                // A name that does not resolve is a typo or no network: retrying it four
                // times only delays the answer. A resolver's own temporary failure is retried.
                let cause = dns_failure(&e).unwrap_or_default();
                let host = reqwest::Url::parse(&request.url).ok().and_then(|u| u.host_str().map(str::to_owned));
                let err = LlmError::new(
                    ErrorKind::Network,
                    format!("cannot resolve {} ({cause})", host.as_deref().unwrap_or(&request.url)),
                );
                let temporary = cause.contains("Temporary failure") || cause.contains("try again");
                return Err(if temporary { Attempt::Retryable(err) } else { Attempt::Fatal(err) });
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
        if response.status().is_redirection() {
            // Only a redirect to another origin gets here (see `HttpClient`): credentials
            // are never sent after it.
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| response.url().join(l).ok())
                .map_or_else(|| "an unnamed location".to_owned(), |u| u.origin().ascii_serialization());
            let msg = format!(
                "the server at {} redirected the request to {to} (HTTP {status}); skipjack does not follow a \
                 redirect to another host, which would hand it the API key: set the model's base_url to the new address",
                response.url().origin().ascii_serialization()
            );
            return Err(Attempt::Fatal(LlmError::new(ErrorKind::BadRequest, msg)));
        }
        let wait = retry::retry_after_ms(response.headers());
        let body = tokio::select! {
            biased;
            () = self.cancel.cancelled() => return Err(Attempt::Fatal(aborted())),
            body = read_capped(response, first_byte) => body,
        };
        let error = classify_http(status, &body, wait);
        if retry::is_retryable_status(status) && !(status == 429 && retry::is_quota_exhausted(&body)) {
            Err(Attempt::Retryable(error))
        } else {
            Err(Attempt::Fatal(error))
        }
    }
}

/// reqwest marks a connect timeout on the error or only on its cause, by version.
fn is_timeout(e: &reqwest::Error) -> bool {
    if e.is_timeout() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.to_string().to_ascii_lowercase().contains("timed out") {
            return true;
        }
        source = s.source();
    }
    false
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
/// The resolver's message when `e` is a name-resolution failure (hyper's `dns error: ...`).
fn dns_failure(e: &dyn std::error::Error) -> Option<String> {
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if let Some(rest) = text.strip_prefix("dns error") {
            // The resolver's words are either after the colon or in the next source.
            let rest = rest.trim_start_matches(':').trim();
            let inner = s.source().map(|i| i.to_string()).unwrap_or_default();
            let cause = if rest.is_empty() { inner.as_str() } else { rest };
            let cause = cause.strip_prefix("failed to lookup address information: ").unwrap_or(cause);
            return Some(cause.to_owned());
        }
        source = s.source();
    }
    None
}

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
