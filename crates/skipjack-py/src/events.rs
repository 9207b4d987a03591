//! Stream events as native Python objects: built once in Rust, read by attribute in
//! Python; no JSON, no validation, no copy of the partial message.

use pyo3::prelude::*;
use skipjack_llm::StreamEvent;

use crate::convert;

/// Declares a frozen event class with a constant `type` and read-only fields.
macro_rules! event_class {
    ($name:ident, $tag:literal { $($field:ident : $ty:ty),* $(,)? }) => {
        #[pyclass(frozen, module = "skipjack._llm")]
        pub struct $name {
            $(#[pyo3(get)] pub $field: $ty,)*
        }

        #[pymethods]
        impl $name {
            #[getter]
            fn r#type(&self) -> &'static str {
                $tag
            }

            fn __repr__(&self) -> String {
                let mut s = format!("{}(", stringify!($name));
                $(s.push_str(&format!("{}={:?}, ", stringify!($field), self.$field));)*
                s.truncate(s.trim_end_matches([',', ' ']).len());
                s.push(')');
                s
            }
        }
    };
}

event_class!(Start, "start" {});
event_class!(TextStart, "text_start" { index: usize });
event_class!(TextDelta, "text_delta" { index: usize, delta: String });
event_class!(TextEnd, "text_end" { index: usize, text: String });
event_class!(ThinkingStart, "thinking_start" { index: usize });
event_class!(ThinkingDelta, "thinking_delta" { index: usize, delta: String });
event_class!(ThinkingEnd, "thinking_end" { index: usize, thinking: String, signature: Option<String>, redacted: bool });
event_class!(ToolCallStart, "toolcall_start" { index: usize, id: String, name: String });
event_class!(ToolCallDelta, "toolcall_delta" { index: usize, delta: String });
event_class!(ToolCallEnd, "toolcall_end" { index: usize, tool_call: Py<PyAny> });
event_class!(Retry, "retry" { attempt: u32, delay_ms: u64, error: Py<PyAny> });
event_class!(Done, "done" { message: Py<PyAny> });
event_class!(Error, "error" { message: Py<PyAny>, error: Py<PyAny> });

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Start>()?;
    m.add_class::<TextStart>()?;
    m.add_class::<TextDelta>()?;
    m.add_class::<TextEnd>()?;
    m.add_class::<ThinkingStart>()?;
    m.add_class::<ThinkingDelta>()?;
    m.add_class::<ThinkingEnd>()?;
    m.add_class::<ToolCallStart>()?;
    m.add_class::<ToolCallDelta>()?;
    m.add_class::<ToolCallEnd>()?;
    m.add_class::<Retry>()?;
    m.add_class::<Done>()?;
    m.add_class::<Error>()?;
    Ok(())
}

pub fn to_py(py: Python<'_>, event: StreamEvent) -> PyResult<Py<PyAny>> {
    Ok(match event {
        StreamEvent::Start => Py::new(py, Start {})?.into_any(),
        StreamEvent::TextStart { index } => Py::new(py, TextStart { index })?.into_any(),
        StreamEvent::TextDelta { index, delta } => Py::new(py, TextDelta { index, delta })?.into_any(),
        StreamEvent::TextEnd { index, text } => Py::new(py, TextEnd { index, text })?.into_any(),
        StreamEvent::ThinkingStart { index } => Py::new(py, ThinkingStart { index })?.into_any(),
        StreamEvent::ThinkingDelta { index, delta } => Py::new(py, ThinkingDelta { index, delta })?.into_any(),
        StreamEvent::ThinkingEnd { index, thinking, signature, redacted } => {
            Py::new(py, ThinkingEnd { index, thinking, signature, redacted })?.into_any()
        }
        StreamEvent::ToolCallStart { index, id, name } => Py::new(py, ToolCallStart { index, id, name })?.into_any(),
        StreamEvent::ToolCallDelta { index, delta } => Py::new(py, ToolCallDelta { index, delta })?.into_any(),
        StreamEvent::ToolCallEnd { index, tool_call } => {
            let tool_call = convert::tool_call(py, &tool_call)?;
            Py::new(py, ToolCallEnd { index, tool_call })?.into_any()
        }
        StreamEvent::Retry { attempt, delay_ms, error } => {
            let error = convert::error(py, &error)?;
            Py::new(py, Retry { attempt, delay_ms, error })?.into_any()
        }
        StreamEvent::Done { message } => {
            let message = convert::assistant_message(py, &message)?;
            Py::new(py, Done { message })?.into_any()
        }
        StreamEvent::Error { message, error } => {
            let message = convert::assistant_message(py, &message)?;
            let error = convert::error(py, &error)?;
            Py::new(py, Error { message, error })?.into_any()
        }
    })
}
