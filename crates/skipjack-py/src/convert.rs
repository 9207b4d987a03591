//! Rust values → the Python package's own types (`skipjack.llm.types`,
//! `skipjack.llm.errors`), built by calling their constructors: msgspec Structs do not
//! validate on construction, so this costs a few calls per message, not a decode.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use skipjack_llm::message::{AssistantContent, AssistantMessage, ToolCall};
use skipjack_llm::{Cost, LlmError, Usage};

static TYPES: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn types(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    Ok(TYPES.get_or_try_init(py, || py.import("skipjack.llm.types").map(Bound::unbind))?.bind(py))
}

fn errors(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    Ok(ERRORS.get_or_try_init(py, || py.import("skipjack.llm.errors").map(Bound::unbind))?.bind(py))
}

pub fn json_value(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_value(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_value(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

pub fn tool_call(py: Python<'_>, call: &ToolCall) -> PyResult<Py<PyAny>> {
    let args = json_value(py, &call.arguments)?;
    Ok(types(py)?
        .getattr("ToolCall")?
        .call1((call.id.as_str(), call.name.as_str(), args, call.arguments_error.as_deref()))?
        .unbind())
}

fn cost<'py>(py: Python<'py>, c: &Cost) -> PyResult<Bound<'py, PyAny>> {
    types(py)?.getattr("Cost")?.call1((c.input, c.output, c.cache_read, c.cache_write, c.total))
}

fn usage<'py>(py: Python<'py>, u: &Usage) -> PyResult<Bound<'py, PyAny>> {
    let cost = cost(py, &u.cost)?;
    types(py)?.getattr("Usage")?.call1((u.input, u.output, u.cache_read, u.cache_write, u.total_tokens, cost))
}

pub fn assistant_message(py: Python<'_>, m: &AssistantMessage) -> PyResult<Py<PyAny>> {
    let t = types(py)?;
    let content = PyList::empty(py);
    for block in &m.content {
        let item = match block {
            AssistantContent::Text(b) => t.getattr("TextContent")?.call1((b.text.as_str(),))?,
            AssistantContent::Thinking(b) => {
                t.getattr("ThinkingContent")?.call1((b.thinking.as_str(), b.signature.as_deref(), b.redacted))?
            }
            AssistantContent::ToolCall(c) => tool_call(py, c)?.into_bound(py),
        };
        content.append(item)?;
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("content", content)?;
    kwargs.set_item("api", m.api.as_str())?;
    kwargs.set_item("provider", m.provider.as_str())?;
    kwargs.set_item("model", m.model.as_str())?;
    kwargs.set_item("usage", usage(py, &m.usage)?)?;
    kwargs.set_item("stop_reason", serde_name(&m.stop_reason))?;
    kwargs.set_item("error_message", m.error_message.as_deref())?;
    kwargs.set_item("error_kind", m.error_kind.as_deref())?;
    kwargs.set_item("cost_source", serde_name(&m.cost_source))?;
    kwargs.set_item("response_id", m.response_id.as_deref())?;
    kwargs.set_item("timestamp", m.timestamp)?;
    Ok(t.getattr("AssistantMessage")?.call((), Some(&kwargs))?.unbind())
}

pub fn error(py: Python<'_>, e: &LlmError) -> PyResult<Py<PyAny>> {
    Ok(errors(py)?
        .getattr("error_from_kind")?
        .call1((e.kind.as_str(), e.message.as_str(), e.status, e.retry_after_ms))?
        .unbind())
}

/// The serde name of a unit enum variant (`StopReason::ToolUse` → "tool_use").
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}
