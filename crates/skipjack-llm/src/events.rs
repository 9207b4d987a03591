//! Canonical stream events. A stream is `start`, then block events, then exactly one
//! terminal `done` or `error`. Events carry deltas, never the partial message, so the total
//! work of a stream is linear in its length.

use crate::error::LlmError;
use crate::message::{AssistantMessage, ToolCall};

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Start,
    TextStart {
        index: usize,
    },
    TextDelta {
        index: usize,
        delta: String,
    },
    TextEnd {
        index: usize,
        text: String,
    },
    ThinkingStart {
        index: usize,
    },
    ThinkingDelta {
        index: usize,
        delta: String,
    },
    ThinkingEnd {
        index: usize,
        thinking: String,
        signature: Option<String>,
        redacted: bool,
    },
    ToolCallStart {
        index: usize,
        id: String,
        name: String,
    },
    /// A fragment of the arguments' JSON text as it arrives.
    ToolCallDelta {
        index: usize,
        delta: String,
    },
    ToolCallEnd {
        index: usize,
        tool_call: ToolCall,
    },
    /// A request attempt failed before any content and will be retried after `delay_ms`.
    Retry {
        attempt: u32,
        delay_ms: u64,
        error: LlmError,
    },
    Done {
        message: AssistantMessage,
    },
    Error {
        message: AssistantMessage,
        error: LlmError,
    },
}

impl StreamEvent {
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::TextStart { .. } => "text_start",
            Self::TextDelta { .. } => "text_delta",
            Self::TextEnd { .. } => "text_end",
            Self::ThinkingStart { .. } => "thinking_start",
            Self::ThinkingDelta { .. } => "thinking_delta",
            Self::ThinkingEnd { .. } => "thinking_end",
            Self::ToolCallStart { .. } => "toolcall_start",
            Self::ToolCallDelta { .. } => "toolcall_delta",
            Self::ToolCallEnd { .. } => "toolcall_end",
            Self::Retry { .. } => "retry",
            Self::Done { .. } => "done",
            Self::Error { .. } => "error",
        }
    }

    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Done { .. } | Self::Error { .. })
    }
}
