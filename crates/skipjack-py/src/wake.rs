//! The descriptor that tells asyncio a stream has events to drain.
//!
//! On Linux it is an eventfd: one descriptor, and a write is a counter increment, where a
//! socket pair's write allocates and queues a buffer on the peer. Elsewhere it is a socket
//! pair. Either way waking Python never calls into Python (see `stream.rs`).

use std::io;
use std::os::fd::{AsRawFd, RawFd};

#[cfg(target_os = "linux")]
pub struct Wake(std::os::fd::OwnedFd);

#[cfg(target_os = "linux")]
impl Wake {
    pub fn new() -> io::Result<Self> {
        use rustix::event::{eventfd, EventfdFlags};
        Ok(Self(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?))
    }

    /// Make the descriptor readable. Never blocks: the counter cannot realistically reach
    /// its limit, and a failed write would still leave an unread wake-up behind.
    pub fn signal(&self) {
        let _ = rustix::io::write(&self.0, &1u64.to_ne_bytes());
    }

    /// Consume every pending wake-up (one read resets the counter).
    pub fn clear(&self) {
        let mut buf = [0u8; 8];
        while let Err(rustix::io::Errno::INTR) = rustix::io::read(&self.0, &mut buf) {}
    }
}

#[cfg(target_os = "linux")]
impl AsRawFd for Wake {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(not(target_os = "linux"))]
pub struct Wake {
    read: std::os::unix::net::UnixStream,
    write: std::os::unix::net::UnixStream,
}

#[cfg(not(target_os = "linux"))]
impl Wake {
    pub fn new() -> io::Result<Self> {
        let (read, write) = std::os::unix::net::UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(Self { read, write })
    }

    pub fn signal(&self) {
        use std::io::Write;
        // A full socket already holds an unread wake-up, so a failed write loses nothing.
        let _ = (&self.write).write(&[1]);
    }

    pub fn clear(&self) {
        use std::io::Read;
        let mut buf = [0u8; 256];
        loop {
            match (&self.read).read(&mut buf) {
                Ok(n) if n == buf.len() => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => break,
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl AsRawFd for Wake {
    fn as_raw_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }
}
