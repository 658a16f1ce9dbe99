//! What one point of a sweep (or one whole run) measured, per protocol and compared:
//! the figures the sweep charts draw, each with its 95% interval, and the inputs of
//! the claims panel. Computed once, from the point's samples after its warm-up, so a
//! sweep keeps a few numbers per point and never its samples.

use super::comparison::{self, CONFIDENCE, FIGURES};
use super::data::Sample;
use crate::stats::percentiles::percentile;
use crate::stats::ratio_interval::RatioEstimate;
use crate::stats::sample_interval::{Estimate, mean_interval, quantile_interval};
use crate::transport::Protocol;

/// One protocol's figures at a point. Medians and quantiles with their order-statistic
/// intervals; throughput and means with a t interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtocolFigures {
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: Option<Estimate>,
    pub p99_ms: Option<Estimate>,
    /// Requests per second the point's concurrency sustains with this protocol's
    /// latencies: concurrency ÷ mean latency (Little's law), with the mean's interval.
    pub throughput: Option<Estimate>,
    /// Response body bytes on the wire (median over the fetches the browser sized).
    pub wire_bytes: Option<Estimate>,
    /// Request body bytes, as the lab encoded them (mean; the browser does not size
    /// request bodies).
    pub request_bytes: Option<f64>,
    /// The payload's own encoding, protobuf or JSON, before HTTP compression (mean).
    pub payload_bytes: Option<f64>,
    /// Records per successful request (mean).
    pub records: Option<f64>,
    pub decode_ms: Option<Estimate>,
    pub encode_ms: Option<Estimate>,
    /// Server-Timing's handler + serialization (mean).
    pub server_ms: Option<f64>,
    /// Response headers as the browser counts them: transfer size − body (mean).
    pub header_bytes: Option<f64>,
    /// Streams: time to the first message (median).
    pub first_message_ms: Option<Estimate>,
    /// Streams: messages per second of one stream, from its first message to its end
    /// (median).
    pub messages_per_second: Option<f64>,
    /// The HTTP version most of its fetches used (`nextHopProtocol`).
    pub next_hop: Option<String>,
}

/// A point: each protocol's figures (gRPC-Web's, then REST's), and the gRPC-Web : REST ratio of each compared
/// figure ([`FIGURES`], by key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointFigures {
    pub protocols: [ProtocolFigures; 2],
    pub ratios: Vec<(&'static str, Option<RatioEstimate>)>,
}

impl PointFigures {
    /// The ratio of the figure with `key` (`p50`, `mean`, `rps`, `wire-bytes`, …).
    pub fn ratio(&self, key: &str) -> Option<RatioEstimate> {
        self.ratios
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, r)| *r)
    }

    pub fn of(&self, protocol: Protocol) -> &ProtocolFigures {
        &self.protocols[protocol.index()]
    }

    /// The answer in one line, from the deciding ratios with their intervals: `gRPC-Web
    /// : REST on this run: wire bytes 0.35×, p50 0.82× (0.76–0.89), …`. `None` without
    /// any ratio (one protocol only).
    /// `sides` name the two (`("gRPC-Web", "REST")` in a browser, the lanes service to
    /// service).
    pub fn headline(&self, run: &str, sides: [&str; 2]) -> Option<String> {
        let parts: Vec<String> = [
            ("wire bytes", "wire-bytes"),
            ("p50", "p50"),
            ("throughput", "rps"),
            ("client decode", "decode"),
        ]
        .into_iter()
        .filter_map(|(what, key)| {
            Some(format!(
                "{what} {}",
                comparison::describe(&self.ratio(key)?)
            ))
        })
        .collect();
        let [grpc, rest] = sides;
        (!parts.is_empty()).then(|| format!("{grpc} : {rest} on {run}: {}.", parts.join(", ")))
    }
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn median_interval(values: Vec<f64>) -> Option<Estimate> {
    quantile_interval(&sorted(values), 0.5, CONFIDENCE)
}

/// The figures of `samples` (the point's measured requests), run at `concurrency`.
pub fn measure(samples: &[Sample], concurrency: u32) -> PointFigures {
    let protocols = Protocol::ALL.map(|protocol| {
        let all = || samples.iter().filter(move |s| s.protocol == protocol);
        let ok: Vec<&Sample> = all().filter(|s| s.error.is_none()).collect();
        let values =
            |f: fn(&Sample) -> Option<f64>| ok.iter().filter_map(|s| f(s)).collect::<Vec<f64>>();
        let latencies = sorted(values(|s| Some(s.e2e_ms)));
        let mut hops: Vec<(&str, usize)> = Vec::new();
        for sample in &ok {
            if let Some(network) = &sample.network {
                match hops.iter_mut().find(|(hop, _)| *hop == network.protocol) {
                    Some((_, n)) => *n += 1,
                    None => hops.push((&network.protocol, 1)),
                }
            }
        }
        let first_messages = values(|s| s.first_message_ms);
        ProtocolFigures {
            requests: all().count() as u64,
            errors: all().filter(|s| s.error.is_some()).count() as u64,
            p50_ms: quantile_interval(&latencies, 0.5, CONFIDENCE),
            p99_ms: quantile_interval(&latencies, 0.99, CONFIDENCE),
            throughput: mean_interval(&latencies, CONFIDENCE)
                .filter(|m| m.low > 0.0)
                .map(|m| Estimate {
                    value: f64::from(concurrency) * 1_000.0 / m.value,
                    low: f64::from(concurrency) * 1_000.0 / m.high,
                    high: f64::from(concurrency) * 1_000.0 / m.low,
                }),
            wire_bytes: median_interval(values(|s| {
                s.network
                    .as_ref()
                    .map(|n| n.encoded_body as f64)
                    .filter(|b| *b > 0.0)
            })),
            request_bytes: mean(&values(|s| Some(s.request_bytes as f64))),
            payload_bytes: mean(&values(|s| Some(s.payload_bytes as f64))),
            records: mean(&values(|s| Some(s.records as f64))),
            decode_ms: median_interval(values(|s| Some(s.decode_ms))),
            encode_ms: median_interval(values(|s| Some(s.encode_ms))),
            server_ms: mean(&values(|s| s.network.as_ref().and_then(|n| n.server_ms))),
            header_bytes: mean(&values(|s| {
                s.network
                    .as_ref()
                    .filter(|n| n.encoded_body > 0 && n.transfer_size >= n.encoded_body)
                    .map(|n| (n.transfer_size - n.encoded_body) as f64)
            })),
            first_message_ms: median_interval(first_messages),
            messages_per_second: percentile(
                &sorted(values(|s| {
                    let first = s.first_message_ms?;
                    let after_first = s.e2e_ms - first;
                    (s.records > 1 && after_first > 0.0)
                        .then(|| (s.records - 1) as f64 * 1_000.0 / after_first)
                })),
                0.5,
            ),
            next_hop: hops
                .into_iter()
                .max_by_key(|(_, n)| *n)
                .map(|(hop, _)| hop.to_owned()),
        }
    });
    PointFigures {
        protocols,
        ratios: FIGURES
            .iter()
            .map(|figure| (figure.key, comparison::compare(samples, figure)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::data::RunData;
    use crate::run::timing::NetworkTiming;
    use crate::transport::CallOutcome;

    /// A run of 100 requests per protocol; REST's take 1.25× as long and carry 2.5× the
    /// bytes.
    fn samples() -> Vec<Sample> {
        let mut data = RunData::default();
        for i in 0..200u64 {
            let protocol = if i % 2 == 0 {
                Protocol::GrpcWeb
            } else {
                Protocol::Rest
            };
            let factor = if protocol == Protocol::Rest {
                1.25
            } else {
                1.0
            };
            let mut outcome = CallOutcome::started(String::new(), 0.0);
            outcome.e2e_ms = factor * (4.0 + (i / 2 % 10) as f64);
            outcome.payload_bytes = (factor * factor * 1_600.0) as u64;
            outcome.records = 10;
            let index = data.record(i, protocol, &outcome, 0.0);
            data.attach_network(
                index,
                NetworkTiming {
                    encoded_body: (factor * factor * 1_600.0) as u64,
                    decoded_body: (factor * factor * 1_600.0) as u64,
                    transfer_size: (factor * factor * 1_600.0) as u64 + 300,
                    protocol: "http/1.1".into(),
                    new_connection: false,
                    ..NetworkTiming::default()
                },
            );
        }
        data.samples
    }

    #[test]
    fn each_protocol_gets_its_figures_with_intervals() {
        let point = measure(&samples(), 4);
        let grpc = point.of(Protocol::GrpcWeb);
        assert_eq!((grpc.requests, grpc.errors), (100, 0));
        let p50 = grpc.p50_ms.unwrap();
        assert_eq!(p50.value, 8.0, "nearest-rank median of 4..13");
        assert!(p50.low < p50.value && p50.value < p50.high, "{p50:?}");
        // Little's law: 4 in flight, mean 8.5 ms → 470.6/s.
        let throughput = grpc.throughput.unwrap();
        assert!(
            (throughput.value - 4_000.0 / 8.5).abs() < 1e-9,
            "{throughput:?}"
        );
        assert!(throughput.low < throughput.value && throughput.value < throughput.high);
        assert_eq!(grpc.wire_bytes.unwrap().value, 1_600.0);
        assert_eq!(grpc.header_bytes, Some(300.0));
        assert_eq!(grpc.records, Some(10.0));
        assert_eq!(grpc.next_hop.as_deref(), Some("http/1.1"));
        assert_eq!(grpc.first_message_ms, None, "not a stream");
    }

    #[test]
    fn the_headline_gives_the_deciding_ratios_in_one_line() {
        let line = measure(&samples(), 4)
            .headline("this run", ["gRPC-Web", "REST"])
            .unwrap();
        assert!(
            line.starts_with("gRPC-Web : REST on this run: wire bytes 0.64×, p50 0.8"),
            "{line}"
        );
        assert!(line.contains(", throughput 1.2"), "{line}");
        assert_eq!(
            PointFigures::default().headline("this run", ["gRPC-Web", "REST"]),
            None
        );
    }

    #[test]
    fn the_ratios_are_those_of_the_comparison() {
        let point = measure(&samples(), 4);
        assert!((point.ratio("wire-bytes").unwrap().ratio - 0.64).abs() < 1e-9);
        assert!((point.ratio("p50").unwrap().ratio - 0.8).abs() < 1e-9);
        assert!((point.ratio("rps").unwrap().ratio - 1.25).abs() < 1e-9);
        assert_eq!(
            point.ratio("ttfb"),
            None,
            "no sample has a time to first byte"
        );
        assert_eq!(point.ratio("nonsense"), None);
    }
}
