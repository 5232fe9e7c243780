//! A socket wrapper that notes when bytes first and last went each way, so a
//! request's sending, waiting and receiving phases can be told apart, and counts
//! the bytes on the wire for `data_sent` and `data_received`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Timestamps (nanoseconds after `base`, 0 = not yet) and byte counts of the
/// traffic since the last [`IoMarks::reset`].
#[derive(Debug)]
pub struct IoMarks {
    base: Instant,
    first_write: AtomicU64,
    last_write: AtomicU64,
    first_read: AtomicU64,
    written: AtomicU64,
    read: AtomicU64,
}

/// What [`IoMarks`] saw between a reset and now.
#[derive(Debug, Clone, Copy)]
pub struct IoWindow {
    /// When the first byte was written.
    pub first_write: Option<Instant>,
    /// When the last byte was written.
    pub last_write: Option<Instant>,
    /// When the first byte was read.
    pub first_read: Option<Instant>,
    /// Bytes written.
    pub written: u64,
    /// Bytes read.
    pub read: u64,
}

impl IoMarks {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            first_write: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            first_read: AtomicU64::new(0),
            written: AtomicU64::new(0),
            read: AtomicU64::new(0),
        }
    }

    /// Starts a new window (call before each request on the connection).
    pub fn reset(&self) {
        for mark in [
            &self.first_write,
            &self.last_write,
            &self.first_read,
            &self.written,
            &self.read,
        ] {
            mark.store(0, Ordering::Relaxed);
        }
    }

    /// The traffic since the last reset.
    pub fn window(&self) -> IoWindow {
        let at = |mark: &AtomicU64| match mark.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(self.base + Duration::from_nanos(nanos)),
        };
        IoWindow {
            first_write: at(&self.first_write),
            last_write: at(&self.last_write),
            first_read: at(&self.first_read),
            written: self.written.load(Ordering::Relaxed),
            read: self.read.load(Ordering::Relaxed),
        }
    }

    fn now(&self) -> u64 {
        (self.base.elapsed().as_nanos() as u64).max(1)
    }

    fn wrote(&self, bytes: usize) {
        let now = self.now();
        let _ = self
            .first_write
            .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
        self.last_write.store(now, Ordering::Release);
        self.written.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn was_read(&self, bytes: usize) {
        let now = self.now();
        let _ = self
            .first_read
            .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
        self.read.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// An I/O stream that reports its traffic to shared [`IoMarks`].
pub struct TimedIo<T> {
    inner: T,
    marks: Arc<IoMarks>,
}

impl<T> TimedIo<T> {
    /// Wraps `inner`; the returned marks observe it.
    pub fn new(inner: T) -> (Self, Arc<IoMarks>) {
        let marks = Arc::new(IoMarks::new());
        (
            Self {
                inner,
                marks: marks.clone(),
            },
            marks,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.marks.was_read(read);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            self.marks.wrote(n);
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            self.marks.wrote(n);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
