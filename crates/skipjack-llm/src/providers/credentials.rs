//! Which header carries the credential of an OpenAI-style request (chat completions and
//! Responses). Decided here, in the one request path, so no caller can put a key in a
//! header the server does not expect.
//!
//! Azure OpenAI takes its resource key in `api-key` and answers 401 to the key sent as a
//! bearer token; an Entra ID token (`AZURE_OPENAI_AD_TOKEN`) goes in `Authorization: Bearer`.
//! Every other server takes the key as a bearer token.

use crate::model::{Model, StreamOptions};

/// Azure hosts serving OpenAI-style APIs: Azure OpenAI resources, the Foundry (AI Services)
/// endpoints and the older Cognitive Services ones.
const AZURE_HOST_SUFFIXES: [&str; 3] = [".openai.azure.com", ".services.ai.azure.com", ".cognitiveservices.azure.com"];

/// The model is reached through Azure: its provider is one of models.dev's Azure providers,
/// or its base URL is on an Azure host (a custom provider pointed at a resource).
#[must_use]
pub fn is_azure(model: &Model) -> bool {
    let provider = model.provider.to_ascii_lowercase();
    if provider == "azure" || provider.starts_with("azure-") {
        return true;
    }
    let host = reqwest::Url::parse(&model.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    AZURE_HOST_SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// Push the credential header: a bearer token when one is given, else the API key in the
/// header its server expects.
pub fn push_auth(model: &Model, options: &StreamOptions, headers: &mut Vec<(String, String)>) {
    if let Some(token) = options.bearer_token.as_deref().filter(|t| !t.is_empty()) {
        headers.push(("authorization".to_owned(), format!("Bearer {token}")));
    } else if let Some(key) = options.api_key.as_deref() {
        if is_azure(model) {
            headers.push(("api-key".to_owned(), key.to_owned()));
        } else {
            headers.push(("authorization".to_owned(), format!("Bearer {key}")));
        }
    }
}
