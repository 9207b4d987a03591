//! The input item shapes of a Responses request, shared by the request builder and the
//! history conversion, and the stored form of a reasoning item.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One element of `input`. Items carry their own `type`, so the enum is untagged and each
/// shape names its type in a field.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum InputItem<'a> {
    Message(MessageItem<'a>),
    FunctionCall(FunctionCallItem<'a>),
    FunctionCallOutput(FunctionCallOutputItem<'a>),
    Reasoning(ReasoningItem),
}

#[derive(Serialize)]
pub(super) struct MessageItem<'a> {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) role: &'static str,
    pub(super) content: Vec<ContentPart<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ContentPart<'a> {
    InputText {
        text: Cow<'a, str>,
    },
    InputImage {
        image_url: String,
    },
    /// Assistant text sent back; the API wants the annotations list even when empty.
    OutputText {
        text: &'a str,
        annotations: [(); 0],
    },
}

/// A call the model made. No `id`: with `store: false` the server keeps nothing an id could
/// refer to, and an item id without its paired reasoning item is rejected.
#[derive(Serialize)]
pub(super) struct FunctionCallItem<'a> {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) call_id: &'a str,
    pub(super) name: &'a str,
    pub(super) arguments: String,
}

#[derive(Serialize)]
pub(super) struct FunctionCallOutputItem<'a> {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) call_id: &'a str,
    pub(super) output: String,
}

/// A reasoning item as the stream delivered it and as it is replayed: kept in a thinking
/// block's `signature` as this JSON, so the replay is exactly what the server issued.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(super) struct ReasoningItem {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) id: String,
    #[serde(default)]
    pub(super) summary: Vec<SummaryPart>,
    pub(super) encrypted_content: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(super) struct SummaryPart {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) text: String,
}

pub(super) const REASONING: &str = "reasoning";
