//! Is a difference between the protocols real? For each per-request figure of a run,
//! the ratio gRPC-Web : REST with its 95% confidence interval, from every successful
//! sample that has the figure. Typical values (p50 latency, bytes, decode time, time to
//! first byte) by the Hodges–Lehmann estimate on logarithms; the mean latency by the
//! ratio of means; throughput at the run's concurrency as the inverse of that ratio
//! (Little's law: requests in flight = throughput × mean latency, and under "Both"
//! both protocols hold the same workers, so counting their completions would give 1
//! by construction). See [`crate::stats::ratio_interval`]. An interval that includes 1
//! is no measurable difference.

use super::data::Sample;
use crate::stats::ratio_interval::{RatioEstimate, hodges_lehmann_ratio, ratio_of_means};
use crate::stats::scale::format_significant;
use crate::transport::Protocol;

/// The intervals' confidence.
pub const CONFIDENCE: f64 = 0.95;

/// How a figure's two samples become a ratio with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Hodges–Lehmann: the typical ratio, robust to outliers.
    Typical,
    /// The ratio of the means (delta method).
    Means,
    /// The inverse of the ratio of the means: throughput at a fixed concurrency.
    InverseMeans,
}

/// A per-request figure compared between the protocols.
pub struct Figure {
    /// The results table row it belongs to (`summary-ratio-<key>`).
    pub key: &'static str,
    /// Its value in a sample; `None` where the sample lacks it.
    value: fn(&Sample) -> Option<f64>,
    pub method: Method,
}

fn latency(sample: &Sample) -> Option<f64> {
    Some(sample.e2e_ms)
}

/// Latency (typical on the p50 row, mean, and throughput), body bytes on the wire
/// (fetches the browser reported without sizes left out), client decode and encode
/// time, and time to first byte.
pub const FIGURES: [Figure; 7] = [
    Figure {
        key: "p50",
        value: latency,
        method: Method::Typical,
    },
    Figure {
        key: "mean",
        value: latency,
        method: Method::Means,
    },
    Figure {
        key: "rps",
        value: latency,
        method: Method::InverseMeans,
    },
    Figure {
        key: "wire-bytes",
        value: |s| {
            s.network
                .as_ref()
                .map(|n| n.encoded_body as f64)
                .filter(|bytes| *bytes > 0.0)
        },
        method: Method::Typical,
    },
    Figure {
        key: "decode",
        value: |s| Some(s.decode_ms),
        method: Method::Typical,
    },
    Figure {
        key: "encode",
        value: |s| Some(s.encode_ms),
        method: Method::Typical,
    },
    Figure {
        key: "ttfb",
        value: |s| s.network.as_ref().map(|n| n.ttfb_ms),
        method: Method::Typical,
    },
];

/// The figure with `key`.
pub fn figure(key: &str) -> Option<&'static Figure> {
    FIGURES.iter().find(|f| f.key == key)
}

/// gRPC-Web : REST for `figure` over `samples`; `None` without positive values of
/// both protocols.
pub fn compare(samples: &[Sample], figure: &Figure) -> Option<RatioEstimate> {
    let values = |protocol: Protocol| -> Vec<f64> {
        samples
            .iter()
            .filter(|s| s.protocol == protocol && s.error.is_none())
            .filter_map(figure.value)
            .collect()
    };
    let (grpc_web, rest) = (values(Protocol::GrpcWeb), values(Protocol::Rest));
    match figure.method {
        Method::Typical => hodges_lehmann_ratio(&grpc_web, &rest, CONFIDENCE),
        Method::Means => ratio_of_means(&grpc_web, &rest, CONFIDENCE),
        Method::InverseMeans => {
            ratio_of_means(&grpc_web, &rest, CONFIDENCE).map(|r| RatioEstimate {
                ratio: 1.0 / r.ratio,
                low: 1.0 / r.high,
                high: 1.0 / r.low,
            })
        }
    }
}

/// `0.81× (0.78–0.85)`, or `no measurable difference (0.97–1.04)`.
pub fn describe(estimate: &RatioEstimate) -> String {
    let number = |r: f64| format_significant(r, 3, 2);
    if estimate.low == estimate.high {
        // Identical messages: an exact ratio, no interval to give.
        return format!("{}×", number(estimate.ratio));
    }
    let interval = format!("({}–{})", number(estimate.low), number(estimate.high));
    if estimate.includes_one() {
        format!("no measurable difference {interval}")
    } else {
        format!("{}× {interval}", number(estimate.ratio))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::data::RunData;
    use crate::transport::{CallOutcome, TransportError};

    /// A call of `protocol` that took `e2e_ms` (`ok`: else it failed).
    fn call(e2e_ms: f64, ok: bool) -> CallOutcome {
        let mut outcome = CallOutcome::started(String::new(), 0.0);
        outcome.e2e_ms = e2e_ms;
        if !ok {
            outcome.result = Err(TransportError::Network("down".into()));
        }
        outcome
    }

    /// Latencies spread over a range, `scale` times 1.0..2.0, as a run records them.
    fn run(grpc_scale: f64, rest_scale: f64) -> RunData {
        let mut data = RunData::default();
        for i in 0..200u32 {
            let spread = 1.0 + f64::from(i % 50) / 50.0;
            let seq = 2 * u64::from(i);
            data.record(
                seq,
                Protocol::GrpcWeb,
                &call(grpc_scale * spread, true),
                0.0,
            );
            data.record(
                seq + 1,
                Protocol::Rest,
                &call(rest_scale * spread, true),
                0.0,
            );
        }
        data
    }

    #[test]
    fn a_real_difference_has_an_interval_without_one() {
        let estimate = compare(&run(8.0, 10.0).samples, &FIGURES[0]).unwrap();
        assert!((estimate.ratio - 0.8).abs() < 0.01, "{estimate:?}");
        assert!(!estimate.includes_one());
        assert!(
            describe(&estimate).starts_with("0.80× ("),
            "{}",
            describe(&estimate)
        );
    }

    #[test]
    fn equal_samples_show_no_measurable_difference() {
        let estimate = compare(&run(10.0, 10.0).samples, &FIGURES[0]).unwrap();
        assert!(estimate.includes_one(), "{estimate:?}");
        assert!(describe(&estimate).starts_with("no measurable difference ("));
    }

    #[test]
    fn mean_latency_and_throughput_are_inverse_ratios() {
        let samples = run(8.0, 10.0).samples;
        let mean = compare(&samples, figure("mean").unwrap()).unwrap();
        let throughput = compare(&samples, figure("rps").unwrap()).unwrap();
        assert!((mean.ratio - 0.8).abs() < 1e-9, "{mean:?}");
        assert!((throughput.ratio - 1.25).abs() < 1e-9, "{throughput:?}");
        assert!((throughput.low - 1.0 / mean.high).abs() < 1e-12);
        assert!(!throughput.includes_one() && throughput.low > 1.0);
    }

    #[test]
    fn failed_samples_and_missing_figures_are_left_out() {
        let mut data = run(8.0, 10.0);
        // A failed gRPC-Web request that took forever changes nothing.
        data.record(9_999, Protocol::GrpcWeb, &call(1e6, false), 0.0);
        assert!((compare(&data.samples, &FIGURES[0]).unwrap().ratio - 0.8).abs() < 0.01);
        // No sample has wire bytes: nothing to compare.
        assert_eq!(compare(&data.samples, figure("wire-bytes").unwrap()), None);
    }
}
