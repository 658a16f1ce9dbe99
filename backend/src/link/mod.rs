//! The link emulator: a network between the lab's clients and its server, below TLS
//! and HTTP, so that round trips and bytes cost the time a real network makes them
//! cost (loopback costs microseconds).
//!
//! Every connection accepted on a listener with a [`Link`] (each offered network has
//! its own listeners, each with a link of its own) passes through it in each
//! direction: a delay line (half the round trip; order kept: each chunk is stamped
//! when it arrives and released when due) behind the link's bandwidth, a
//! [`timing::Bottleneck`] per direction shared by **all** the link's connections (six
//! HTTP/1.1 connections get one link's bandwidth, not six). A new connection's first
//! bytes wait one round trip more: the TCP handshake the kernel does at once on
//! loopback. TLS handshakes then pay their own round trips through the delay line.
//!
//! Memory is bounded per connection: a direction holds at most [`buffer_limit`]
//! bytes in its delay line, then stops reading its source (backpressure, as a full TCP
//! window). A connection's pump ends when the server closes its side (after
//! delivering what is in flight) or when the client is gone.
//!
//! A QUIC listener's link carries datagrams instead ([`datagram`]): the same
//! bandwidth and delay line per direction, a full queue dropping datagrams, and the
//! profile's `loss` (QUIC only: a TCP connection's byte stream cannot lose bytes
//! here). The profiles are in [`profile`]; the design, and how the page chooses a
//! network per run, in docs/network-profiles.md.

pub mod datagram;
pub mod profile;
pub mod timing;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;

pub use profile::{Bandwidth, LinkProfile};
use timing::{Bottleneck, DelayLine};

/// What a direction holds in its delay line beyond what its bandwidth carries in one
/// round trip (the window a real TCP connection would have in flight).
const QUEUE_BYTES: usize = 256 * 1024;

/// The most a direction holds in its delay line, whatever the profile.
const MAX_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// The largest chunk read at once (and stamped with one arrival time).
const CHUNK_BYTES: usize = 16 * 1024;

/// The smallest: a full TCP segment's payload on Ethernet.
const SEGMENT_BYTES: usize = 1_460;

/// The largest chunk a direction reads at once: what its bandwidth carries in a
/// millisecond, from one segment to [`CHUNK_BYTES`]. A chunk's first byte leaves when
/// its last has crossed the bandwidth, so a first byte (a response's head, its time to
/// first byte) arrives at most one chunk's time later than on a real link: one
/// segment's time on slow links (7 ms at 1.6 Mbit/s; 16 KiB would be 80 ms).
fn chunk_bytes(bandwidth: Option<Bandwidth>) -> usize {
    bandwidth.map_or(CHUNK_BYTES, |b| {
        let per_millisecond = (b.bits_per_second / 8 / 1_000) as usize;
        per_millisecond.clamp(SEGMENT_BYTES, CHUNK_BYTES)
    })
}

/// The pipe between a connection's pump and the server (per direction).
const PIPE_BYTES: usize = 64 * 1024;

/// One emulated link: a profile and the bandwidth its connections share. Cloning it
/// shares the link.
#[derive(Debug, Clone)]
pub struct Link {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    profile: LinkProfile,
    /// Server to client.
    down: Direction,
    /// Client to server.
    up: Direction,
    /// Connections whose pump is running.
    connections: AtomicUsize,
}

/// One direction of the link: its shared bandwidth and what each connection's pump
/// may hold and read at once, fixed by the profile.
#[derive(Debug)]
struct Direction {
    /// `None`: not limited.
    bottleneck: Option<Mutex<Bottleneck>>,
    /// The most a connection's delay line holds ([`buffer_limit`]).
    limit: usize,
    /// The largest chunk read at once ([`chunk_bytes`]).
    chunk: usize,
}

impl Direction {
    fn new(rtt: Duration, bandwidth: Option<Bandwidth>) -> Self {
        Self {
            bottleneck: bandwidth.map(|b| Mutex::new(Bottleneck::new(b))),
            limit: buffer_limit(rtt, bandwidth),
            chunk: chunk_bytes(bandwidth),
        }
    }
}

/// The most one direction of one connection holds in its delay line: what `bandwidth`
/// carries in a round trip, plus a queue; at most 4 MiB (and that when the direction
/// is not limited).
fn buffer_limit(rtt: Duration, bandwidth: Option<Bandwidth>) -> usize {
    bandwidth.map_or(MAX_BUFFER_BYTES, |bandwidth| {
        let in_flight = rtt.as_secs_f64() * bandwidth.bits_per_second as f64 / 8.0;
        (QUEUE_BYTES + in_flight as usize).min(MAX_BUFFER_BYTES)
    })
}

impl Link {
    pub fn new(profile: LinkProfile) -> Self {
        Self {
            shared: Arc::new(Shared {
                down: Direction::new(profile.rtt, profile.down),
                up: Direction::new(profile.rtt, profile.up),
                profile,
                connections: AtomicUsize::new(0),
            }),
        }
    }

    pub fn profile(&self) -> &LinkProfile {
        &self.shared.profile
    }

    /// Connections carried right now (their pumps running).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Carries every datagram of a QUIC listener's socket over the link (see
    /// [`datagram`]): returns the socket quinn is to use.
    pub fn carry_datagrams(
        &self,
        udp: Arc<dyn quinn::AsyncUdpSocket>,
    ) -> Arc<dyn quinn::AsyncUdpSocket> {
        datagram::carry(self.shared.clone(), udp)
    }

    /// Carries the accepted connection `client` over the link: returns the server's
    /// end. A task pumps the bytes until the server's end is closed (and what it
    /// wrote has been delivered) or the client is gone.
    pub fn carry<S>(&self, client: S) -> DuplexStream
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let line = DelayLine::new(self.shared.profile.rtt, Instant::now());
        let (server_end, pump_end) = tokio::io::duplex(PIPE_BYTES);
        let (from_client, to_client) = tokio::io::split(client);
        let (from_server, to_server) = tokio::io::split(pump_end);
        let shared = self.shared.clone();
        shared.connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let up = async {
                one_way(from_client, to_server, line, &shared.up).await;
                // The server may still answer what came before the client's end.
                std::future::pending::<()>().await;
            };
            let down = one_way(from_server, to_client, line, &shared.down);
            tokio::select! {
                () = up => {}
                () = down => {}
            }
            shared.connections.fetch_sub(1, Ordering::Relaxed);
        });
        server_end
    }
}

/// Carries one direction: reads `source` in chunks of at most the direction's `chunk`
/// bytes while the delay line holds less than its `limit`, and writes each chunk to
/// `sink` when it is due. Ends when the source ended and everything was delivered
/// (then `sink` is shut down, as the peer's FIN), or when `sink` fails.
async fn one_way<R, W>(mut source: R, mut sink: W, mut line: DelayLine, direction: &Direction)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line_bytes: VecDeque<(Instant, Bytes)> = VecDeque::new();
    let mut held = 0usize;
    let mut source_open = true;
    let Direction {
        bottleneck,
        limit,
        chunk,
    } = direction;
    let mut scratch = vec![0; *chunk];
    loop {
        let next_due = line_bytes.front().map(|(due, _)| *due);
        let room = limit.saturating_sub(held).min(*chunk);
        tokio::select! {
            // Cancel-safe: a read that loses the race has read nothing.
            read = source.read(&mut scratch[..room]), if source_open && room > 0 => match read {
                Ok(0) | Err(_) => source_open = false,
                Ok(n) => {
                    let due = match bottleneck.as_ref() {
                        Some(shared) => {
                            let mut bottleneck = shared.lock().unwrap_or_else(|e| e.into_inner());
                            line.due(n, Instant::now(), Some(&mut bottleneck))
                        }
                        None => line.due(n, Instant::now(), None),
                    };
                    line_bytes.push_back((due, Bytes::copy_from_slice(&scratch[..n])));
                    held += n;
                }
            },
            () = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                if let Some((_, chunk)) = line_bytes.pop_front() {
                    held -= chunk.len();
                    if sink.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            }
        }
        if !source_open && line_bytes.is_empty() {
            let _ = sink.shutdown().await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn link(rtt_ms: u64, down: Option<u64>) -> Link {
        Link::new(LinkProfile {
            name: "test".to_owned(),
            rtt: Duration::from_millis(rtt_ms),
            down: down.map(Bandwidth::bits_per_second),
            up: None,
            loss_per_million: 0,
        })
    }

    #[test]
    fn chunks_are_a_millisecond_of_bandwidth_from_a_segment_to_16_kib() {
        let chunk = |bits| chunk_bytes(Some(Bandwidth::bits_per_second(bits)));
        assert_eq!(chunk(1_638_400), SEGMENT_BYTES, "mobile: one segment");
        assert_eq!(chunk(50_000_000), 6_250);
        assert_eq!(chunk(1_000_000_000), CHUNK_BYTES);
        assert_eq!(chunk_bytes(None), CHUNK_BYTES);
    }

    #[test]
    fn the_buffer_holds_a_round_trip_of_bandwidth_plus_a_queue_up_to_4_mib() {
        let intercontinental = Duration::from_millis(250);
        let fifty_mbit = Some(Bandwidth::bits_per_second(50_000_000));
        assert_eq!(
            buffer_limit(intercontinental, fifty_mbit),
            256 * 1024 + 1_562_500
        );
        assert_eq!(buffer_limit(intercontinental, None), 4 << 20);
        assert_eq!(
            buffer_limit(Duration::from_secs(10), fifty_mbit),
            4 << 20,
            "capped"
        );
    }

    /// Bytes come out one way later, in order, and the pump ends when both ends close.
    #[tokio::test(start_paused = true)]
    async fn bytes_come_out_half_a_round_trip_later_in_order() {
        let link = link(100, None);
        let (mut client, server_side) = tokio::io::duplex(1024);
        let mut server = link.carry(server_side);
        assert_eq!(link.connections(), 1);
        let start = Instant::now();
        client.write_all(b"hello ").await.unwrap();
        client.write_all(b"world").await.unwrap();
        let mut got = [0; 11];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello world");
        // The handshake's round trip, then one way.
        assert_eq!(start.elapsed(), Duration::from_millis(150));
        let sent = Instant::now();
        server.write_all(b"answer").await.unwrap();
        let mut answer = [0; 6];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(sent.elapsed(), Duration::from_millis(50));
        drop(server);
        drop(client);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(link.connections(), 0);
    }

    /// A server that stops reading stops the pump reading: it holds at most its limit.
    #[tokio::test(start_paused = true)]
    async fn a_full_delay_line_stops_reading_its_source() {
        let link = link(0, None);
        let (mut client, server_side) = tokio::io::duplex(CHUNK_BYTES);
        let _server = link.carry(server_side);
        let data = vec![7u8; 16 << 20];
        let written = tokio::time::timeout(Duration::from_secs(1), client.write_all(&data)).await;
        assert!(
            written.is_err(),
            "16 MiB went into a link whose server reads nothing"
        );
    }
}
