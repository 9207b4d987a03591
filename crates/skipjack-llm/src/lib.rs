//! skipjack's LLM stream core: one HTTP request → one finished assistant message.
//!
//! Layers, each using only the ones above it: canonical types (`message`, `usage`,
//! `model`, `events`, `error`) → the SSE framer (`sse`) → wire APIs (`providers`) turning
//! frames into calls on the `assembler` → `pipeline` (bytes → events) → `transport`
//! (HTTP, retries, timeouts, cancellation).

pub mod assembler;
pub mod auth;
pub mod error;
pub mod events;
pub mod eventstream;
pub mod message;
pub mod model;
pub mod pipeline;
pub mod providers;
pub mod request_payload;
pub mod sse;
pub mod transport;
pub mod usage;

pub use error::{ErrorKind, LlmError};
pub use events::StreamEvent;
pub use message::{AssistantMessage, Context, Message, StopReason};
pub use model::{Api, Limits, Model, StreamOptions, Timeouts};
pub use usage::{Cost, Price, PriceTier, Usage};
