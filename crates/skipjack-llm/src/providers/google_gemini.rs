//! Google's Gemini wire API (`api = "google-gemini"`, and `google-vertex` for the same models
//! on Vertex AI): `POST …/models/{id}:streamGenerateContent?alt=sse`, answered by SSE events
//! that each carry a whole `GenerateContentResponse` chunk.
//!
//! Gemini signs its reasoning with `thoughtSignature`s attached to individual parts (a thought,
//! a function call, a text part) and rejects a function-call turn replayed without them, so
//! the decoder keeps every signature where the history builder can put it back on the same
//! part: on the thinking block of a signed thought, or on an empty *carrier* thinking block
//! just before the text or call block whose part carried it (see `history`).
//!
//! `request` builds the request (`history` converts the conversation, `schema` converts tool
//! schemas to the subset Gemini accepts, `wire` holds the part shapes); `decode` turns the
//! chunks into calls on the assembler.

mod decode;
mod history;
mod request;
pub mod schema;
mod wire;

pub use decode::GeminiDecoder;
pub use request::{build_request, vertex_base_url};
