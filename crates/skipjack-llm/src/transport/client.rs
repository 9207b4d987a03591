//! The HTTP client: one per process in the Python binding, so keep-alive connections are
//! reused across requests.

use std::time::Duration;

use crate::error::{ErrorKind, LlmError};

#[derive(Debug, Clone)]
pub struct HttpClient {
    pub(crate) inner: reqwest::Client,
}

impl HttpClient {
    /// `connect_timeout` is per client (the pool's connections outlive any one request).
    pub fn new(connect_timeout: Duration) -> Result<Self, LlmError> {
        let inner = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .user_agent(concat!("skipjack/", env!("CARGO_PKG_VERSION")))
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| LlmError::new(ErrorKind::Network, format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { inner })
    }
}

/// Redirects are followed only within the origin the request was sent to. reqwest strips
/// `authorization` when a redirect leaves the host, but not `api-key` (Azure) or
/// `x-api-key` (Anthropic), so a server answering 307 to another host would otherwise
/// receive the key. A redirect elsewhere is not followed: the 3xx is reported as the error.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        let next = attempt.url();
        let same = first.scheme() == next.scheme()
            && first.host_str() == next.host_str()
            && first.port_or_known_default() == next.port_or_known_default();
        if !same || attempt.previous().len() > 5 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}
