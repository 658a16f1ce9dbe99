//! The arithmetic of a link, apart from I/O: when bytes finish crossing the link's
//! bandwidth ([`Bottleneck`]), and when they come out of the delay line
//! ([`DelayLine`]).

use std::time::Duration;

use tokio::time::Instant;

use super::profile::Bandwidth;

/// The bandwidth of one direction of a link, shared by all its connections: bytes
/// cross it one after another, in the order they arrive, at its rate. A token bucket
/// that holds no burst: an idle link saves nothing up, as a real line does not.
#[derive(Debug)]
pub struct Bottleneck {
    bandwidth: Bandwidth,
    /// When the bytes reserved so far have all crossed.
    free_at: Option<Instant>,
}

impl Bottleneck {
    pub fn new(bandwidth: Bandwidth) -> Self {
        Self {
            bandwidth,
            free_at: None,
        }
    }

    /// Reserves the link for `bytes` arriving at `now`: they start crossing when the
    /// bytes ahead of them have crossed, and this returns when their last bit has.
    pub fn reserve(&mut self, bytes: usize, now: Instant) -> Instant {
        let start = self.free_at.map_or(now, |free| free.max(now));
        let done = start + transmission_time(bytes, self.bandwidth);
        self.free_at = Some(done);
        done
    }
}

/// How long `bytes` take at `bandwidth` (rounded up to the nanosecond).
pub fn transmission_time(bytes: usize, bandwidth: Bandwidth) -> Duration {
    let bits = bytes as u128 * 8;
    let nanos = (bits * 1_000_000_000).div_ceil(u128::from(bandwidth.bits_per_second));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// One direction of one connection: when each chunk that arrived comes out.
#[derive(Debug, Clone, Copy)]
pub struct DelayLine {
    rtt: Duration,
    one_way: Duration,
    /// Until then, the connection is in the TCP handshake a real network would take.
    opens_at: Instant,
    /// When the previous chunk came out: order is kept.
    last_due: Option<Instant>,
}

impl DelayLine {
    /// A delay line of a connection accepted at `accepted`, over a link of `rtt`:
    /// half the round trip each way, and bytes sent during the first round trip wait
    /// it out (the handshake the kernel does at once on loopback).
    pub fn new(rtt: Duration, accepted: Instant) -> Self {
        Self {
            rtt,
            one_way: rtt / 2,
            opens_at: accepted + rtt,
            last_due: None,
        }
    }

    /// A delay line already open at `now`: no handshake's round trip (QUIC's
    /// datagrams, whose handshake pays its own round trips through the line).
    pub fn open(rtt: Duration, now: Instant) -> Self {
        Self {
            rtt,
            one_way: rtt / 2,
            opens_at: now,
            last_due: None,
        }
    }

    /// When a chunk of `bytes` that arrived at `arrived` comes out: after it has
    /// crossed `bottleneck` (if the direction is limited), plus the one-way delay, and
    /// not before the chunks that arrived before it.
    pub fn due(
        &mut self,
        bytes: usize,
        arrived: Instant,
        bottleneck: Option<&mut Bottleneck>,
    ) -> Instant {
        // On a real network it could only have been sent a round trip later, once
        // the handshake was done. It takes its turn at the bandwidth now, though: a
        // reservation in the future would leave the shared link idle until then.
        let handshake = if arrived < self.opens_at {
            self.rtt
        } else {
            Duration::ZERO
        };
        let crossed = match bottleneck {
            Some(bottleneck) => bottleneck.reserve(bytes, arrived),
            None => arrived,
        } + handshake;
        let due = self.last_due.map_or(crossed + self.one_way, |last| {
            last.max(crossed + self.one_way)
        });
        self.last_due = Some(due);
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EIGHT_MBIT: Bandwidth = Bandwidth::bits_per_second(8_000_000);

    #[test]
    fn a_mebibyte_at_8_mbit_takes_1_05_s() {
        assert_eq!(
            transmission_time(1 << 20, EIGHT_MBIT),
            Duration::from_nanos(1_048_576_000)
        );
        // Rounded up, never to zero.
        assert_eq!(
            transmission_time(1, Bandwidth::bits_per_second(3)),
            Duration::from_nanos(2_666_666_667)
        );
    }

    #[test]
    fn the_bottleneck_queues_chunks_back_to_back_and_saves_nothing_when_idle() {
        let now = Instant::now();
        let mut link = Bottleneck::new(EIGHT_MBIT);
        let ms = Duration::from_millis;
        // 1,000 bytes = 1 ms at 8 Mbit/s.
        assert_eq!(link.reserve(1_000, now), now + ms(1));
        // Arriving while the link is busy: behind the first.
        assert_eq!(link.reserve(2_000, now), now + ms(3));
        assert_eq!(link.reserve(1_000, now + ms(2)), now + ms(4));
        // Arriving after the link went idle: starts at once, with no credit.
        assert_eq!(link.reserve(1_000, now + ms(10)), now + ms(11));
    }

    #[test]
    fn six_connections_sharing_a_bottleneck_take_six_times_as_long() {
        let now = Instant::now();
        let mut link = Bottleneck::new(EIGHT_MBIT);
        let mut last = now;
        // Interleaved 16 KiB chunks of six 1 MiB downloads.
        for _ in 0..64 {
            for _ in 0..6 {
                last = link.reserve(16 * 1024, now);
            }
        }
        assert_eq!(last - now, transmission_time(6 << 20, EIGHT_MBIT));
    }

    #[test]
    fn the_delay_line_waits_a_round_trip_then_half_a_round_trip_per_chunk() {
        let accepted = Instant::now();
        let ms = Duration::from_millis;
        let mut line = DelayLine::new(ms(100), accepted);
        // The first bytes, sent at once: the handshake's round trip, then one way.
        assert_eq!(line.due(100, accepted, None), accepted + ms(150));
        // Sent a little later during the handshake: as much later.
        assert_eq!(line.due(100, accepted + ms(99), None), accepted + ms(249));
        // Sent after it: not before what was sent during it.
        assert_eq!(line.due(100, accepted + ms(101), None), accepted + ms(249));
        // On an open connection: one way.
        assert_eq!(line.due(100, accepted + ms(500), None), accepted + ms(550));
        // Limited: crossing the bottleneck, then one way.
        let mut link = Bottleneck::new(EIGHT_MBIT);
        let due = line.due(10_000, accepted + ms(500), Some(&mut link));
        assert_eq!(due, accepted + ms(500 + 10 + 50));
        // A new connection's first bytes take their turn at the shared bandwidth at
        // once, and wait out the handshake after it: the link does not sit idle.
        let mut new = DelayLine::new(ms(100), accepted + ms(500));
        let due = new.due(10_000, accepted + ms(500), Some(&mut link));
        assert_eq!(due, accepted + ms(500 + 20 + 100 + 50));
        assert_eq!(
            line.due(10_000, accepted + ms(500), Some(&mut link)),
            accepted + ms(500 + 30 + 50)
        );
        // An open line (datagrams): one way from the first byte.
        let mut open = DelayLine::open(ms(100), accepted);
        assert_eq!(open.due(100, accepted, None), accepted + ms(50));
    }
}
