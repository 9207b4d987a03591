//! The transport against hostile loopback servers: endless lines, endless text and
//! arguments, keep-alives forever, error events in a 200 body, and a black-holed address.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use skipjack_llm::model::{Limits, RetryPolicy, Timeouts};
use skipjack_llm::transport::queue::EventQueue;
use skipjack_llm::transport::{self, HttpClient};
use skipjack_llm::{Api, AssistantMessage, Context, ErrorKind, LlmError, Model, Price, StreamEvent, StreamOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";

fn model(api: Api, addr: SocketAddr) -> Model {
    Model {
        provider: "test".into(),
        id: "m".into(),
        api,
        base_url: format!("http://{addr}"),
        name: None,
        context_window: 0,
        max_output: 0,
        price: Some(Price::default()),
        reasoning: false,
        images: false,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

fn options() -> StreamOptions {
    StreamOptions {
        retry: RetryPolicy { max_retries: 2, base_delay_ms: 10, max_delay_ms: 100 },
        timeouts: Timeouts { connect_ms: 2_000, first_byte_ms: 5_000, idle_ms: 5_000, total_ms: 20_000 },
        ..StreamOptions::default()
    }
}

/// What a scripted connection does after reading the request head.
type Script = Arc<dyn Fn(TcpStream, usize) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

/// A loopback server running `script` for each connection (numbered from 0); returns its
/// address and the count of connections accepted.
async fn serve(script: Script) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let script = Arc::clone(&script);
            tokio::spawn(async move {
                read_request(&mut sock).await;
                script(sock, n).await;
            });
        }
    });
    (addr, count)
}

/// Read the request head and its `content-length` body so the client sees it consumed.
async fn read_request(sock: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Ok(n) = sock.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return;
            }
        }
    }
}

fn body(parts: Vec<Vec<u8>>) -> Script {
    let parts = Arc::new(parts);
    Arc::new(move |mut sock, _| {
        let parts = Arc::clone(&parts);
        Box::pin(async move {
            let _ = sock.write_all(HEAD).await;
            for p in parts.iter() {
                if sock.write_all(p).await.is_err() {
                    return;
                }
            }
        })
    })
}

async fn run(model: &Model, options: &StreamOptions) -> (Vec<StreamEvent>, Duration) {
    run_with(&HttpClient::new(Duration::from_millis(options.timeouts.connect_ms)).unwrap(), model, options).await
}

async fn run_with(client: &HttpClient, model: &Model, options: &StreamOptions) -> (Vec<StreamEvent>, Duration) {
    let queue = Arc::new(EventQueue::new(1 << 20));
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let context: Context =
        serde_json::from_value(serde_json::json!({"messages": [{"role": "user", "content": "hi"}]})).unwrap();
    let task = {
        let (client, model, options, queue) = (client.clone(), model.clone(), options.clone(), Arc::clone(&queue));
        tokio::spawn(async move { transport::run(&client, &model, &context, &options, &cancel, &queue).await })
    };
    let mut events = Vec::new();
    loop {
        queue.readable().await;
        events.extend(queue.drain());
        if queue.is_finished() {
            break;
        }
    }
    task.await.unwrap();
    (events, started.elapsed())
}

fn terminal(events: &[StreamEvent]) -> (&AssistantMessage, Option<&LlmError>) {
    match events.last() {
        Some(StreamEvent::Done { message }) => (message, None),
        Some(StreamEvent::Error { message, error }) => (message, Some(error)),
        other => panic!("no terminal event: {other:?}"),
    }
}

fn text(m: &AssistantMessage) -> String {
    m.content
        .iter()
        .filter_map(|c| match c {
            skipjack_llm::message::AssistantContent::Text(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect()
}

fn chat_text(s: &str) -> Vec<u8> {
    let chunk = serde_json::json!({"choices":[{"index":0,"delta":{"content":s}}]});
    format!("data: {chunk}\n\n").into_bytes()
}

const CHAT_END: &[u8] =
    b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

/// A script that writes `head` then `unit` until the client hangs up (or `max` bytes).
fn endless(head: Vec<u8>, unit: Vec<u8>, every: Duration, max: usize) -> Script {
    Arc::new(move |mut sock, _| {
        let (head, unit) = (head.clone(), unit.clone());
        Box::pin(async move {
            let _ = sock.write_all(HEAD).await;
            if sock.write_all(&head).await.is_err() {
                return;
            }
            let mut sent = 0;
            while sent < max {
                if sock.write_all(&unit).await.is_err() {
                    return;
                }
                sent += unit.len();
                if !every.is_zero() {
                    tokio::time::sleep(every).await;
                }
            }
        })
    })
}

#[tokio::test]
async fn a_line_without_an_end_stops_at_the_event_cap() {
    // 256 MiB offered; a 1 MiB cap must end the stream long before.
    let script = endless(b"data: ".to_vec(), vec![b'x'; 64 * 1024], Duration::ZERO, 256 << 20);
    let (addr, _) = serve(script).await;
    let opts = StreamOptions { limits: Limits { max_event_bytes: 1 << 20, ..Limits::default() }, ..options() };
    let (events, elapsed) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let (_, error) = terminal(&events);
    let error = error.expect("an error");
    assert_eq!(error.kind, ErrorKind::InvalidResponse);
    assert!(error.message.contains("1 MiB") && error.message.contains("limits.max_event_bytes"), "{}", error.message);
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn many_data_lines_in_one_event_stop_at_the_event_cap() {
    // Short lines, never a blank one: the joined data is what grows.
    let script = endless(Vec::new(), b"data: 0123456789abcdef\n".to_vec(), Duration::ZERO, 64 << 20);
    let (addr, _) = serve(script).await;
    let opts = StreamOptions { limits: Limits { max_event_bytes: 256 * 1024, ..Limits::default() }, ..options() };
    let (events, _) = run(&model(Api::AnthropicMessages, addr), &opts).await;
    let error = terminal(&events).1.expect("an error");
    assert!(error.message.contains("limits.max_event_bytes"), "{}", error.message);
}

#[tokio::test]
async fn text_past_the_cap_ends_the_stream_keeping_what_fits() {
    let script = endless(Vec::new(), chat_text(&"y".repeat(1000)), Duration::ZERO, 64 << 20);
    let (addr, _) = serve(script).await;
    let opts = StreamOptions { limits: Limits { max_message_bytes: 100_000, ..Limits::default() }, ..options() };
    let (events, _) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let (message, error) = terminal(&events);
    let error = error.expect("an error");
    assert_eq!(error.kind, ErrorKind::InvalidResponse);
    assert!(
        error.message.contains("content") && error.message.contains("limits.max_message_bytes"),
        "{}",
        error.message
    );
    assert_eq!(text(message).len(), 100_000, "every delta that fits is kept, none past the cap");
}

#[tokio::test]
async fn thinking_counts_against_the_text_cap_too() {
    let start = b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n";
    let unit = format!(
        "data: {}\n\n",
        serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"z".repeat(500)}})
    );
    let (addr, _) = serve(endless(start.to_vec(), unit.into_bytes(), Duration::ZERO, 64 << 20)).await;
    let opts = StreamOptions { limits: Limits { max_message_bytes: 20_000, ..Limits::default() }, ..options() };
    let (events, _) = run(&model(Api::AnthropicMessages, addr), &opts).await;
    assert!(terminal(&events).1.expect("an error").message.contains("limits.max_message_bytes"));
}

#[tokio::test]
async fn tool_arguments_past_the_cap_end_the_stream() {
    let start = serde_json::json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"write","arguments":"{\"content\":\""}}]}}]});
    let unit = serde_json::json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"a".repeat(1000)}}]}}]});
    let script = endless(
        format!("data: {start}\n\n").into_bytes(),
        format!("data: {unit}\n\n").into_bytes(),
        Duration::ZERO,
        64 << 20,
    );
    let (addr, _) = serve(script).await;
    let opts = StreamOptions { limits: Limits { max_tool_args_bytes: 50_000, ..Limits::default() }, ..options() };
    let (events, _) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let error = terminal(&events).1.expect("an error");
    assert_eq!(error.kind, ErrorKind::InvalidResponse);
    assert!(
        error.message.contains("arguments") && error.message.contains("limits.max_tool_args_bytes"),
        "{}",
        error.message
    );
    let streamed: usize = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallDelta { delta, .. } => Some(delta.len()),
            _ => None,
        })
        .sum();
    assert!(streamed <= 50_000, "{streamed}");
}

#[tokio::test]
async fn many_calls_each_under_their_cap_cannot_add_up_past_the_message_cap() {
    // Every call's arguments fit `max_tool_args_bytes`; together they must not pass the message's.
    let mut n = 0u64;
    let mut parts = Vec::new();
    while parts.len() < 400 {
        let c = serde_json::json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":n,"id":format!("c{n}"),"type":"function","function":{"name":"read","arguments":"b".repeat(1000)}}]}}]});
        parts.push(format!("data: {c}\n\n").into_bytes());
        n += 1;
    }
    let (addr, _) = serve(body(parts)).await;
    let opts = StreamOptions {
        limits: Limits { max_message_bytes: 100_000, max_tool_args_bytes: 2_000, ..Limits::default() },
        ..options()
    };
    let (events, _) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let error = terminal(&events).1.expect("an error");
    assert!(error.message.contains("limits.max_message_bytes"), "{}", error.message);
}

#[tokio::test]
async fn redacted_thinking_blocks_count_against_the_message_cap() {
    let unit = format!(
        "data: {}\n\n",
        serde_json::json!({"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"r".repeat(5000)}})
    );
    let (addr, _) = serve(endless(Vec::new(), unit.into_bytes(), Duration::ZERO, 64 << 20)).await;
    let opts = StreamOptions { limits: Limits { max_message_bytes: 200_000, ..Limits::default() }, ..options() };
    let (events, _) = run(&model(Api::AnthropicMessages, addr), &opts).await;
    assert!(terminal(&events).1.expect("an error").message.contains("limits.max_message_bytes"));
}

#[tokio::test]
async fn empty_blocks_opened_forever_stop_at_the_block_cap() {
    let (addr, _) = serve(endless(
        Vec::new(),
        b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
          data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            .to_vec(),
        Duration::ZERO,
        256 << 20,
    ))
    .await;
    let (events, elapsed) = run(&model(Api::AnthropicMessages, addr), &options()).await;
    let (message, error) = terminal(&events);
    assert!(error.expect("an error").message.contains("content blocks"));
    assert_eq!(message.content.len(), skipjack_llm::assembler::MAX_BLOCKS);
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
}

#[tokio::test]
async fn a_large_but_allowed_stream_still_completes() {
    let mut parts: Vec<Vec<u8>> = (0..100).map(|_| chat_text(&"w".repeat(10_000))).collect();
    parts.push(CHAT_END.to_vec());
    let (addr, _) = serve(body(parts)).await;
    let opts = StreamOptions {
        limits: Limits { max_message_bytes: 1_000_000, max_event_bytes: 10_100, ..Limits::default() },
        ..options()
    };
    let (events, _) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let (message, error) = terminal(&events);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text(message).len(), 1_000_000, "exactly at the cap is allowed");
}

/// Keep-alive shapes that carry no event: each alone must not hold the idle timer off.
#[tokio::test]
async fn keep_alives_do_not_reset_the_idle_timer() {
    for unit in [
        &b": keep-alive\n\n"[..],
        b"\n",
        b"\r\n",
        b":\r\n",
        b": ping\r",
        b"retry: 1000\n",
        b"   \n",
        b"event: ping\n\n",
        b"id: 7\n\n",
    ] {
        let script = endless(chat_text("before "), unit.to_vec(), Duration::from_millis(50), usize::MAX);
        let (addr, _) = serve(script).await;
        let opts =
            StreamOptions { timeouts: Timeouts { idle_ms: 400, total_ms: 20_000, ..options().timeouts }, ..options() };
        let (events, elapsed) = run(&model(Api::OpenAiChat, addr), &opts).await;
        let (message, error) = terminal(&events);
        let error = error.expect("an error");
        assert_eq!(error.kind, ErrorKind::Timeout, "{unit:?}");
        assert!(error.message.contains("timeouts.idle_ms"), "{}", error.message);
        assert_eq!(text(message), "before ", "the partial message is kept");
        assert!(elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(3), "{unit:?}: {elapsed:?}");
    }
}

#[tokio::test]
async fn events_trickling_forever_end_at_the_total_deadline() {
    let script = endless(Vec::new(), chat_text("."), Duration::from_millis(50), usize::MAX);
    let (addr, _) = serve(script).await;
    let opts =
        StreamOptions { timeouts: Timeouts { idle_ms: 400, total_ms: 1_200, ..options().timeouts }, ..options() };
    let (events, elapsed) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let (message, error) = terminal(&events);
    let error = error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(error.message.contains("timeouts.total_ms"), "{}", error.message);
    assert!(!text(message).is_empty());
    assert!(elapsed >= Duration::from_millis(1_200) && elapsed < Duration::from_millis(3_000), "{elapsed:?}");
}

#[tokio::test]
async fn a_slow_large_event_is_progress_for_the_idle_timer() {
    // One event's data line arriving in pieces 100 ms apart, for longer than the idle timer.
    let mut parts = vec![b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"".to_vec()];
    parts.extend((0..8).map(|_| b"aaaaaaaaaa".to_vec()));
    parts.push(b"\"}}]}\n\n".to_vec());
    parts.push(CHAT_END.to_vec());
    let parts = Arc::new(parts);
    let script: Script = Arc::new(move |mut sock, _| {
        let parts = Arc::clone(&parts);
        Box::pin(async move {
            let _ = sock.write_all(HEAD).await;
            for p in parts.iter() {
                let _ = sock.write_all(p).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let (addr, _) = serve(script).await;
    let opts = StreamOptions { timeouts: Timeouts { idle_ms: 300, ..options().timeouts }, ..options() };
    let (events, _) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let (message, error) = terminal(&events);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text(message).len(), 80);
}

/// The idle timer is set once per body and moved only when it fires early, so it must
/// count from the last event, not from the start of the body or the previous timer.
#[tokio::test]
async fn the_idle_timer_counts_from_the_last_event() {
    let script: Script = Arc::new(|mut sock, _| {
        Box::pin(async move {
            let _ = sock.write_all(HEAD).await;
            // Seven events 100 ms apart (the last at 600 ms), then silence on an open socket.
            for _ in 0..7 {
                if sock.write_all(&chat_text(".")).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        })
    });
    let (addr, _) = serve(script).await;
    let opts = StreamOptions { timeouts: Timeouts { idle_ms: 300, ..options().timeouts }, ..options() };
    let (events, elapsed) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let (message, error) = terminal(&events);
    let error = error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(error.message.contains("timeouts.idle_ms"), "{}", error.message);
    assert_eq!(text(message), ".......", "every event before the silence is kept");
    // 600 ms of events, then 300 ms of silence: neither 300 ms from the start nor a whole
    // extra idle period late.
    assert!(elapsed >= Duration::from_millis(850) && elapsed < Duration::from_millis(1_500), "{elapsed:?}");
}

#[tokio::test]
async fn the_total_deadline_bounds_retries_and_their_waits() {
    let script: Script = Arc::new(|mut sock, _| {
        Box::pin(async move {
            let _ = sock
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\n\r\n")
                .await;
        })
    });
    let (addr, _) = serve(script).await;
    let opts = StreamOptions {
        retry: RetryPolicy { max_retries: 50, base_delay_ms: 10, max_delay_ms: 10_000 },
        timeouts: Timeouts { total_ms: 1_500, ..options().timeouts },
        ..options()
    };
    let (events, elapsed) = run(&model(Api::OpenAiChat, addr), &opts).await;
    let error = terminal(&events).1.expect("an error");
    assert!(error.message.contains("timeouts.total_ms"), "{}", error.message);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

const ANTHROPIC_OK: &[u8] = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"recovered\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

fn anthropic_error(kind: &str) -> Vec<u8> {
    format!(
        "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"{kind}\",\"message\":\"try later\"}}}}\n\n"
    )
    .into_bytes()
}

/// Connection `n` gets `bodies[n]` (the last one repeats).
fn per_connection(bodies: Vec<Vec<u8>>) -> Script {
    let bodies = Arc::new(bodies);
    Arc::new(move |mut sock, n| {
        let bodies = Arc::clone(&bodies);
        Box::pin(async move {
            let b = &bodies[n.min(bodies.len() - 1)];
            let _ = sock.write_all(HEAD).await;
            let _ = sock.write_all(b).await;
        })
    })
}

fn retries(events: &[StreamEvent]) -> Vec<(u32, Option<u16>)> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Retry { attempt, error, .. } => Some((*attempt, error.status)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_first_event_error_is_retried_then_succeeds() {
    for (kind, status) in [("overloaded_error", 529), ("rate_limit_error", 429), ("api_error", 500)] {
        // A message_start before the error is not content: still retried.
        let first = [
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m0\"}}\n\n".to_vec(),
            anthropic_error(kind),
        ]
        .concat();
        let (addr, count) = serve(per_connection(vec![first, ANTHROPIC_OK.to_vec()])).await;
        let (events, _) = run(&model(Api::AnthropicMessages, addr), &options()).await;
        let (message, error) = terminal(&events);
        assert!(error.is_none(), "{kind}: {error:?}");
        assert_eq!(text(message), "recovered");
        assert_eq!(retries(&events), vec![(1, Some(status))], "{kind}");
        assert_eq!(count.load(Ordering::SeqCst), 2);
        assert_eq!(events.iter().filter(|e| matches!(e, StreamEvent::Start)).count(), 1, "one start");
        assert_eq!(message.response_id.as_deref(), Some("msg_1"), "nothing of the failed attempt is kept");
    }
}

#[tokio::test]
async fn an_openai_error_chunk_with_a_retryable_code_is_retried() {
    let ok = [chat_text("recovered"), CHAT_END.to_vec()].concat();
    for first in [
        &b"data: {\"error\":{\"message\":\"Rate limit reached\",\"code\":429}}\n\n"[..],
        b"data: {\"error\":{\"message\":\"upstream busy\",\"code\":\"503\"}}\n\n",
        b"data: {\"error\":{\"message\":\"busy\",\"type\":\"server_error\"}}\n\n",
        b"event: error\ndata: {\"error\":{\"message\":\"overloaded\",\"code\":\"overloaded\"}}\n\n",
        b": OPENROUTER PROCESSING\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":\"error\"}],\"error\":{\"message\":\"x\",\"code\":502}}\n\n",
    ] {
        let (addr, count) = serve(per_connection(vec![first.to_vec(), ok.clone()])).await;
        let (events, _) = run(&model(Api::OpenAiChat, addr), &options()).await;
        let (message, error) = terminal(&events);
        assert!(error.is_none(), "{}: {error:?}", String::from_utf8_lossy(first));
        assert_eq!(text(message), "recovered");
        assert_eq!(retries(&events).len(), 1);
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn an_error_event_after_content_is_not_retried() {
    let text_then_error = [
        b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".to_vec(),
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"partial\"}}\n\n".to_vec(),
        anthropic_error("overloaded_error"),
    ]
    .concat();
    let (addr, count) = serve(per_connection(vec![text_then_error, ANTHROPIC_OK.to_vec()])).await;
    let (events, _) = run(&model(Api::AnthropicMessages, addr), &options()).await;
    let (message, error) = terminal(&events);
    assert_eq!(error.expect("an error").kind, ErrorKind::Server);
    assert_eq!(text(message), "partial");
    assert!(retries(&events).is_empty());
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // A tool call already started is content too.
    let tool_then_error =
        [chat_tool_start(), b"data: {\"error\":{\"message\":\"busy\",\"code\":503}}\n\n".to_vec()].concat();
    let (addr, count) = serve(per_connection(vec![tool_then_error, CHAT_END.to_vec()])).await;
    let (events, _) = run(&model(Api::OpenAiChat, addr), &options()).await;
    assert!(terminal(&events).1.is_some());
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

fn chat_tool_start() -> Vec<u8> {
    let c = serde_json::json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"read","arguments":""}}]}}]});
    format!("data: {c}\n\n").into_bytes()
}

#[tokio::test]
async fn an_early_error_that_would_not_be_retried_as_a_status_is_not() {
    let bodies = [
        (Api::AnthropicMessages, anthropic_error("invalid_request_error"), ErrorKind::BadRequest),
        (Api::AnthropicMessages, anthropic_error("authentication_error"), ErrorKind::Auth),
        (
            Api::OpenAiChat,
            b"data: {\"error\":{\"message\":\"bad tool schema\",\"code\":400}}\n\n".to_vec(),
            ErrorKind::Server,
        ),
        (
            Api::OpenAiChat,
            b"data: {\"error\":{\"message\":\"You exceeded your current quota, check your billing\",\"code\":429}}\n\n"
                .to_vec(),
            ErrorKind::RateLimited,
        ),
        (Api::OpenAiChat, b"data: {\"error\":{\"message\":\"something odd\"}}\n\n".to_vec(), ErrorKind::Server),
    ];
    for (api, first, kind) in bodies {
        let (addr, count) = serve(per_connection(vec![first.clone(), ANTHROPIC_OK.to_vec()])).await;
        let (events, _) = run(&model(api, addr), &options()).await;
        let error = terminal(&events).1.expect("an error");
        assert_eq!(error.kind, kind, "{}", String::from_utf8_lossy(&first));
        assert!(retries(&events).is_empty());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn first_event_errors_give_up_after_the_retry_limit() {
    let (addr, count) = serve(per_connection(vec![anthropic_error("overloaded_error")])).await;
    let (events, _) = run(&model(Api::AnthropicMessages, addr), &options()).await;
    let error = terminal(&events).1.expect("an error");
    assert_eq!(error.kind, ErrorKind::Server);
    assert!(error.message.contains("overloaded_error"));
    assert_eq!(retries(&events).iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

/// A listener whose accept queue is full and never drained: a connect to it hangs like one
/// to an address that drops SYNs. Returns the listener and the connections filling it.
async fn black_hole() -> (TcpListener, Vec<TcpStream>, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    // The smallest backlog, so a couple of connects fill the queue.
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fill = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            fill.push(s);
        }
    }
    (listener, fill, addr)
}

#[tokio::test]
async fn the_connect_timeout_is_honoured_against_a_black_hole() {
    let (_listener, _fill, addr) = black_hole().await;
    for connect_ms in [300u64, 900] {
        let opts = StreamOptions {
            retry: RetryPolicy { max_retries: 0, ..options().retry },
            timeouts: Timeouts { connect_ms, ..options().timeouts },
            ..options()
        };
        let (events, elapsed) = run(&model(Api::OpenAiChat, addr), &opts).await;
        let error = terminal(&events).1.expect("an error");
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(error.message.contains("timeouts.connect_ms"), "{}", error.message);
        let ms = u64::try_from(elapsed.as_millis()).unwrap();
        assert!(ms >= connect_ms && ms < connect_ms + 700, "connect_ms {connect_ms}: took {ms} ms");
    }
}

#[tokio::test]
async fn a_slow_caller_is_not_a_silent_server() {
    // The server sends everything at once; the caller takes events far slower than the idle
    // timer. Back-pressure holds the reads, and that wait must not count as server silence.
    let mut parts: Vec<Vec<u8>> = (0..6).map(|i| chat_text(&format!("{i}"))).collect();
    parts.push(CHAT_END.to_vec());
    let parts = Arc::new(parts);
    let script: Script = Arc::new(move |mut sock, _| {
        let parts = Arc::clone(&parts);
        Box::pin(async move {
            let _ = sock.write_all(HEAD).await;
            for p in parts.iter() {
                let _ = sock.write_all(p).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    });
    let (addr, _) = serve(script).await;
    let opts = StreamOptions { timeouts: Timeouts { idle_ms: 200, ..options().timeouts }, ..options() };
    let queue = Arc::new(EventQueue::new(1));
    let task = {
        let (client, model, queue) =
            (HttpClient::new(Duration::from_secs(2)).unwrap(), model(Api::OpenAiChat, addr), Arc::clone(&queue));
        let context: Context =
            serde_json::from_value(serde_json::json!({"messages": [{"role": "user", "content": "hi"}]})).unwrap();
        tokio::spawn(async move {
            transport::run(&client, &model, &context, &opts, &CancellationToken::new(), &queue).await;
        })
    };
    let mut events = Vec::new();
    loop {
        queue.readable().await;
        events.extend(queue.drain());
        if queue.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(350)).await;
    }
    task.await.unwrap();
    let (message, error) = terminal(&events);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text(message), "012345");
}

#[tokio::test]
async fn nothing_of_a_retried_body_survives_into_a_later_failure() {
    let first = [
        b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m0\",\"usage\":{\"input_tokens\":7}}}\n\n"
            .to_vec(),
        anthropic_error("overloaded_error"),
    ]
    .concat();
    let first = Arc::new(first);
    let script: Script = Arc::new(move |mut sock, n| {
        let first = Arc::clone(&first);
        Box::pin(async move {
            if n == 0 {
                let _ = sock.write_all(HEAD).await;
                let _ = sock.write_all(&first).await;
            } else {
                let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}").await;
            }
        })
    });
    let (addr, count) = serve(script).await;
    let (events, _) = run(&model(Api::AnthropicMessages, addr), &options()).await;
    let (message, error) = terminal(&events);
    assert_eq!(error.expect("an error").status, Some(400));
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(message.response_id, None, "the retried body's message_start is forgotten");
    assert_eq!(message.usage.input, 0);
}
