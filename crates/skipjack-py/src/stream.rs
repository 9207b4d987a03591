//! The native stream handle: starts a request on the shared runtime and hands its events
//! to Python in batches.
//!
//! Waking Python never calls into Python: the queue writes a byte to a socket pair and
//! asyncio watches the other end (`loop.add_reader`). A runtime thread that called into
//! the interpreter (as `call_soon_threadsafe` from a worker does) can race interpreter
//! shutdown and abort the process; a byte on a socket cannot.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde::Deserialize;
use skipjack_llm::transport::queue::EventQueue;
use skipjack_llm::transport::{self, HttpClient};
use skipjack_llm::{Context, Model, StreamOptions};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use crate::events;

/// Events a request may queue before it waits for Python to drain them.
const QUEUE_CAPACITY: usize = 4096;

/// One runtime per process, and one HTTP client (so one connection pool) per connect
/// timeout: reqwest fixes the connect timeout when a client is built, so requests asking
/// for another one get their own client. Configurations use one or two values, so the map
/// stays tiny; it is still bounded in case a caller varies it per request.
static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
static CLIENTS: Mutex<BTreeMap<u64, HttpClient>> = Mutex::new(BTreeMap::new());
const MAX_CLIENTS: usize = 16;

fn runtime() -> PyResult<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get().min(4)))
                .thread_name("skipjack-llm")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the stream runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(e.clone()))
}

fn client(connect_ms: u64) -> PyResult<HttpClient> {
    let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(client) = clients.get(&connect_ms) {
        return Ok(client.clone());
    }
    let client = HttpClient::new(Duration::from_millis(connect_ms)).map_err(|e| PyRuntimeError::new_err(e.message))?;
    if clients.len() >= MAX_CLIENTS {
        // Dropping a client only drops its idle pool; requests in flight hold their own handle.
        clients.clear();
    }
    clients.insert(connect_ms, client.clone());
    Ok(client)
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
    wake: UnixStream,
}

/// Start a request. `request` is the JSON of `{model, context, options}`.
#[pyfunction]
pub fn start_stream(py: Python<'_>, request: &[u8]) -> PyResult<NativeStream> {
    let parsed: Request = py
        .detach(|| serde_json::from_slice(request))
        .map_err(|e| PyValueError::new_err(format!("invalid stream request: {e}")))?;
    let (client, runtime) = (client(parsed.options.timeouts.connect_ms)?, runtime()?);
    let (wake, signal) = UnixStream::pair().map_err(|e| PyOSError::new_err(e.to_string()))?;
    wake.set_nonblocking(true).map_err(|e| PyOSError::new_err(e.to_string()))?;
    signal.set_nonblocking(true).map_err(|e| PyOSError::new_err(e.to_string()))?;
    let notifier = Box::new(move || {
        // A full socket already holds an unread wake-up, so a failed write loses nothing.
        let _ = (&signal).write(&[1]);
    });
    let queue = Arc::new(EventQueue::with_notifier(QUEUE_CAPACITY, notifier));
    let cancel = CancellationToken::new();
    let (task_queue, task_cancel) = (Arc::clone(&queue), cancel.clone());
    runtime.spawn(async move {
        let Request { model, context, options } = parsed;
        transport::run(&client, &model, &context, &options, &task_cancel, &task_queue).await;
    });
    Ok(NativeStream { queue, cancel, wake })
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

    /// A file descriptor that becomes readable when there is something to drain.
    #[getter]
    fn wake_fd(&self) -> i32 {
        self.wake.as_raw_fd()
    }

    /// Consume pending wake-ups (call after the descriptor was readable, before draining).
    fn clear_wake(&self) {
        let mut buf = [0u8; 256];
        loop {
            match (&self.wake).read(&mut buf) {
                Ok(n) if n == buf.len() => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                _ => break,
            }
        }
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
