//! Requests per API route since the backend started, reported by `GET /api/v1/status`:
//! a client (or a test) can see whether a page still sends anything, e.g. after Stop.
//!
//! Every REST path and gRPC method path of the contract has a fixed slot in a table of
//! atomics; paths under `/api/` or the gRPC service that name no route share one more.
//! Counting a request is a path comparison and one relaxed `fetch_add`: no lock, no
//! allocation, on every API call the benchmark compares with a bare route.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use lab_proto::contract::{grpc, rest};
use tower::{Layer, Service};

/// The counted routes, in slot order: the contract's REST paths, its gRPC method
/// paths, then the unknown-route key.
const ROUTES: [&str; SLOTS] = [
    rest::PING,
    rest::RECORDS,
    rest::RECORDS_STREAM,
    rest::UPLOADS,
    rest::STATUS,
    rest::SHAPES,
    rest::UPLOADS_STREAM,
    rest::ECHO,
    rest::SERVICE_RUNS,
    grpc::PING,
    grpc::FETCH,
    grpc::UPLOAD,
    grpc::STREAM,
    grpc::FETCH_CUSTOM,
    grpc::UPLOAD_CUSTOM,
    grpc::STREAM_CUSTOM,
    grpc::UPLOAD_STREAM,
    grpc::ECHO,
    rest::UNKNOWN_ROUTE,
];
const SLOTS: usize = rest::ROUTES.len() + grpc::METHODS.len() + 1;

/// The slot of a request for `path` (already routed to the API or the gRPC service).
fn slot(path: &str) -> usize {
    match path {
        rest::PING => 0,
        rest::RECORDS => 1,
        rest::RECORDS_STREAM => 2,
        rest::UPLOADS => 3,
        rest::STATUS => 4,
        rest::UPLOADS_STREAM => 6,
        rest::ECHO => 7,
        rest::SERVICE_RUNS => 8,
        grpc::PING => 9,
        grpc::FETCH => 10,
        grpc::UPLOAD => 11,
        grpc::STREAM => 12,
        grpc::FETCH_CUSTOM => 13,
        grpc::UPLOAD_CUSTOM => 14,
        grpc::STREAM_CUSTOM => 15,
        grpc::UPLOAD_STREAM => 16,
        grpc::ECHO => 17,
        // A shape's info and descriptors (`/api/v1/shapes/{id}…`) count as the route.
        shapes
            if shapes
                .strip_prefix(rest::SHAPES)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')) =>
        {
            5
        }
        _ => SLOTS - 1,
    }
}

/// One counter per cache line: concurrent requests to different routes do not
/// contend for the same line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Counter(AtomicU64);

/// The request counters of one backend (shared by its clones).
#[derive(Debug, Clone, Default)]
pub struct RequestCounts(Arc<[Counter; SLOTS]>);

impl RequestCounts {
    /// Counts one request for `path`.
    pub fn record(&self, path: &str) {
        self.0[slot(path)].0.fetch_add(1, Ordering::Relaxed);
    }

    /// Route → requests so far, every route included (zeros too).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        ROUTES
            .iter()
            .zip(self.0.iter())
            .map(|(route, counter)| ((*route).to_owned(), counter.0.load(Ordering::Relaxed)))
            .collect()
    }
}

/// Counts every request that passes through it by its path.
#[derive(Debug, Clone)]
pub struct CountLayer(pub RequestCounts);

impl<S> Layer<S> for CountLayer {
    type Service = Count<S>;

    fn layer(&self, inner: S) -> Count<S> {
        Count {
            inner,
            counts: self.0.clone(),
        }
    }
}

/// The service of [`CountLayer`].
#[derive(Debug, Clone)]
pub struct Count<S> {
    inner: S,
    counts: RequestCounts,
}

impl<S, B> Service<http::Request<B>> for Count<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.counts.record(request.uri().path());
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_contract_has_its_own_slot() {
        for (i, route) in ROUTES.iter().enumerate() {
            assert_eq!(slot(route), i, "{route}");
        }
        for route in rest::ROUTES.iter().chain(&grpc::METHODS) {
            assert!(ROUTES.contains(route), "{route} is not counted");
        }
    }

    #[test]
    fn counts_each_route_apart_and_unknown_paths_together() {
        let counts = RequestCounts::default();
        counts.record(rest::PING);
        counts.record(rest::PING);
        counts.record(grpc::STREAM);
        counts.record(&format!("{}/0123/descriptor", rest::SHAPES));
        counts.record(&format!("{}x", rest::SHAPES));
        counts.record("/api/v2/nothing");
        counts.record(&format!("/{}/Explode", grpc::SERVICE));
        let snapshot = counts.snapshot();
        assert_eq!(snapshot.len(), SLOTS);
        assert_eq!(snapshot[rest::PING], 2);
        assert_eq!(snapshot[grpc::STREAM], 1);
        assert_eq!(snapshot[rest::SHAPES], 1);
        assert_eq!(snapshot[rest::UNKNOWN_ROUTE], 3);
        assert_eq!(snapshot[grpc::PING], 0);
    }
}
