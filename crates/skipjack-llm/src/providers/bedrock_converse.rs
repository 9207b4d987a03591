//! Amazon Bedrock's Converse API (`api = "bedrock-converse"`): `POST
//! {base}/model/{modelId}/converse-stream`, answered in binary event-stream frames (see
//! `crate::eventstream`) carrying `messageStart`, `contentBlockStart|Delta|Stop`,
//! `messageStop`, `metadata` events and exception frames.
//!
//! `request` builds the request (history, `cachePoint` blocks, Claude thinking, auth by a
//! Bedrock API key or SigV4); `decode` turns the frames into calls on the assembler.

mod decode;
mod history;
mod request;

pub use decode::ConverseDecoder;
pub use request::{base_url, build_request, build_request_with};
