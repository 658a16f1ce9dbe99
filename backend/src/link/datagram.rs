//! The link under a QUIC listener: its UDP socket, wrapped as quinn's
//! [`AsyncUdpSocket`], so that every datagram crosses the same emulated network as a
//! TCP listener's bytes do: the link's bandwidth per direction (its
//! [`Bottleneck`](super::timing::Bottleneck), shared by all the listener's
//! connections), then half the round trip ([`DelayLine`], order kept). There is no
//! extra round trip for a handshake: QUIC's own handshake pays its round trips through
//! the line.
//!
//! A datagram is dropped, as on a real network, when its direction already holds the
//! most it may ([`super::buffer_limit`]: a router's full queue, tail drop) or, with a
//! `loss` in the profile, at random (each way); QUIC notices and sends again. Sent
//! datagrams wait in a queue that one task empties when each is due; received ones
//! are taken from the real socket as they come and handed to quinn when due.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use quinn::udp::{EcnCodepoint, RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use super::timing::DelayLine;
use super::{Direction, Shared};

/// The largest UDP payload (also what one read with GRO may return, at most).
const MAX_DATAGRAM_BYTES: usize = 65_535;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Wraps `inner` (the QUIC listener's bound socket) in the link of `shared`.
pub(super) fn carry(
    shared: Arc<Shared>,
    inner: Arc<dyn AsyncUdpSocket>,
) -> Arc<dyn AsyncUdpSocket> {
    let now = Instant::now();
    let rtt = shared.profile.rtt;
    let down = Arc::new(SendQueue {
        state: Mutex::new(Queue::new(DelayLine::open(rtt, now))),
        ready: Notify::new(),
    });
    tokio::spawn(send_when_due(inner.clone(), down.clone()));
    let loss = Loss::new(shared.profile.loss_per_million);
    Arc::new(LinkedSocket {
        inner,
        down,
        up: Mutex::new(Receiving {
            queue: Queue::new(DelayLine::open(rtt, now)),
            timer: Box::pin(tokio::time::sleep_until(now)),
            scratch: vec![0; MAX_DATAGRAM_BYTES],
        }),
        loss,
        shared,
    })
}

/// One datagram in a delay line.
struct Datagram {
    due: Instant,
    contents: Bytes,
    /// Where it goes (sent) or where it came from (received), and the rest of its
    /// envelope.
    peer: SocketAddr,
    ecn: Option<EcnCodepoint>,
    /// Sent: the source address to use; received: the address it was sent to.
    local_ip: Option<IpAddr>,
}

/// One direction's datagrams in flight, in the order they come out.
struct Queue {
    line: DelayLine,
    datagrams: VecDeque<Datagram>,
    held: usize,
    closed: bool,
}

impl Queue {
    fn new(line: DelayLine) -> Self {
        Self {
            line,
            datagrams: VecDeque::new(),
            held: 0,
            closed: false,
        }
    }

    /// Puts a datagram on the line (its bandwidth, then half the round trip), or drops
    /// it when the direction holds its most already. Whether it was kept.
    fn push(
        &mut self,
        direction: &Direction,
        contents: &[u8],
        peer: SocketAddr,
        ecn: Option<EcnCodepoint>,
        local_ip: Option<IpAddr>,
    ) -> bool {
        let bytes = contents.len();
        if self.held + bytes > direction.limit {
            return false;
        }
        let now = Instant::now();
        let due = match &direction.bottleneck {
            Some(shared) => self.line.due(bytes, now, Some(&mut lock(shared))),
            None => self.line.due(bytes, now, None),
        };
        self.datagrams.push_back(Datagram {
            due,
            contents: Bytes::copy_from_slice(contents),
            peer,
            ecn,
            local_ip,
        });
        self.held += bytes;
        true
    }

    /// The first datagram, if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Datagram> {
        if self.datagrams.front()?.due > now {
            return None;
        }
        let datagram = self.datagrams.pop_front()?;
        self.held -= datagram.contents.len();
        Some(datagram)
    }

    fn next_due(&self) -> Option<Instant> {
        self.datagrams.front().map(|d| d.due)
    }
}

/// Server to client: what quinn sent, waiting for its time.
struct SendQueue {
    state: Mutex<Queue>,
    ready: Notify,
}

/// Client to server: what arrived, waiting for its time, and the buffer reads go to.
struct Receiving {
    queue: Queue,
    /// Wakes quinn's reader when the first datagram is due.
    timer: Pin<Box<Sleep>>,
    scratch: Vec<u8>,
}

/// Random loss: xorshift64*, seeded from the clock (not reproducible, not needed to
/// be: the counts of lost datagrams over a run are what matter).
struct Loss {
    per_million: u32,
    state: AtomicU64,
}

impl Loss {
    fn new(per_million: u32) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64)
            | 1;
        Self {
            per_million,
            state: AtomicU64::new(seed),
        }
    }

    /// Whether the next datagram is lost.
    fn drops(&self) -> bool {
        if self.per_million == 0 {
            return false;
        }
        let mut x = self.state.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.store(x, Ordering::Relaxed);
        let random = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (random >> 32) % 1_000_000 < u64::from(self.per_million)
    }
}

/// The QUIC listener's socket behind the link.
struct LinkedSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    shared: Arc<Shared>,
    down: Arc<SendQueue>,
    up: Mutex<Receiving>,
    loss: Loss,
}

impl fmt::Debug for LinkedSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedSocket")
            .field("inner", &self.inner)
            .field("profile", &self.shared.profile)
            .finish_non_exhaustive()
    }
}

impl Drop for LinkedSocket {
    fn drop(&mut self) {
        lock(&self.down.state).closed = true;
        self.down.ready.notify_one();
    }
}

/// Sending never waits: a datagram goes into the delay line or is dropped.
#[derive(Debug)]
struct AlwaysWritable;

impl UdpPoller for AlwaysWritable {
    fn poll_writable(self: Pin<&mut Self>, _cx: &mut Context) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncUdpSocket for LinkedSocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        Box::pin(AlwaysWritable)
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        // One datagram per transmit (no GSO: see `max_transmit_segments`), split
        // anyway should quinn batch some.
        let size = transmit
            .segment_size
            .unwrap_or(transmit.contents.len())
            .max(1);
        let mut kept = false;
        {
            let mut queue = lock(&self.down.state);
            for datagram in transmit.contents.chunks(size) {
                if self.loss.drops() {
                    continue;
                }
                kept |= queue.push(
                    &self.shared.down,
                    datagram,
                    transmit.destination,
                    transmit.ecn,
                    transmit.src_ip,
                );
            }
        }
        if kept {
            self.down.ready.notify_one();
        }
        Ok(())
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let mut up = lock(&self.up);
        let Receiving {
            queue,
            timer,
            scratch,
        } = &mut *up;
        // Take in everything that arrived (until the real socket would block, which
        // registers this task to be woken by the next arrival).
        loop {
            let mut arrived = [RecvMeta::default()];
            let polled = {
                let mut buf = [IoSliceMut::new(scratch)];
                self.inner.poll_recv(cx, &mut buf, &mut arrived)
            };
            match polled {
                Poll::Pending => break,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Ready(Ok(0)) => break,
                Poll::Ready(Ok(_)) => {
                    let envelope = arrived[0];
                    let stride = match envelope.stride {
                        0 => envelope.len.max(1),
                        stride => stride,
                    };
                    // GRO: several datagrams of `stride` bytes in one read.
                    for datagram in scratch[..envelope.len].chunks(stride) {
                        if !self.loss.drops() {
                            queue.push(
                                &self.shared.up,
                                datagram,
                                envelope.addr,
                                envelope.ecn,
                                envelope.dst_ip,
                            );
                        }
                    }
                }
            }
        }
        // Hand quinn what is due.
        let now = Instant::now();
        let mut filled = 0;
        while filled < bufs.len().min(meta.len()) {
            let Some(datagram) = queue.pop_due(now) else {
                break;
            };
            let len = datagram.contents.len().min(bufs[filled].len());
            bufs[filled][..len].copy_from_slice(&datagram.contents[..len]);
            meta[filled] = RecvMeta {
                addr: datagram.peer,
                len,
                stride: len,
                ecn: datagram.ecn,
                dst_ip: datagram.local_ip,
            };
            filled += 1;
        }
        if filled > 0 {
            return Poll::Ready(Ok(filled));
        }
        // Nothing due: be woken when the first one is.
        if let Some(due) = queue.next_due() {
            timer.as_mut().reset(due);
            if timer.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn max_transmit_segments(&self) -> usize {
        1
    }

    fn max_receive_segments(&self) -> usize {
        1
    }

    fn may_fragment(&self) -> bool {
        self.inner.may_fragment()
    }
}

/// Sends each queued datagram on the real socket when it is due, until the linked
/// socket is dropped. A datagram the socket refuses is lost, as it would be.
async fn send_when_due(inner: Arc<dyn AsyncUdpSocket>, queue: Arc<SendQueue>) {
    let mut writable = inner.clone().create_io_poller();
    loop {
        let next = {
            let state = lock(&queue.state);
            if state.closed {
                return;
            }
            state.next_due()
        };
        match next {
            None => queue.ready.notified().await,
            Some(due) if due > Instant::now() => {
                // Later datagrams are due later (order is kept): only closing needs
                // waking earlier.
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    () = queue.ready.notified() => {}
                }
            }
            Some(_) => {
                let Some(datagram) = lock(&queue.state).pop_due(Instant::now()) else {
                    continue;
                };
                let transmit = Transmit {
                    destination: datagram.peer,
                    ecn: datagram.ecn,
                    contents: &datagram.contents,
                    segment_size: None,
                    src_ip: datagram.local_ip,
                };
                loop {
                    match inner.try_send(&transmit) {
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                            let ready =
                                std::future::poll_fn(|cx| writable.as_mut().poll_writable(cx))
                                    .await;
                            if ready.is_err() {
                                break;
                            }
                        }
                        Err(err) => {
                            tracing::debug!("a linked datagram was not sent: {err}");
                            break;
                        }
                        Ok(()) => break,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_drops_about_its_share() {
        let loss = Loss::new(100_000);
        let dropped = (0..100_000).filter(|_| loss.drops()).count();
        assert!(
            (9_000..11_000).contains(&dropped),
            "{dropped} of 100,000 at 10%"
        );
        let none = Loss::new(0);
        assert!((0..1_000).all(|_| !none.drops()));
    }
}
