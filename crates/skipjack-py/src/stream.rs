//! The native stream handle: starts a request on the stream thread and hands its events
//! to Python in batches.
//!
//! Waking Python never calls into Python: the queue signals a descriptor (`wake.rs`) and
//! asyncio watches it (`loop.add_reader`). A runtime thread that called into the
//! interpreter (as `call_soon_threadsafe` from a worker does) can race interpreter
//! shutdown and abort the process; a write to a descriptor cannot.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use skipjack_llm::request_payload::{self, Request};
use skipjack_llm::transport::queue::EventQueue;
use skipjack_llm::transport::{self, HttpClient};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use crate::events;
use crate::wake::Wake;

/// Events a request may queue before it waits for Python to drain them.
const QUEUE_CAPACITY: usize = 4096;

/// How long the wake-up of a delta that follows a woken delta is held back, so a paced
/// stream wakes Python once per window instead of once per event (see the queue's module
/// comment for what is never held back: the first delta, a delta after a pause, bursts,
/// the end). 4 ms is a quarter of a 60 Hz frame: no reader sees it, and at one event per
/// millisecond it saves three wake-ups in four.
const WAKE_WINDOW: Duration = Duration::from_millis(4);

/// A request larger than this is parsed with the GIL released (see `start_stream`): hashing
/// its messages alone takes milliseconds, longer than another thread would keep the GIL.
const PARSE_OFF_GIL_BYTES: usize = 4 << 20;

/// One runtime per process, and one HTTP client (so one connection pool) per connect
/// timeout: reqwest fixes the connect timeout when a client is built, so requests asking
/// for another one get their own client. Configurations use one or two values, so the map
/// stays tiny; it is still bounded in case a caller varies it per request.
static RUNTIME: OnceLock<Result<Handle, String>> = OnceLock::new();
static CLIENTS: Mutex<BTreeMap<u64, HttpClient>> = Mutex::new(BTreeMap::new());
const MAX_CLIENTS: usize = 16;

/// The stream runtime: a current-thread runtime on one dedicated thread. A worker pool
/// pays for work stealing on every wake-up (an idle worker is woken to look for work, a
/// futex round trip per event at a paced stream's rate), and a stream has nothing to run
/// in parallel: parsing an event costs microseconds, and the connection task and the
/// request task hand bytes to each other on the same thread without a wake-up. One thread
/// carries 64 paced streams at under half a core.
fn runtime() -> PyResult<&'static Handle> {
    RUNTIME.get_or_init(start_runtime).as_ref().map_err(|e| PyRuntimeError::new_err(e.clone()))
}

fn start_runtime() -> Result<Handle, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .on_thread_park(hold_reads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the stream runtime: {e}"))?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("skipjack-llm".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .map_err(|e| format!("cannot start the stream thread: {e}"))?;
    Ok(handle)
}

/// The queues of the requests in flight, for the park hook.
static STREAMS: Mutex<Vec<Weak<EventQueue>>> = Mutex::new(Vec::new());
/// Bumped to end a hold early; the stream thread waits on it with [`HOLD_CHANGED`].
static HOLD_EPOCH: Mutex<u64> = Mutex::new(0);
static HOLD_CHANGED: Condvar = Condvar::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Run before the stream thread parks in its poller. While the one request in flight has
/// deltas flowing (`EventQueue::hold_until`), sleep to the end of its wake window instead:
/// the socket's events then cost one wake-up per window, read in one go, instead of one
/// per event. Only with one request in flight, so no stream's first delta waits on
/// another's window; `cancel`, a new request and a dropped stream end the hold at once.
fn hold_reads() {
    let until = match lock(&STREAMS).as_slice() {
        [only] => only.upgrade().and_then(|queue| queue.hold_until()),
        _ => None,
    };
    let Some(until) = until.map(tokio::time::Instant::into_std) else { return };
    let mut epoch = lock(&HOLD_EPOCH);
    let start = *epoch;
    while *epoch == start {
        let Some(left) = until.checked_duration_since(std::time::Instant::now()).filter(|d| !d.is_zero()) else {
            break;
        };
        epoch = HOLD_CHANGED.wait_timeout(epoch, left).map_or_else(|e| e.into_inner().0, |(g, _)| g);
    }
}

fn end_hold() {
    *lock(&HOLD_EPOCH) += 1;
    HOLD_CHANGED.notify_all();
}

/// A request's entry in [`STREAMS`] for as long as its task lives.
struct InFlight(Weak<EventQueue>);

impl InFlight {
    fn new(queue: &Arc<EventQueue>) -> Self {
        let weak = Arc::downgrade(queue);
        lock(&STREAMS).push(weak.clone());
        Self(weak)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&STREAMS).retain(|w| !w.ptr_eq(&self.0) && w.strong_count() > 0);
    }
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

#[pyclass(frozen, module = "skipjack._llm")]
pub struct NativeStream {
    queue: Arc<EventQueue>,
    cancel: CancellationToken,
    wake: Arc<Wake>,
}

/// Start a request. `request` is the JSON of `{model, context, options}` without
/// `context.messages`; `messages` is the JSON of each message, in order (see `request_payload`).
#[pyfunction]
pub fn start_stream(py: Python<'_>, request: &[u8], messages: Vec<Bound<'_, PyBytes>>) -> PyResult<NativeStream> {
    let messages: Vec<&[u8]> = messages.iter().map(|m| m.as_bytes()).collect();
    let size = request.len() + messages.iter().map(|m| m.len()).sum::<usize>();
    // The messages earlier requests already carried come from the payload cache
    // (`request_payload`), so a turn parses what is new, not the whole history: a fraction of
    // a millisecond, parsed holding the GIL. Released, it went to whichever thread was waiting
    // for it (the session's fsync worker, the checkpoint snapshot), and the agent loop then
    // waited up to a switch interval (5 ms) to get it back, between two turns. Only a request
    // that takes long to parse (a resumed session of many MB) is parsed off the GIL.
    let parse = || request_payload::parse(request, &messages);
    let parsed = if size > PARSE_OFF_GIL_BYTES { py.detach(parse) } else { parse() }
        .map_err(|e| PyValueError::new_err(format!("invalid stream request: {e}")))?;
    let (client, runtime) = (client(parsed.options.timeouts.connect_ms)?, runtime()?);
    let wake = Arc::new(Wake::new().map_err(|e| PyOSError::new_err(e.to_string()))?);
    let signal = Arc::clone(&wake);
    let notifier = Box::new(move || signal.signal());
    let queue = Arc::new(EventQueue::with_notifier(QUEUE_CAPACITY, WAKE_WINDOW, notifier));
    let cancel = CancellationToken::new();
    let (task_queue, task_cancel) = (Arc::clone(&queue), cancel.clone());
    // The new request's task must not wait out another request's hold.
    end_hold();
    runtime.spawn(async move {
        let _in_flight = InFlight::new(&task_queue);
        let Request { model, context, options } = parsed;
        // One task for both, so a held-back wake-up's timer never hops between tasks; the
        // flusher never ends and is dropped with the request (`close` wakes at once).
        tokio::select! {
            biased;
            () = transport::run(&client, &model, &context, &options, &task_cancel, &task_queue) => {}
            () = task_queue.flush_deferred_wakes() => {}
        }
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

    /// Consume pending wake-ups, then take every event queued (what a reader callback does
    /// when the descriptor was readable): one call into the core per wake-up, not two. The
    /// wake-up is consumed first, so an event queued after the take leaves it set.
    fn drain_woken<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.wake.clear();
        self.drain(py)
    }

    /// A file descriptor that becomes readable when there is something to drain.
    #[getter]
    fn wake_fd(&self) -> i32 {
        self.wake.as_raw_fd()
    }

    /// Consume pending wake-ups (call after the descriptor was readable, before draining).
    fn clear_wake(&self) {
        self.wake.clear();
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
        end_hold();
    }
}

impl Drop for NativeStream {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.queue.abandon();
        end_hold();
    }
}
