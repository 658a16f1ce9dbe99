//! The producer behind the server-streaming endpoints (gRPC server streams and REST
//! SSE), and the gauge every long-lived stream holds a slot of (client and
//! bidirectional streams too: `incoming_records`).
//!
//! Records are generated lazily, as the transport polls for the next message: when a
//! client goes away the transport drops the stream, and with it all remaining work.
//! No task is spawned that could outlive its client. [`LiveStreams`] counts the
//! streams alive right now, so tests (and operators, at `/api/v1/status`) can see that
//! drop happen, and refuses new streams beyond its limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::Stream;
use lab_proto::dataset::Generator;
use lab_proto::v1::StreamResponse;

use crate::workload::{RecordsSpec, RequestError};

/// The record streams currently being produced, up to a limit.
#[derive(Debug, Clone)]
pub struct LiveStreams {
    current: Arc<AtomicUsize>,
    max: usize,
}

impl LiveStreams {
    /// A gauge that admits at most `max` streams at once.
    pub fn new(max: usize) -> Self {
        Self {
            current: Arc::default(),
            max,
        }
    }

    /// Streams alive right now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::SeqCst)
    }

    /// The most streams admitted at once.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot for a stream of any kind (a client stream, a bidirectional one), held
    /// until the guard is dropped; [`RequestError::Busy`] at the limit.
    pub fn admit(&self) -> Result<LiveStreamGuard, RequestError> {
        self.enter()
    }

    fn enter(&self) -> Result<LiveStreamGuard, RequestError> {
        // Take a slot, give it back if there was none: a refused attempt shows in the
        // gauge for an instant at most.
        let guard = LiveStreamGuard(self.current.clone());
        if self.current.fetch_add(1, Ordering::SeqCst) >= self.max {
            drop(guard);
            return Err(RequestError::Busy(format!(
                "the server is already producing its maximum of {} streams: retry when one ends",
                self.max
            )));
        }
        Ok(guard)
    }
}

/// Decrements the gauge when its stream is dropped, finished or not.
#[derive(Debug)]
pub struct LiveStreamGuard(Arc<AtomicUsize>);

impl Drop for LiveStreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Producer<F> {
    next: F,
    seq: u64,
    remaining: u32,
    interval: Duration,
    _guard: LiveStreamGuard,
}

/// `count` messages made by `next(seq)` (from 1), `interval` apart (the first one
/// without delay), or [`RequestError::Busy`] when `live` is at its limit.
pub fn paced<T, F>(
    count: u32,
    interval: Duration,
    live: &LiveStreams,
    next: F,
) -> Result<impl Stream<Item = T> + Send + use<T, F>, RequestError>
where
    T: Send,
    F: FnMut(u64) -> T + Send,
{
    let producer = Producer {
        next,
        seq: 0,
        remaining: count,
        interval,
        _guard: live.enter()?,
    };
    Ok(futures_util::stream::unfold(producer, |mut p| async move {
        if p.remaining == 0 {
            return None;
        }
        if p.seq > 0 && !p.interval.is_zero() {
            tokio::time::sleep(p.interval).await;
        }
        p.remaining -= 1;
        p.seq += 1;
        let message = (p.next)(p.seq);
        Some((message, p))
    }))
}

/// A built-in shape's `spec.count` records, as [`paced`] messages.
pub fn records(
    spec: RecordsSpec,
    interval: Duration,
    live: &LiveStreams,
) -> Result<impl Stream<Item = StreamResponse> + Send + use<>, RequestError> {
    let mut generator = Generator::new(spec.shape, spec.seed);
    paced(spec.count, interval, live, move |seq| StreamResponse {
        seq,
        record: Some(generator.next_record()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use lab_proto::v1::Shape;

    #[tokio::test]
    async fn yields_count_messages_in_order_and_releases_the_gauge() {
        let live = LiveStreams::new(1);
        let spec = RecordsSpec::new(Shape::Log, 5, 3).unwrap();
        let stream = records(spec, Duration::ZERO, &live).unwrap();
        assert_eq!(live.current(), 1);
        let seqs: Vec<u64> = stream.map(|m| m.seq).collect().await;
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(live.current(), 0);
    }

    #[tokio::test]
    async fn dropping_a_stream_midway_releases_the_gauge() {
        let live = LiveStreams::new(1);
        let spec = RecordsSpec::new(Shape::Telemetry, 1_000, 3).unwrap();
        let mut stream = Box::pin(records(spec, Duration::from_millis(1), &live).unwrap());
        assert!(stream.next().await.is_some());
        assert_eq!(live.current(), 1);
        drop(stream);
        assert_eq!(live.current(), 0);
    }

    #[tokio::test]
    async fn streams_beyond_the_limit_are_refused_until_one_ends() {
        let live = LiveStreams::new(2);
        let spec = RecordsSpec::new(Shape::Log, 10, 3).unwrap();
        let first = records(spec, Duration::ZERO, &live).unwrap();
        let _second = records(spec, Duration::ZERO, &live).unwrap();
        let Err(RequestError::Busy(msg)) = records(spec, Duration::ZERO, &live) else {
            panic!("a third stream was admitted")
        };
        assert!(msg.contains("maximum of 2 streams"), "{msg}");
        assert_eq!(live.current(), 2);
        drop(first);
        assert!(records(spec, Duration::ZERO, &live).is_ok());
    }
}
