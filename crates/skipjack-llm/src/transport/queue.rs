//! A bounded event queue between the request task and its one consumer.
//!
//! The consumer is woken only when the queue goes from empty to non-empty and then takes
//! everything queued at once, so a burst of deltas costs one wake-up, not one per event.
//! Waiting never takes events (unlike a channel's `recv`), so a consumer that gives up
//! waiting loses nothing. When the queue is full the producer waits: back-pressure reaches
//! the socket instead of growing memory.
//!
//! A paced stream (a model sending a token every millisecond or so) would still wake the
//! consumer once per event, and a thread wake-up costs far more than an event. A queue
//! built with a wake window ([`EventQueue::with_notifier`]) therefore holds back the
//! wake-up of events that arrive within the window after the previous one, and sends it
//! when the window ends ([`EventQueue::flush_deferred_wakes`] keeps that timer). It never
//! delays what a consumer is waiting for after a pause: the events before the first delta,
//! the first delta itself, the first event after a gap as long as the window, a batch of
//! [`WAKE_NOW_EVENTS`] or more, and the end of the stream all wake at once.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::events::StreamEvent;

/// Queued events that wake the consumer at once, window or not: a burst is worth a wake-up,
/// and holding it back would stall the consumer's throughput, not save CPU.
pub const WAKE_NOW_EVENTS: usize = 32;

#[derive(Debug)]
struct Inner {
    events: VecDeque<StreamEvent>,
    /// The producer finished; nothing more will be pushed.
    closed: bool,
    /// The consumer went away; pushing is pointless.
    abandoned: bool,
    /// When the consumer was last woken for a delta; `None` before the first delta.
    last_wake: Option<Instant>,
    /// Events are queued whose wake-up is held back until this instant.
    deferred_until: Option<Instant>,
    /// The last wake-up came within two windows of the one before: deltas are flowing.
    dense: bool,
}

/// Called when the queue becomes readable (empty to non-empty, or closed). It runs on the
/// producer's thread, so it must not block; the Python binding writes to an eventfd.
pub type Notifier = Box<dyn Fn() + Send + Sync>;

pub struct EventQueue {
    inner: Mutex<Inner>,
    readable: Notify,
    writable: Notify,
    /// Wakes [`EventQueue::flush_deferred_wakes`] when a wake-up was held back.
    deferred: Notify,
    capacity: usize,
    notifier: Option<Notifier>,
    window: Duration,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("inner", &self.inner)
            .field("capacity", &self.capacity)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// The consumer is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abandoned;

fn is_delta(event: &StreamEvent) -> bool {
    matches!(
        event,
        StreamEvent::TextDelta { .. } | StreamEvent::ThinkingDelta { .. } | StreamEvent::ToolCallDelta { .. }
    )
}

impl EventQueue {
    /// A queue that wakes its consumer for every batch that finds it empty.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                events: VecDeque::new(),
                closed: false,
                abandoned: false,
                last_wake: None,
                deferred_until: None,
                dense: false,
            }),
            readable: Notify::new(),
            writable: Notify::new(),
            deferred: Notify::new(),
            capacity: capacity.max(1),
            notifier: None,
            window: Duration::ZERO,
        }
    }

    /// A queue that also calls `notifier` whenever it becomes readable, holding back the
    /// wake-ups of deltas that follow a woken delta within `window` (zero: never). Run
    /// [`EventQueue::flush_deferred_wakes`] beside the producer when the window is not zero.
    #[must_use]
    pub fn with_notifier(capacity: usize, window: Duration, notifier: Notifier) -> Self {
        Self { notifier: Some(notifier), window, ..Self::new(capacity) }
    }

    fn notify_readable(&self) {
        self.readable.notify_one();
        if let Some(notify) = &self.notifier {
            notify();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Critical sections never panic, so a poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether events just queued (the queue was empty, or their wake-up was held back)
    /// wake the consumer now; if not, the wake-up is deferred to the window's end.
    fn wake_now(&self, g: &mut Inner, delta: bool) -> bool {
        let now = Instant::now();
        let held_until = g.last_wake.map(|at| at + self.window).filter(|until| now < *until);
        match held_until {
            Some(until) if g.events.len() < WAKE_NOW_EVENTS => {
                if g.deferred_until.is_none() {
                    g.deferred_until = Some(until);
                    self.deferred.notify_one();
                }
                false
            }
            _ => {
                let was_deferred = g.deferred_until.take().is_some();
                g.dense = was_deferred || g.last_wake.is_some_and(|at| now < at + 2 * self.window);
                if delta || g.last_wake.is_some() {
                    g.last_wake = Some(now);
                }
                true
            }
        }
    }

    /// Queue a batch of events (the batch may overshoot capacity; the next push waits).
    pub async fn push_batch(&self, batch: &mut Vec<StreamEvent>) -> Result<(), Abandoned> {
        if batch.is_empty() {
            return Ok(());
        }
        loop {
            {
                let mut g = self.lock();
                if g.abandoned {
                    return Err(Abandoned);
                }
                if g.events.len() < self.capacity {
                    let unwoken = g.events.is_empty() || g.deferred_until.is_some();
                    let delta = self.window > Duration::ZERO && batch.iter().any(is_delta);
                    g.events.extend(batch.drain(..));
                    let wake = unwoken && (self.window.is_zero() || self.wake_now(&mut g, delta));
                    drop(g);
                    if wake {
                        self.notify_readable();
                    }
                    return Ok(());
                }
            }
            self.writable.notified().await;
        }
    }

    /// Send the wake-ups [`EventQueue::push_batch`] held back, each at its window's end.
    /// Never returns: run it beside the producer (`select!`) and drop it with it.
    pub async fn flush_deferred_wakes(&self) {
        loop {
            let until = self.lock().deferred_until;
            match until {
                None => self.deferred.notified().await,
                Some(at) => {
                    tokio::time::sleep_until(at).await;
                    let mut g = self.lock();
                    if g.deferred_until.is_some_and(|until| until <= Instant::now()) {
                        g.deferred_until = None;
                        g.last_wake = Some(Instant::now());
                        g.dense = true;
                        drop(g);
                        self.notify_readable();
                    }
                }
            }
        }
    }

    /// Until when the producer's thread may leave the connection unread, because nothing it
    /// reads before then would wake the consumer anyway: a wake-up is held back, or deltas
    /// are flowing and the consumer was woken less than a window ago. `None` outside such
    /// a stretch, so the first delta and a delta after a pause are read as they arrive.
    ///
    /// A thread that sleeps through the window instead of waiting on its sockets is not
    /// woken by every event of a paced stream: the window's events are read in one go.
    #[must_use]
    pub fn hold_until(&self) -> Option<Instant> {
        let g = self.lock();
        if g.closed || g.abandoned || g.events.len() >= WAKE_NOW_EVENTS {
            return None;
        }
        let flowing = if g.dense { g.last_wake.map(|at| at + self.window) } else { None };
        let until = g.deferred_until.or(flowing)?;
        (until > Instant::now()).then_some(until)
    }

    /// The producer is done.
    pub fn close(&self) {
        let mut g = self.lock();
        g.closed = true;
        g.deferred_until = None;
        drop(g);
        self.notify_readable();
    }

    /// Take everything queued.
    pub fn drain(&self) -> Vec<StreamEvent> {
        let mut g = self.lock();
        let was_full = g.events.len() >= self.capacity;
        let out: Vec<StreamEvent> = g.events.drain(..).collect();
        // A consumer that drains without waiting took the held-back events itself.
        g.deferred_until = None;
        drop(g);
        if was_full {
            self.writable.notify_one();
        }
        out
    }

    /// Wait until there is something to drain or the producer is done.
    pub async fn readable(&self) {
        loop {
            {
                let g = self.lock();
                if !g.events.is_empty() || g.closed {
                    return;
                }
            }
            self.readable.notified().await;
        }
    }

    /// Closed and fully drained.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        let g = self.lock();
        g.closed && g.events.is_empty()
    }

    /// The consumer went away: wake a waiting producer so it can stop.
    pub fn abandon(&self) {
        let mut g = self.lock();
        g.abandoned = true;
        g.events.clear();
        drop(g);
        self.writable.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn drains_in_batches_and_applies_back_pressure() {
        let q = Arc::new(EventQueue::new(2));
        let producer = {
            let q = Arc::clone(&q);
            tokio::spawn(async move {
                for i in 0..10 {
                    let mut b = vec![StreamEvent::TextStart { index: i }];
                    q.push_batch(&mut b).await.map_err(|_| "abandoned")?;
                }
                q.close();
                Ok::<(), &str>(())
            })
        };
        let mut got = Vec::new();
        loop {
            q.readable().await;
            let batch = q.drain();
            assert!(batch.len() <= 2, "back-pressure bounds a batch");
            got.extend(batch);
            if q.is_finished() {
                break;
            }
        }
        assert_eq!(got.len(), 10);
        assert_eq!(producer.await.ok(), Some(Ok(())));
    }

    #[tokio::test]
    async fn notifier_fires_on_becoming_readable_and_on_close() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&calls);
        let q = EventQueue::with_notifier(
            8,
            Duration::ZERO,
            Box::new(move || {
                seen.fetch_add(1, Ordering::SeqCst);
            }),
        );
        assert!(q.push_batch(&mut vec![StreamEvent::Start]).await.is_ok());
        assert!(q.push_batch(&mut vec![StreamEvent::Start]).await.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "only the empty to non-empty push notifies");
        assert_eq!(q.drain().len(), 2);
        assert!(q.push_batch(&mut vec![StreamEvent::Start]).await.is_ok());
        q.close();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    fn delta() -> StreamEvent {
        StreamEvent::TextDelta { index: 0, delta: "x".into() }
    }

    /// A windowed queue, its flusher running, and a count of the consumer's wake-ups.
    fn windowed(window_ms: u64) -> (Arc<EventQueue>, Arc<std::sync::atomic::AtomicUsize>, tokio::task::JoinHandle<()>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&calls);
        let notifier = Box::new(move || {
            seen.fetch_add(1, Ordering::SeqCst);
        });
        let q = Arc::new(EventQueue::with_notifier(4096, Duration::from_millis(window_ms), notifier));
        let flusher = {
            let q = Arc::clone(&q);
            tokio::spawn(async move { q.flush_deferred_wakes().await })
        };
        (q, calls, flusher)
    }

    fn wakes(calls: &std::sync::atomic::AtomicUsize) -> usize {
        calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn push(q: &EventQueue, events: Vec<StreamEvent>) {
        let mut batch = events;
        assert!(q.push_batch(&mut batch).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_delta_wakes_at_once_and_followers_wait_for_the_window() {
        let (q, calls, flusher) = windowed(5);
        push(&q, vec![StreamEvent::Start]).await;
        assert_eq!(wakes(&calls), 1, "events before any delta are not held back");
        assert_eq!(q.drain().len(), 1);
        tokio::time::sleep(Duration::from_millis(1)).await;
        push(&q, vec![StreamEvent::TextStart { index: 0 }]).await;
        assert_eq!(wakes(&calls), 2, "nor is a block's start, however soon it follows");
        q.drain();
        push(&q, vec![delta()]).await;
        assert_eq!(wakes(&calls), 3, "the first delta wakes at once");
        assert_eq!(q.drain().len(), 1);
        let first = tokio::time::Instant::now();
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            push(&q, vec![delta()]).await;
        }
        assert_eq!(wakes(&calls), 3, "deltas within the window are held back");
        // The held-back wake-up fires at the window's end, without another push.
        while wakes(&calls) == 3 {
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        let waited = first.elapsed();
        assert!(waited >= Duration::from_millis(5) && waited <= Duration::from_millis(7), "{waited:?}");
        assert_eq!(q.drain().len(), 3, "nothing was lost while held");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(wakes(&calls), 4, "one wake-up per window, no spurious ones");
        flusher.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_delta_after_an_idle_gap_wakes_at_once() {
        let (q, calls, flusher) = windowed(5);
        push(&q, vec![delta()]).await;
        q.drain();
        tokio::time::sleep(Duration::from_millis(5)).await;
        push(&q, vec![delta()]).await;
        assert_eq!(wakes(&calls), 2, "a gap as long as the window ends the holding");
        q.drain();
        tokio::time::sleep(Duration::from_secs(30)).await;
        push(&q, vec![delta()]).await;
        assert_eq!(wakes(&calls), 3);
        flusher.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_and_the_end_are_never_held_back() {
        let (q, calls, flusher) = windowed(5);
        push(&q, vec![delta()]).await;
        q.drain();
        push(&q, vec![delta()]).await;
        assert_eq!(wakes(&calls), 1);
        // The held-back delta plus a batch reaching the threshold: the consumer has work now.
        push(&q, (1..WAKE_NOW_EVENTS).map(|_| delta()).collect()).await;
        assert_eq!(wakes(&calls), 2, "a burst wakes at once");
        assert_eq!(q.drain().len(), WAKE_NOW_EVENTS);
        push(&q, vec![delta()]).await;
        assert_eq!(wakes(&calls), 2);
        q.close();
        assert_eq!(wakes(&calls), 3, "the end wakes at once, taking the held-back delta with it");
        assert_eq!(q.drain().len(), 1);
        assert!(q.is_finished());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(wakes(&calls), 3, "the closed queue's window does not fire again");
        flusher.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_consumer_that_drains_by_itself_takes_the_held_back_events() {
        let (q, calls, flusher) = windowed(5);
        push(&q, vec![delta()]).await;
        q.drain();
        push(&q, vec![delta()]).await;
        assert_eq!(q.drain().len(), 1, "a busy consumer drains without waiting");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(wakes(&calls), 1, "so the held-back wake-up is dropped");
        push(&q, vec![delta()]).await;
        assert_eq!(wakes(&calls), 2, "and the next delta after the gap wakes at once");
        flusher.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn reads_are_held_only_while_deltas_flow() {
        let (q, _calls, flusher) = windowed(5);
        assert_eq!(q.hold_until(), None, "nothing read yet");
        push(&q, vec![StreamEvent::Start]).await;
        assert_eq!(q.hold_until(), None, "before the first delta");
        q.drain();
        push(&q, vec![delta()]).await;
        q.drain();
        assert_eq!(q.hold_until(), None, "one delta is not a flow: a pause may follow");
        tokio::time::sleep(Duration::from_millis(1)).await;
        let t = tokio::time::Instant::now();
        push(&q, vec![delta()]).await;
        assert_eq!(q.hold_until(), Some(t + Duration::from_millis(4)), "a held-back wake-up");
        // The window ends; the held-back wake-up fires and deltas are flowing.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let until = q.hold_until().expect("flowing");
        assert!(until > tokio::time::Instant::now() && until <= tokio::time::Instant::now() + Duration::from_millis(5));
        q.drain();
        // A pause longer than the window: the next delta is read and woken at once, and the
        // one after it starts a new flow only if it comes within the window.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(q.hold_until(), None);
        push(&q, vec![delta()]).await;
        q.drain();
        assert_eq!(q.hold_until(), None, "a delta after a pause");
        push(&q, (0..WAKE_NOW_EVENTS).map(|_| delta()).collect()).await;
        assert_eq!(q.hold_until(), None, "a burst is never held");
        q.drain();
        q.close();
        assert_eq!(q.hold_until(), None, "a finished stream is never held");
        flusher.abort();
    }

    #[tokio::test]
    async fn abandoned_queue_releases_a_waiting_producer() {
        let q = Arc::new(EventQueue::new(1));
        let mut b = vec![StreamEvent::Start];
        assert!(q.push_batch(&mut b).await.is_ok());
        let waiting = {
            let q = Arc::clone(&q);
            tokio::spawn(async move { q.push_batch(&mut vec![StreamEvent::Start]).await })
        };
        tokio::task::yield_now().await;
        q.abandon();
        assert_eq!(waiting.await.ok(), Some(Err(Abandoned)));
    }
}
