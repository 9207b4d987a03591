//! OpenAI's Responses wire API (`POST /responses`, streamed).
//!
//! OpenAI serves its codex and -pro models only here, and it is the API on which reasoning
//! survives between turns: requests are stateless (`store: false`) and ask for each reasoning
//! item's `encrypted_content`, which the decoder keeps on the thinking block and the history
//! builder sends back on the next request.
//!
//! `request` builds the request (`history` converts the conversation, `wire` holds the item
//! shapes both use); `decode` turns the stream's typed events into calls on the assembler.

mod decode;
mod history;
mod request;
mod wire;

pub use decode::ResponsesDecoder;
pub use request::build_request;
