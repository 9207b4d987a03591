//! The Anthropic Messages API (`api = "anthropic-messages"`): `POST /v1/messages` with
//! `stream: true`, answered by named SSE events (`message_start`, `content_block_*`,
//! `message_delta`, `message_stop`, `ping`, `error`).
//!
//! `request` turns a canonical context into the request (history, prompt-cache breakpoints,
//! thinking budget, headers); `decode` turns the events into calls on the assembler.

mod decode;
mod history;
mod request;

pub use decode::MessagesDecoder;
pub(crate) use request::token_limits;
pub use request::{build_request, AUTH_MARKER};
