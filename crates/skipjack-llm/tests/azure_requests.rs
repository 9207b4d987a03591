//! Azure OpenAI: the credential header is chosen in the request builder for both OpenAI wire
//! APIs: the resource key in `api-key` (Azure answers 401 to it as a bearer token), an
//! Entra ID token as `Authorization: Bearer`, and never both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use skipjack_llm::message::{Context, InputContent, Message, UserMessage};
use skipjack_llm::providers::{build_request, HttpRequest};
use skipjack_llm::{Api, Model, StreamOptions};

use common::openai_chat::model;

fn azure(provider: &str, api: Api) -> Model {
    Model {
        provider: provider.into(),
        id: "my-gpt5-deployment".into(),
        api,
        base_url: "https://contoso.openai.azure.com/openai/v1".into(),
        reasoning: true,
        ..model()
    }
}

fn context() -> Context {
    Context {
        messages: vec![Message::User(UserMessage { content: vec![InputContent::text("hi")], timestamp: 0 })],
        ..Context::default()
    }
}

fn key(k: &str) -> StreamOptions {
    StreamOptions { api_key: Some(k.into()), ..StreamOptions::default() }
}

/// Header names lowercased, values as sent.
fn auth_headers(r: &HttpRequest) -> Vec<(String, String)> {
    r.headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| n == "api-key" || n == "authorization" || n == "x-api-key")
        .collect()
}

#[test]
fn the_key_goes_in_api_key_on_both_wire_apis_with_the_deployment_as_model() {
    for (api, path) in [(Api::OpenAiChat, "chat/completions"), (Api::OpenAiResponses, "responses")] {
        for provider in ["azure", "azure-cognitive-services", "Azure"] {
            let r = build_request(&azure(provider, api), &context(), &key("k-123")).unwrap();
            assert_eq!(r.url, format!("https://contoso.openai.azure.com/openai/v1/{path}"));
            assert_eq!(auth_headers(&r), vec![("api-key".to_owned(), "k-123".to_owned())], "{provider} {api:?}");
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["model"], "my-gpt5-deployment");
        }
    }
}

#[test]
fn an_azure_host_is_recognised_whatever_the_provider_is_called() {
    for host in ["contoso.openai.azure.com", "contoso.services.ai.azure.com", "CONTOSO.cognitiveservices.azure.com"] {
        let m = Model {
            provider: "work".into(),
            base_url: format!("https://{host}/openai/v1"),
            ..azure("x", Api::OpenAiChat)
        };
        let r = build_request(&m, &context(), &key("k")).unwrap();
        assert_eq!(auth_headers(&r), vec![("api-key".to_owned(), "k".to_owned())], "{host}");
    }
    // Look-alike hosts are not Azure: the key goes as a bearer token, as to any server.
    for host in ["openai.azure.com.evil.example", "evil-openai.azure.com.example", "azure.com"] {
        let m =
            Model { provider: "work".into(), base_url: format!("https://{host}/v1"), ..azure("x", Api::OpenAiChat) };
        let r = build_request(&m, &context(), &key("k")).unwrap();
        assert_eq!(auth_headers(&r), vec![("authorization".to_owned(), "Bearer k".to_owned())], "{host}");
    }
}

#[test]
fn an_entra_id_token_is_a_bearer_token_and_replaces_the_key() {
    for api in [Api::OpenAiChat, Api::OpenAiResponses] {
        let options = StreamOptions { bearer_token: Some("eyJ0eXAi".into()), ..key("k-123") };
        let r = build_request(&azure("azure", api), &context(), &options).unwrap();
        assert_eq!(auth_headers(&r), vec![("authorization".to_owned(), "Bearer eyJ0eXAi".to_owned())]);
        let r = build_request(&azure("azure", api), &context(), &StreamOptions { api_key: None, ..options }).unwrap();
        assert_eq!(auth_headers(&r), vec![("authorization".to_owned(), "Bearer eyJ0eXAi".to_owned())]);
        // An empty token is no token.
        let empty = StreamOptions { bearer_token: Some(String::new()), ..key("k-123") };
        let r = build_request(&azure("azure", api), &context(), &empty).unwrap();
        assert_eq!(auth_headers(&r), vec![("api-key".to_owned(), "k-123".to_owned())]);
    }
}

#[test]
fn openai_itself_keeps_the_bearer_key() {
    let m = Model {
        provider: "openai".into(),
        base_url: "https://api.openai.com/v1".into(),
        ..azure("x", Api::OpenAiResponses)
    };
    let r = build_request(&m, &context(), &key("sk-1")).unwrap();
    assert_eq!(auth_headers(&r), vec![("authorization".to_owned(), "Bearer sk-1".to_owned())]);
}

#[test]
fn a_base_url_override_keeps_the_key_on_that_host_only() {
    // A user pointing Azure at a gateway: the key goes to the gateway's URL and nowhere else
    // in the request (no header names another host, the URL is the override's).
    let m = Model { base_url: "http://127.0.0.1:9/azure/openai/v1".into(), ..azure("azure", Api::OpenAiResponses) };
    let r = build_request(&m, &context(), &key("k-123")).unwrap();
    assert_eq!(r.url, "http://127.0.0.1:9/azure/openai/v1/responses");
    assert_eq!(auth_headers(&r), vec![("api-key".to_owned(), "k-123".to_owned())]);
    assert!(!String::from_utf8_lossy(&r.body).contains("k-123"));
}
