//! A server redirecting a request elsewhere never receives the key there: reqwest strips
//! `authorization` on a cross-host redirect but not `api-key` (Azure) or `x-api-key`
//! (Anthropic), so the client follows redirects only within the origin it was sent to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skipjack_llm::model::{RetryPolicy, Timeouts};
use skipjack_llm::transport::queue::EventQueue;
use skipjack_llm::transport::{self, HttpClient};
use skipjack_llm::{Api, Context, ErrorKind, Model, StreamEvent, StreamOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const SSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

/// Request heads a server received, lowercased.
type Seen = Arc<Mutex<Vec<String>>>;

/// The raw response to a request for a path.
type Answer = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// A loopback server answering each request with `answer(path)`.
async fn serve(answer: Answer) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (log, answer) = (Arc::clone(&log), Arc::clone(&answer));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    log.lock().unwrap().push(head);
                    let _ = sock.write_all(&answer(&path)).await;
                    return;
                }
            });
        }
    });
    (addr, seen)
}

fn redirect_to(location: String) -> Answer {
    Arc::new(move |_| {
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        .into_bytes()
    })
}

fn model(provider: &str, base_url: String) -> Model {
    Model {
        provider: provider.into(),
        id: "m".into(),
        api: Api::OpenAiChat,
        base_url,
        name: None,
        context_window: 0,
        max_input: 0,
        max_output: 0,
        price: None,
        tiers: Vec::new(),
        reasoning: false,
        images: false,
        api_key_env: None,
        headers: BTreeMap::new(),
    }
}

async fn run(model: &Model) -> Vec<StreamEvent> {
    let options = StreamOptions {
        api_key: Some("SECRET-KEY-1".into()),
        retry: RetryPolicy { max_retries: 2, base_delay_ms: 10, max_delay_ms: 100 },
        timeouts: Timeouts { connect_ms: 2_000, first_byte_ms: 5_000, idle_ms: 5_000, total_ms: 20_000 },
        ..StreamOptions::default()
    };
    let client = HttpClient::new(Duration::from_secs(2)).unwrap();
    let queue = Arc::new(EventQueue::new(1 << 20));
    let context: Context =
        serde_json::from_value(serde_json::json!({"messages": [{"role": "user", "content": "hi"}]})).unwrap();
    let task = {
        let (model, queue) = (model.clone(), Arc::clone(&queue));
        tokio::spawn(async move {
            transport::run(&client, &model, &context, &options, &CancellationToken::new(), &queue).await;
        })
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
    events
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_the_key_stays_home() {
    let (other, other_seen) = serve(Arc::new(|_| SSE.to_vec())).await;
    // Another port and another spelling of loopback are both another origin.
    for target in [format!("http://{other}/v1/chat/completions"), format!("http://localhost:{}/v1/x", other.port())] {
        for provider in ["azure", "openai", "test"] {
            let (first, first_seen) = serve(redirect_to(target.clone())).await;
            let events = run(&model(provider, format!("http://{first}/v1"))).await;
            let Some(StreamEvent::Error { error, .. }) = events.last() else { panic!("{events:?}") };
            assert_eq!(error.kind, ErrorKind::BadRequest, "{error:?}");
            assert!(error.message.contains("redirected the request to"), "{}", error.message);
            assert!(!error.message.contains("SECRET"), "{}", error.message);
            // Asked once (a redirect is not retried), with the key; never forwarded.
            let heads = first_seen.lock().unwrap().clone();
            assert_eq!(heads.len(), 1);
            assert!(heads[0].contains("secret-key-1"));
            assert!(other_seen.lock().unwrap().is_empty(), "{provider}: the other host got a request");
        }
    }
}

#[tokio::test]
async fn a_redirect_within_the_same_origin_is_followed() {
    let (addr, seen) = serve(Arc::new(|path| {
        if path.starts_with("/old/") {
            b"HTTP/1.1 308 Permanent Redirect\r\nlocation: /new/chat/completions\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                .to_vec()
        } else {
            SSE.to_vec()
        }
    }))
    .await;
    let events = run(&model("azure", format!("http://{addr}/old"))).await;
    assert!(matches!(events.last(), Some(StreamEvent::Done { .. })), "{events:?}");
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    assert!(heads[1].starts_with("post /new/chat/completions"), "{}", heads[1]);
    assert!(heads[1].contains("api-key: secret-key-1"), "{}", heads[1]);
}
