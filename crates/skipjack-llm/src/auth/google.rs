//! OAuth access tokens for Vertex AI from Application Default Credentials, via `gcp_auth`:
//! a service account JSON named by `GOOGLE_APPLICATION_CREDENTIALS`, else the gcloud user
//! credentials file, the metadata server, or the `gcloud` tool. Tokens live in memory only;
//! `gcp_auth` caches each one and fetches a new one shortly before it expires.

use std::sync::{Arc, Mutex, PoisonError};

use gcp_auth::{CustomServiceAccount, TokenProvider};

use crate::error::{ErrorKind, LlmError};
use crate::model::{Api, Model, StreamOptions};

const SCOPES: &[&str] = &["https://www.googleapis.com/auth/cloud-platform"];

/// One provider per credentials source, so its token cache outlives a request.
static PROVIDERS: Mutex<Vec<(String, Arc<dyn TokenProvider>)>> = Mutex::new(Vec::new());

/// Whether a request to `model` needs a token from Application Default Credentials: a
/// Vertex model for which the caller passed no token of its own.
#[must_use]
pub fn needs_token(model: &Model, options: &StreamOptions) -> bool {
    matches!(model.api, Api::GoogleVertex | Api::GoogleVertexAnthropic)
        && options.api_key.as_deref().is_none_or(str::is_empty)
}

fn auth_error(what: &str, e: &gcp_auth::Error) -> LlmError {
    let mut text = format!("{what}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    LlmError::new(ErrorKind::Auth, text)
}

async fn provider() -> Result<Arc<dyn TokenProvider>, LlmError> {
    // Keyed by the credentials file, so pointing the variable elsewhere takes effect.
    let key = std::env::var("GOOGLE_APPLICATION_CREDENTIALS").unwrap_or_default();
    {
        let cached = PROVIDERS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, p)) = cached.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(p));
        }
    }
    let made: Arc<dyn TokenProvider> = if key.is_empty() {
        gcp_auth::provider().await.map_err(|e| {
            auth_error(
                "no Google Application Default Credentials (set GOOGLE_APPLICATION_CREDENTIALS to a service \
                 account JSON, or run `gcloud auth application-default login`)",
                &e,
            )
        })?
    } else {
        let account = CustomServiceAccount::from_file(&key)
            .map_err(|e| auth_error(&format!("GOOGLE_APPLICATION_CREDENTIALS={key} is not usable"), &e))?;
        Arc::new(account)
    };
    let mut cached = PROVIDERS.lock().unwrap_or_else(PoisonError::into_inner);
    cached.retain(|(k, _)| *k != key);
    cached.push((key, Arc::clone(&made)));
    Ok(made)
}

/// A current access token (cached, or fetched when the cached one is about to expire).
pub async fn access_token() -> Result<String, LlmError> {
    let provider = provider().await?;
    let token = provider
        .token(SCOPES)
        .await
        .map_err(|e| auth_error("could not get a Google access token from Application Default Credentials", &e))?;
    Ok(token.as_str().to_owned())
}
