//! The native stream handle: starts a request on the shared runtime and hands its events
//! to Python in batches.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde::Deserialize;
use skipjack_llm::transport::queue::EventQueue;
use skipjack_llm::transport::{self, HttpClient};
use skipjack_llm::{Context, Model, StreamOptions};
use tokio_util::sync::CancellationToken;

use crate::events;

/// Events a request may queue before it waits for Python to drain them.
const QUEUE_CAPACITY: usize = 4096;

/// One HTTP client, and so one connection pool, per process.
static CLIENT: OnceLock<Result<HttpClient, String>> = OnceLock::new();

fn client() -> PyResult<HttpClient> {
    CLIENT
        .get_or_init(|| HttpClient::new(Duration::from_secs(15)).map_err(|e| e.message))
        .clone()
        .map_err(PyRuntimeError::new_err)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    model: Model,
    context: Context,
    #[serde(default)]
    options: StreamOptions,
}

#[pyclass(frozen, module = "skipjack._llm")]
pub struct NativeStream {
    queue: Arc<EventQueue>,
    cancel: CancellationToken,
}

/// Start a request. `request` is the JSON of `{model, context, options}`.
#[pyfunction]
pub fn start_stream(py: Python<'_>, request: &[u8]) -> PyResult<NativeStream> {
    let parsed: Request = py
        .detach(|| serde_json::from_slice(request))
        .map_err(|e| PyValueError::new_err(format!("invalid stream request: {e}")))?;
    let client = client()?;
    let queue = Arc::new(EventQueue::new(QUEUE_CAPACITY));
    let cancel = CancellationToken::new();
    let (task_queue, task_cancel) = (Arc::clone(&queue), cancel.clone());
    pyo3_async_runtimes::tokio::get_runtime().spawn(async move {
        let Request { model, context, options } = parsed;
        transport::run(&client, &model, &context, &options, &task_cancel, &task_queue).await;
    });
    Ok(NativeStream { queue, cancel })
}

#[pymethods]
impl NativeStream {
    /// Every event queued now, as a list (empty if none).
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let batch = self.queue.drain();
        let list = PyList::empty(py);
        for event in batch {
            list.append(events::to_py(py, event)?)?;
        }
        Ok(list)
    }

    /// An awaitable that resolves once there is something to drain or the stream is over.
    /// It never takes events itself, so cancelling the wait loses nothing.
    fn readable<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let queue = Arc::clone(&self.queue);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            queue.readable().await;
            Ok(())
        })
    }

    /// True once the terminal event has been drained.
    #[getter]
    fn finished(&self) -> bool {
        self.queue.is_finished()
    }

    /// Abort the request: the connection is closed and the stream ends with an `aborted`
    /// error event carrying the partial message.
    fn cancel(&self) {
        self.cancel.cancel();
    }
}

impl Drop for NativeStream {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.queue.abandon();
    }
}
