//! Images go only to models that accept them; every other model gets a text note in the
//! image's place, on every wire API, wherever the image sits in the history.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use skipjack_llm::message::{Context, ImageContent, InputContent, Message, ToolResultMessage, UserMessage};
use skipjack_llm::providers::build_request;
use skipjack_llm::{Api, Model, StreamOptions};

use common::openai_chat::model;

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn image() -> InputContent {
    InputContent::Image(ImageContent { data: PNG.into(), mime_type: "image/png".into() })
}

fn context() -> Context {
    Context {
        system_prompt: None,
        messages: vec![
            Message::User(UserMessage { content: vec![InputContent::text("what is this?"), image()], timestamp: 0 }),
            Message::ToolResult(ToolResultMessage {
                tool_call_id: "c1".into(),
                tool_name: "read".into(),
                content: vec![image()],
                is_error: false,
                timestamp: 0,
            }),
        ],
        tools: vec![],
    }
}

fn body(m: &Model) -> String {
    String::from_utf8(build_request(m, &context(), &StreamOptions::default()).unwrap().body).unwrap()
}

#[test]
fn a_text_only_model_gets_the_note_on_every_api() {
    for api in [Api::OpenAiChat, Api::OpenAiResponses, Api::AnthropicMessages] {
        let m = Model { provider: "local".into(), id: "coder-7b".into(), api, images: false, ..model() };
        let b = body(&m);
        assert!(!b.contains(PNG), "{api:?}: {b}");
        assert!(!b.contains("image/png"), "{api:?}: {b}");
        let note = "[image omitted: model local/coder-7b does not accept images]";
        assert_eq!(b.matches(note).count(), 2, "{api:?}: {b}");
        assert!(b.contains("what is this?"), "{api:?}");
    }
}

#[test]
fn an_image_model_gets_the_image_on_every_api() {
    for api in [Api::OpenAiChat, Api::OpenAiResponses, Api::AnthropicMessages] {
        let m = Model { api, images: true, ..model() };
        let b = body(&m);
        assert_eq!(b.matches(PNG).count(), 2, "{api:?}");
        assert!(!b.contains("image omitted"), "{api:?}");
    }
}

#[test]
fn a_context_without_images_is_sent_as_it_is() {
    let m = Model { images: false, ..model() };
    let plain = Context {
        messages: vec![Message::User(UserMessage { content: vec![InputContent::text("hi")], timestamp: 0 })],
        ..Context::default()
    };
    let with = build_request(&m, &plain, &StreamOptions::default()).unwrap();
    let image_model = build_request(&Model { images: true, ..m }, &plain, &StreamOptions::default()).unwrap();
    assert_eq!(with.body, image_model.body);
}
