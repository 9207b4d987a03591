//! The OpenAI-compatible chat-completions wire API (`POST /chat/completions`, streamed).
//!
//! Many servers speak this protocol with small differences: OpenAI itself, OpenRouter,
//! DeepSeek, Moonshot, Groq, vLLM, llama.cpp, Ollama, ... The request side sends only the
//! fields a given server accepts (strict servers answer 400 to unknown ones); the decode side
//! accepts every variant seen in the wild and never lets an odd field drop content.
//!
//! `request` builds the request (`history` converts the conversation, `wire` holds the
//! message shapes both use); `decode` turns the stream into calls on the assembler.

mod decode;
mod history;
mod reasoning_details;
mod request;
mod wire;

pub use decode::ChatDecoder;
pub use request::build_request;
