//! A bounded event queue between the request task and its one consumer.
//!
//! The consumer is woken only when the queue goes from empty to non-empty and then takes
//! everything queued at once, so a burst of deltas costs one wake-up, not one per event.
//! Waiting never takes events (unlike a channel's `recv`), so a consumer that gives up
//! waiting loses nothing. When the queue is full the producer waits: back-pressure reaches
//! the socket instead of growing memory.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::events::StreamEvent;

#[derive(Debug)]
struct Inner {
    events: VecDeque<StreamEvent>,
    /// The producer finished; nothing more will be pushed.
    closed: bool,
    /// The consumer went away; pushing is pointless.
    abandoned: bool,
}

/// Called when the queue becomes readable (empty to non-empty, or closed). It runs on the
/// producer's thread, so it must not block; the Python binding writes a byte to a socket.
pub type Notifier = Box<dyn Fn() + Send + Sync>;

pub struct EventQueue {
    inner: Mutex<Inner>,
    readable: Notify,
    writable: Notify,
    capacity: usize,
    notifier: Option<Notifier>,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("inner", &self.inner)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// The consumer is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abandoned;

impl EventQueue {
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner { events: VecDeque::new(), closed: false, abandoned: false }),
            readable: Notify::new(),
            writable: Notify::new(),
            capacity: capacity.max(1),
            notifier: None,
        }
    }

    /// A queue that also calls `notifier` whenever it becomes readable.
    #[must_use]
    pub fn with_notifier(capacity: usize, notifier: Notifier) -> Self {
        Self { notifier: Some(notifier), ..Self::new(capacity) }
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
                    let was_empty = g.events.is_empty();
                    g.events.extend(batch.drain(..));
                    drop(g);
                    if was_empty {
                        self.notify_readable();
                    }
                    return Ok(());
                }
            }
            self.writable.notified().await;
        }
    }

    /// The producer is done.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify_readable();
    }

    /// Take everything queued.
    pub fn drain(&self) -> Vec<StreamEvent> {
        let mut g = self.lock();
        let was_full = g.events.len() >= self.capacity;
        let out: Vec<StreamEvent> = g.events.drain(..).collect();
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
