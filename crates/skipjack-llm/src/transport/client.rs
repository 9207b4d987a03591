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
            .build()
            .map_err(|e| LlmError::new(ErrorKind::Network, format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { inner })
    }
}
