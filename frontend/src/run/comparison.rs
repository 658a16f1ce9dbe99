//! Is a difference between the protocols real? For each per-request figure of a run,
//! the ratio gRPC-Web : REST of the two samples' typical values with its 95%
//! confidence interval: the Hodges–Lehmann estimate on logarithms
//! ([`crate::stats::ratio_interval`]), from every successful sample that has the
//! figure. An interval that includes 1 is no measurable difference.

use super::data::Sample;
use crate::stats::ratio_interval::{RatioEstimate, hodges_lehmann_ratio};
use crate::stats::scale::format_significant;
use crate::transport::Protocol;

/// The intervals' confidence.
pub const CONFIDENCE: f64 = 0.95;

/// A per-request figure compared between the protocols.
pub struct Figure {
    /// The results table row it belongs to (`summary-interval-<key>`).
    pub key: &'static str,
    /// Its value in a sample; `None` where the sample lacks it.
    value: fn(&Sample) -> Option<f64>,
}

/// Latency (on the p50 row: the estimate is a typical value, not a mean), body bytes on
/// the wire (fetches the browser reported without sizes left out), client decode time
/// and time to first byte.
pub const FIGURES: [Figure; 4] = [
    Figure {
        key: "p50",
        value: |s| Some(s.e2e_ms),
    },
    Figure {
        key: "wire-bytes",
        value: |s| {
            s.network
                .as_ref()
                .map(|n| n.encoded_body as f64)
                .filter(|bytes| *bytes > 0.0)
        },
    },
    Figure {
        key: "decode",
        value: |s| Some(s.decode_ms),
    },
    Figure {
        key: "ttfb",
        value: |s| s.network.as_ref().map(|n| n.ttfb_ms),
    },
];

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
    hodges_lehmann_ratio(
        &values(Protocol::GrpcWeb),
        &values(Protocol::Rest),
        CONFIDENCE,
    )
}

/// `0.81× (0.78–0.85)`, or `no measurable difference (0.97–1.04)`.
pub fn describe(estimate: &RatioEstimate) -> String {
    let number = |r: f64| format_significant(r, 3, 2);
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
    fn failed_samples_and_missing_figures_are_left_out() {
        let mut data = run(8.0, 10.0);
        // A failed gRPC-Web request that took forever changes nothing.
        data.record(9_999, Protocol::GrpcWeb, &call(1e6, false), 0.0);
        assert!((compare(&data.samples, &FIGURES[0]).unwrap().ratio - 0.8).abs() < 0.01);
        // No sample has wire bytes: nothing to compare.
        assert_eq!(compare(&data.samples, &FIGURES[1]), None);
    }
}
