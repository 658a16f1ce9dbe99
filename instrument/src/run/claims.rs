//! "What this shows": the common claims about gRPC vs REST, each checked against what
//! the current run or sweep measured. Every verdict and sentence is built here from the
//! measured figures and their intervals; nothing is canned but the claims themselves.
//!
//! Each condition (the run, or each point of a sweep) gets an [`Outcome`] from a
//! gRPC-Web : REST ratio and its 95% interval: better or worse for gRPC-Web when the
//! interval excludes 1 and the estimate is more than [`PRACTICAL`] away from it; no
//! practical difference when the difference is smaller (or the interval includes 1
//! and stays within that margin); unclear otherwise (too few samples to tell). The
//! verdict over all conditions is "holds" or "does not hold" when they agree, "no
//! practical difference", or "depends on …" with where it changes.

use super::config::{HttpVersion, RunConfig, WorkloadKind};
use super::connection_churn::churned;
use super::history::SavedRun;
use super::matrix::MatrixState;
use super::service_lanes::Client;
use super::sweep::SweepVariable;
use super::sweep_point::{PointFigures, ProtocolFigures};
use crate::stats::ratio_interval::RatioEstimate;
use crate::stats::sample_interval::Estimate;
use crate::stats::scale::{format_bytes, format_ms, format_significant};
use crate::timer_resolution::{STEPS_AT_LIMIT, Timer};
use crate::transport::Protocol;

/// A difference smaller than this share is no practical difference.
pub const PRACTICAL: f64 = 0.10;

/// Where one condition puts the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Holds,
    Fails,
    Negligible,
    Unclear,
}

impl Outcome {
    fn words(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::Fails => "does not hold",
            Outcome::Negligible => "no practical difference",
            Outcome::Unclear => "unclear",
        }
    }

    /// From a ratio gRPC-Web : REST; `lower_is_better` for sizes and times.
    pub fn of(ratio: &RatioEstimate, lower_is_better: bool) -> Self {
        let margin = 1.0 + PRACTICAL;
        let (low, high) = (ratio.low, ratio.high);
        if ratio.includes_one() {
            return if low >= 1.0 / margin && high <= margin {
                Outcome::Negligible
            } else {
                Outcome::Unclear
            };
        }
        let better = if lower_is_better {
            ratio.ratio < 1.0
        } else {
            ratio.ratio > 1.0
        };
        let large = ratio.ratio < 1.0 / margin || ratio.ratio > margin;
        match (large, better) {
            (false, _) => Outcome::Negligible,
            (true, true) => Outcome::Holds,
            (true, false) => Outcome::Fails,
        }
    }
}

/// The verdict over every condition measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Holds,
    DoesNotHold,
    NoPracticalDifference,
    Depends,
    Unclear,
    NotMeasured,
    /// Measured, but from a run whose connections were not what its protocol uses.
    NotComparable,
    /// Measured, but within a few steps of the page's timer.
    AtTimerLimit,
}

impl Verdict {
    /// The stable key (`data-verdict`).
    pub fn key(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "does-not-hold",
            Verdict::NoPracticalDifference => "no-practical-difference",
            Verdict::Depends => "depends",
            Verdict::Unclear => "unclear",
            Verdict::NotMeasured => "not-measured",
            Verdict::NotComparable => "not-comparable",
            Verdict::AtTimerLimit => "at-timer-limit",
        }
    }
}

/// One measured condition: the run, or one point of a sweep.
pub struct Observation<'a> {
    /// `this run`, or the sweep variable's value (`1000`, `log`, `on`).
    pub label: String,
    pub config: RunConfig,
    pub figures: &'a PointFigures,
}

/// What the claims are checked against.
pub struct Evidence<'a> {
    pub observations: Vec<Observation<'a>>,
    /// The sweep's variable, when the observations are a sweep's points.
    pub variable: Option<SweepVariable>,
    /// The runs kept in this browser (other HTTP versions' among them).
    pub history: &'a [SavedRun],
    /// The page's timer, when known: times within a few of its steps are at its limit.
    pub timer: Option<Timer>,
}

/// A claim with its verdict and the sentences that support it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Claim {
    pub key: &'static str,
    pub claim: &'static str,
    pub verdict: Verdict,
    /// The verdict in one sentence, with the deciding numbers.
    pub summary: String,
    /// Per condition: the numbers measured.
    pub evidence: Vec<String>,
}

fn ratio_text(ratio: &RatioEstimate) -> String {
    let n = |r: f64| format_significant(r, 3, 3);
    if ratio.low == ratio.high {
        // Identical messages: an exact ratio, no interval to give.
        return format!("{}×", n(ratio.ratio));
    }
    format!("{}× ({}–{})", n(ratio.ratio), n(ratio.low), n(ratio.high))
}

fn estimate_ms(estimate: &Option<Estimate>) -> String {
    estimate.map_or("—".into(), |e| format_ms(e.value))
}

/// The conditions a figure was measured under, in words.
fn conditions(config: &RunConfig) -> String {
    let records = match config.workload {
        WorkloadKind::Ping => "ping".to_owned(),
        _ => format!("{} × {} records", config.shape.label(), config.count),
    };
    let client = match config.client {
        Client::Browser => config.http.label(),
        Client::Service => "service to service",
    };
    format!(
        "{records}, compression {}, concurrency {}, {client}, {} network",
        if config.compression { "on" } else { "off" },
        config.concurrency,
        config.network.key()
    )
}

/// The verdict over `outcomes` (one per observation, in the sweep's order), in words.
fn verdict_over(
    outcomes: &[(String, Outcome, String)],
    variable: Option<SweepVariable>,
) -> (Verdict, String) {
    let Some((_, first, _)) = outcomes.first() else {
        return (Verdict::NotMeasured, String::new());
    };
    if outcomes.iter().all(|(_, o, _)| o == first) {
        let verdict = match first {
            Outcome::Holds => Verdict::Holds,
            Outcome::Fails => Verdict::DoesNotHold,
            Outcome::Negligible => Verdict::NoPracticalDifference,
            Outcome::Unclear => Verdict::Unclear,
        };
        let numbers: Vec<&str> = outcomes.iter().map(|(_, _, n)| n.as_str()).collect();
        let suffix = if *first == Outcome::Unclear {
            ": the interval is too wide; measure more requests"
        } else {
            ""
        };
        return (
            verdict,
            format!(
                "{}{suffix}: {}",
                capitalised(first.words()),
                numbers.join("; ")
            ),
        );
    }
    let name = variable.map_or("the conditions", |v| v.label());
    let mut groups: Vec<(Outcome, Vec<&str>)> = Vec::new();
    for (label, outcome, _) in outcomes {
        match groups.last_mut() {
            Some((o, labels)) if o == outcome => labels.push(label),
            _ => groups.push((*outcome, vec![label])),
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(o, labels)| format!("{} at {}", o.words(), labels.join(", ")))
        .collect();
    let mut text = format!("Depends on {}: {}", name.to_lowercase(), parts.join("; "));
    if let ([(_, before), (_, after)], Some(v)) = (groups.as_slice(), variable)
        && v.is_numeric()
    {
        text += &format!(
            " (crossover between {} and {})",
            before.last().unwrap_or(&""),
            after.first().unwrap_or(&"")
        );
    }
    (Verdict::Depends, text)
}

fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A claim decided by one ratio per observation: `pick` gives the ratio and the
/// sentence of numbers, or `None` where the observation cannot tell.
fn ratio_claim(
    key: &'static str,
    claim: &'static str,
    evidence: &Evidence<'_>,
    not_measured: &str,
    pick: impl Fn(&Observation<'_>) -> Option<(RatioEstimate, String)>,
) -> Claim {
    let mut lines = Vec::new();
    let mut outcomes = Vec::new();
    for observation in &evidence.observations {
        if let Some((ratio, numbers)) = pick(observation) {
            // Every claim's deciding figure is better lower (bytes, times, latency).
            let outcome = Outcome::of(&ratio, true);
            let config = &observation.config;
            lines.push(format!(
                "{}: {numbers}; {} : {} {} ({}).",
                observation.label,
                config.side_label(Protocol::GrpcWeb),
                config.side_label(Protocol::Rest),
                ratio_text(&ratio),
                conditions(config)
            ));
            outcomes.push((
                observation.label.clone(),
                outcome,
                format!("{} at {}", ratio_text(&ratio), observation.label),
            ));
        }
    }
    let (verdict, summary) = verdict_over(&outcomes, evidence.variable);
    Claim {
        key,
        claim,
        verdict,
        summary: if verdict == Verdict::NotMeasured {
            not_measured.to_owned()
        } else {
            summary
        },
        evidence: lines,
    }
}

/// A ratio without spread: sizes of identical messages are exact.
fn exact_ratio(a: f64, b: f64) -> Option<RatioEstimate> {
    (a > 0.0 && b > 0.0).then(|| RatioEstimate {
        ratio: a / b,
        low: a / b,
        high: a / b,
    })
}

fn both<T>(figures: &PointFigures, f: impl Fn(&ProtocolFigures) -> Option<T>) -> Option<(T, T)> {
    Some((
        f(figures.of(Protocol::GrpcWeb))?,
        f(figures.of(Protocol::Rest))?,
    ))
}

fn smaller_messages(evidence: &Evidence<'_>) -> Claim {
    ratio_claim(
        "smaller",
        "Protobuf messages are smaller than JSON",
        evidence,
        "Not measured: run a fetch, upload or stream of records.",
        |o| {
            let figures = o.figures;
            let per_record = both(figures, |p| Some(p.payload_bytes? / p.records?.max(1.0)));
            let payload = per_record.map_or(String::new(), |(g, r)| {
                format!(
                    ", payload {} vs {} per record",
                    format_bytes(g),
                    format_bytes(r)
                )
            });
            match o.config.workload {
                WorkloadKind::Ping => None,
                // The browser does not size request bodies: the lab's own count.
                WorkloadKind::Upload => {
                    let (g, r) = both(figures, |p| p.request_bytes)?;
                    Some((
                        exact_ratio(g, r)?,
                        format!(
                            "request body {} vs {}{payload}",
                            format_bytes(g),
                            format_bytes(r)
                        ),
                    ))
                }
                // Streamed requests: compared by the two-way streaming claim.
                WorkloadKind::Echo | WorkloadKind::ClientStream => None,
                WorkloadKind::Fetch | WorkloadKind::Stream => {
                    let (g, r) = both(figures, |p| p.wire_bytes.map(|e| e.value))?;
                    Some((
                        figures.ratio("wire-bytes")?,
                        format!(
                            "response body on the wire {} vs {}{payload}",
                            format_bytes(g),
                            format_bytes(r)
                        ),
                    ))
                }
            }
        },
    )
}

/// The codec figure a workload decides by: what it is, its comparison key, and where
/// each protocol's median is.
type CodecFigure = (
    &'static str,
    &'static str,
    fn(&ProtocolFigures) -> Option<Estimate>,
);

fn codec_figure(workload: WorkloadKind) -> Option<CodecFigure> {
    match workload {
        WorkloadKind::Ping => None,
        WorkloadKind::Upload => Some(("client encode", "encode", |p| p.encode_ms)),
        _ => Some(("client decode", "decode", |p| p.decode_ms)),
    }
}

fn faster_codec(evidence: &Evidence<'_>) -> Claim {
    let claim = ratio_claim(
        "codec",
        "Protobuf is faster to encode and decode than JSON",
        evidence,
        "Not measured: run a fetch, upload or stream of records.",
        |o| {
            let figures = o.figures;
            let server = both(figures, |p| p.server_ms).map_or(String::new(), |(g, r)| {
                format!(
                    "; server handler + serialization {} vs {} (mean)",
                    format_ms(g),
                    format_ms(r)
                )
            });
            let (what, key, pick) = codec_figure(o.config.workload)?;
            let (g, r) = both(figures, pick)?;
            Some((
                figures.ratio(key)?,
                format!(
                    "{what} {} vs {} (median){server}",
                    format_ms(g.value),
                    format_ms(r.value)
                ),
            ))
        },
    );
    // A median within a few steps of the timer measures the timer: no verdict from it.
    let Some(timer) = evidence.timer else {
        return claim;
    };
    let limited: Vec<String> = evidence
        .observations
        .iter()
        .filter_map(|o| {
            let (what, _, pick) = codec_figure(o.config.workload)?;
            let (g, r) = both(o.figures, pick)?;
            (timer.at_limit(g.value) || timer.at_limit(r.value)).then(|| {
                format!(
                    "{}: {what} {} vs {} (median)",
                    o.label,
                    format_ms(g.value),
                    format_ms(r.value)
                )
            })
        })
        .collect();
    if limited.is_empty() {
        return claim;
    }
    Claim {
        verdict: Verdict::AtTimerLimit,
        summary: format!(
            "At the timer's limit: performance.now() moves in steps of {} on this page ({}), \
             and a median within {STEPS_AT_LIMIT} steps of that measures the timer ({}).",
            format_ms(timer.step_ms),
            if timer.isolated {
                "cross-origin isolated"
            } else {
                "not cross-origin isolated: browsers coarsen its timer"
            },
            limited.join("; ")
        ),
        ..claim
    }
}

fn lower_latency(evidence: &Evidence<'_>) -> Claim {
    ratio_claim(
        "latency",
        "gRPC has lower latency and higher throughput",
        evidence,
        "Not measured: run a workload with both protocols (“Both”).",
        |o| {
            let (g, r) = both(o.figures, |p| p.p50_ms)?;
            let throughput = o.figures.ratio("rps").map_or(String::new(), |t| {
                format!(
                    "; throughput at concurrency {} {}",
                    o.config.concurrency,
                    ratio_text(&t)
                )
            });
            Some((
                o.figures.ratio("p50")?,
                format!(
                    "p50 {} vs {}, p99 {} vs {}{throughput}",
                    format_ms(g.value),
                    format_ms(r.value),
                    estimate_ms(&o.figures.of(Protocol::GrpcWeb).p99_ms),
                    estimate_ms(&o.figures.of(Protocol::Rest).p99_ms)
                ),
            ))
        },
    )
}

/// HTTP/2 against HTTP/1.1: two runs of the same workload over the two listeners, from
/// the history (one page talks to one listener, so one run cannot hold both).
fn multiplexing(evidence: &Evidence<'_>) -> Claim {
    let key = "multiplexing";
    let claim = "HTTP/2 multiplexing beats HTTP/1.1 under concurrency";
    let how = "Press Compare HTTP versions (or run the same workload over HTTP/1.1 (TLS) and \
               HTTP/2 (TLS), concurrency above 6: this panel compares them from the history).";
    let latest = |http: HttpVersion, like: &RunConfig| {
        evidence.history.iter().find(|run| {
            let config = RunConfig::from_query(&run.settings);
            // The same workload; how many requests and their seed do not matter.
            let like = RunConfig {
                http,
                total: config.total,
                seed: config.seed,
                ..*like
            };
            like == config && !run.settings.contains("sweep=")
        })
    };
    // The page's HTTP version is the browser's: a service run's lanes choose their own.
    let browser = |o: &&Observation<'_>| o.config.client == Client::Browser;
    let base = evidence
        .observations
        .first()
        .filter(browser)
        .map(|o| o.config);
    let pair = base.and_then(|base| {
        Some((
            latest(HttpVersion::TlsH2, &base)?,
            latest(HttpVersion::TlsHttp1, &base)?,
            base,
        ))
    });
    let Some((h2, http1, base)) = pair else {
        return Claim {
            key,
            claim,
            verdict: Verdict::NotMeasured,
            summary: format!("Not measured: one page talks to one listener. {how}"),
            evidence: Vec::new(),
        };
    };
    let churned: Vec<String> = [(h2, HttpVersion::TlsH2), (http1, HttpVersion::TlsHttp1)]
        .into_iter()
        .filter_map(|(run, http)| {
            let n = run.connections_opened?;
            churned(http, n).then(|| format!("{}: {n} connections", http.label()))
        })
        .collect();
    if !churned.is_empty() {
        return Claim {
            key,
            claim,
            verdict: Verdict::NotComparable,
            summary: format!(
                "Not comparable: connections not reused ({}; see Connections).",
                churned.join(", ")
            ),
            evidence: Vec::new(),
        };
    }
    let mut lines = Vec::new();
    let mut outcomes = Vec::new();
    for (i, label) in ["gRPC-Web", "REST"].into_iter().enumerate() {
        let p50 = |run: &SavedRun| run.summaries.get(i).and_then(|s| s.p50_ms);
        if let (Some(a), Some(b)) = (p50(h2), p50(http1)) {
            let ratio = exact_ratio(a, b);
            if let Some(ratio) = ratio {
                outcomes.push((
                    label.to_owned(),
                    Outcome::of(&ratio, true),
                    format!(
                        "{label} p50 {} over HTTP/2 vs {} over HTTP/1.1",
                        format_ms(a),
                        format_ms(b)
                    ),
                ));
                lines.push(format!(
                    "{label}: p50 {} over HTTP/2 vs {} over HTTP/1.1 ({}; from the history, \
                     which keeps summaries only, so without an interval).",
                    format_ms(a),
                    format_ms(b),
                    conditions(&base)
                ));
            }
        }
    }
    let (verdict, summary) = verdict_over(&outcomes, None);
    Claim {
        key,
        claim,
        verdict,
        summary,
        evidence: lines,
    }
}

/// HTTP/2 against HTTP/1.1 from a matrix: on each network, for each protocol, the
/// ratio of p50 latencies between the two cells with its 95% interval. A cell whose
/// connections or HTTP version were not what it stands for makes the comparison on
/// its network "not comparable".
pub fn multiplexing_in_matrix(matrix: &MatrixState) -> Claim {
    let key = "multiplexing";
    let claim = "HTTP/2 multiplexing beats HTTP/1.1 under concurrency";
    let mut outcomes = Vec::new();
    let mut lines = Vec::new();
    let mut not_comparable = Vec::new();
    for (index, cell) in matrix.cells.iter().enumerate() {
        if cell.http != HttpVersion::TlsH2 {
            continue;
        }
        let network = cell.network.key();
        for protocol in Protocol::ALL {
            match matrix.versus_http1(index, protocol) {
                Ok(ratio) => {
                    let label = format!("{network}, {}", protocol.label());
                    outcomes.push((
                        label.clone(),
                        Outcome::of(&ratio, true),
                        format!("{label}: p50 {}", ratio_text(&ratio)),
                    ));
                    lines.push(format!(
                        "{label}: p50 over HTTP/2 : over HTTP/1.1 = {} (95% interval; {}).",
                        ratio_text(&ratio),
                        conditions(&matrix.plan.config_at(&matrix.base, cell.http, cell.network))
                    ));
                }
                Err(reason) => {
                    let line = format!("{network}: {reason}");
                    if !not_comparable.contains(&line) {
                        not_comparable.push(line);
                    }
                }
            }
        }
    }
    if !not_comparable.is_empty() {
        return Claim {
            key,
            claim,
            verdict: Verdict::NotComparable,
            summary: format!("Not comparable: {}.", not_comparable.join("; ")),
            evidence: lines,
        };
    }
    let (verdict, summary) = verdict_over(&outcomes, None);
    Claim {
        key,
        claim,
        verdict,
        summary: if outcomes.is_empty() {
            "Not measured: the matrix has no HTTP/2 and HTTP/1.1 cells on one network.".into()
        } else {
            summary
        },
        evidence: lines,
    }
}

fn streaming(evidence: &Evidence<'_>) -> Claim {
    ratio_claim(
        "streaming",
        "gRPC-Web server streaming beats Server-Sent Events",
        evidence,
        "Not measured: run the server stream workload. (Client and bidirectional streaming \
         cannot be: see How it is measured.)",
        |o| {
            if o.config.workload != WorkloadKind::Stream {
                return None;
            }
            let (g, r) = both(o.figures, |p| p.first_message_ms)?;
            let rate =
                both(o.figures, |p| p.messages_per_second).map_or(String::new(), |(g, r)| {
                    format!(
                        ", {} vs {} messages/s per stream",
                        format_significant(g, 3, 0),
                        format_significant(r, 3, 0)
                    )
                });
            // Medians with intervals apart: the ratio's bounds are the intervals' ends.
            let ratio = RatioEstimate {
                ratio: g.value / r.value,
                low: g.low / r.high,
                high: g.high / r.low,
            };
            Some((
                ratio,
                format!(
                    "first message after {} vs {} (median){rate}",
                    format_ms(g.value),
                    format_ms(r.value)
                ),
            ))
        },
    )
}

/// Client and bidirectional streaming: what a browser can measure of them is REST's
/// side alone (a WebSocket); gRPC-Web cannot send a stream, so the claim holds only
/// between services.
fn two_way_streaming(evidence: &Evidence<'_>) -> Claim {
    let natively = |o: &Observation<'_>| {
        o.config.client == Client::Service && o.config.workload.streams_requests()
    };
    if evidence.observations.iter().any(natively) {
        let mut claim = ratio_claim(
            "two-way-streaming",
            "gRPC streams both ways (client and bidirectional streaming)",
            evidence,
            "",
            |o| {
                if !natively(o) {
                    return None;
                }
                let (g, r) = both(o.figures, |p| p.p50_ms)?;
                let first =
                    both(o.figures, |p| p.first_message_ms).map_or(String::new(), |(g, r)| {
                        format!(
                            ", first answer after {} vs {}",
                            format_ms(g.value),
                            format_ms(r.value)
                        )
                    });
                Some((
                    o.figures.ratio("p50")?,
                    format!(
                        "{} of {} records took {} vs {} (median){first}",
                        o.config.workload.label().to_lowercase(),
                        o.config.count,
                        format_ms(g.value),
                        format_ms(r.value)
                    ),
                ))
            },
        );
        claim.summary = format!(
            "Measured service to service (the backend's native runner; a browser can send \
             neither stream). {}",
            claim.summary
        );
        return claim;
    }
    let lines: Vec<String> = evidence
        .observations
        .iter()
        .filter(|o| o.config.workload == WorkloadKind::Echo)
        .filter_map(|o| {
            let rest = o.figures.of(Protocol::Rest);
            let first = rest.first_message_ms?;
            let rate = rest.messages_per_second.map_or(String::new(), |rate| {
                format!(", {} messages/s per socket", format_significant(rate, 3, 0))
            });
            Some(format!(
                "{}: REST's WebSocket answered its first record after {} (median){rate}; \
                 gRPC-Web sent nothing",
                o.label,
                format_ms(first.value)
            ))
        })
        .collect();
    let mut summary = "Holds only between services: a browser's fetch sends a request body \
                       only once it is whole, so gRPC-Web cannot send a stream; native gRPC \
                       streams both ways, and REST needs a WebSocket (or a streamed body) for it."
        .to_owned();
    if lines.is_empty() {
        summary.push_str(" Run the bidirectional echo workload to measure REST's side here.");
    }
    Claim {
        key: "two-way-streaming",
        claim: "gRPC streams both ways (client and bidirectional streaming)",
        verdict: if lines.is_empty() {
            Verdict::NotMeasured
        } else {
            Verdict::NotComparable
        },
        summary,
        evidence: lines,
    }
}

/// What Chromium adds to every response's body for its headers in `transferSize`,
/// whatever the headers were (seen on every listener; Firefox reports real sizes).
const CHROMIUM_HEADER_BYTES: f64 = 300.0;

fn header_overhead(evidence: &Evidence<'_>) -> Claim {
    ratio_claim(
        "headers",
        "gRPC has less overhead per request (headers)",
        evidence,
        "Not measured: no header sizes from this browser (Chromium counts a fixed 300 B per \
         response).",
        |o| {
            let (g, r) = both(o.figures, |p| p.header_bytes)?;
            if g == CHROMIUM_HEADER_BYTES && r == CHROMIUM_HEADER_BYTES {
                return None; // a constant, not a measurement
            }
            Some((
                exact_ratio(g, r)?,
                format!(
                    "response headers {} vs {} (mean, transfer size − body)",
                    format_bytes(g),
                    format_bytes(r)
                ),
            ))
        },
    )
}

/// Every claim, checked against `evidence`.
pub fn check(evidence: &Evidence<'_>) -> Vec<Claim> {
    vec![
        smaller_messages(evidence),
        faster_codec(evidence),
        lower_latency(evidence),
        multiplexing(evidence),
        streaming(evidence),
        header_overhead(evidence),
        two_way_streaming(evidence),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::history::SavedSummary;

    fn ratio(ratio: f64, low: f64, high: f64) -> RatioEstimate {
        RatioEstimate { ratio, low, high }
    }

    fn exact(value: f64) -> Option<Estimate> {
        Some(Estimate {
            value,
            low: value * 0.95,
            high: value * 1.05,
        })
    }

    #[test]
    fn two_way_streaming_holds_only_natively_and_shows_rest_s_websocket() {
        let mut figures = point(1.0, 1.0);
        figures.protocols[Protocol::Rest.index()].first_message_ms = exact(0.8);
        figures.protocols[Protocol::Rest.index()].messages_per_second = Some(1_250.0);
        let config = RunConfig {
            workload: WorkloadKind::Echo,
            ..RunConfig::default()
        };
        let observations = vec![Observation {
            label: "this run".into(),
            config,
            figures: &figures,
        }];
        let evidence = Evidence {
            observations,
            variable: None,
            history: &[],
            timer: None,
        };
        let claim = two_way_streaming(&evidence);
        assert_eq!(claim.verdict, Verdict::NotComparable);
        assert!(claim.summary.starts_with("Holds only between services"));
        assert_eq!(claim.evidence.len(), 1);
        assert!(
            claim.evidence[0].contains("1250 messages/s"),
            "{:?}",
            claim.evidence
        );
        let none = Evidence {
            observations: Vec::new(),
            variable: None,
            history: &[],
            timer: None,
        };
        assert_eq!(two_way_streaming(&none).verdict, Verdict::NotMeasured);
    }

    /// A point where gRPC-Web's bodies are `bytes` × REST's and its p50 `latency` ×.
    fn point(bytes: f64, latency: f64) -> PointFigures {
        let protocol = |b: f64, l: f64| ProtocolFigures {
            p50_ms: exact(l),
            wire_bytes: exact(b),
            payload_bytes: Some(b),
            records: Some(10.0),
            ..ProtocolFigures::default()
        };
        PointFigures {
            protocols: [
                protocol(1_000.0 * bytes, 10.0 * latency),
                protocol(1_000.0, 10.0),
            ],
            ratios: vec![
                ("wire-bytes", Some(ratio(bytes, bytes, bytes))),
                ("p50", Some(ratio(latency, latency * 0.97, latency * 1.03))),
            ],
        }
    }

    fn observations<'a>(points: &'a [(u32, PointFigures)]) -> Vec<Observation<'a>> {
        points
            .iter()
            .map(|(count, figures)| Observation {
                label: count.to_string(),
                config: RunConfig {
                    count: *count,
                    ..RunConfig::default()
                },
                figures,
            })
            .collect()
    }

    #[test]
    fn outcomes_follow_the_interval_and_the_practical_margin() {
        assert_eq!(Outcome::of(&ratio(0.5, 0.45, 0.55), true), Outcome::Holds);
        assert_eq!(Outcome::of(&ratio(0.5, 0.45, 0.55), false), Outcome::Fails);
        assert_eq!(
            Outcome::of(&ratio(0.96, 0.95, 0.97), true),
            Outcome::Negligible
        );
        assert_eq!(
            Outcome::of(&ratio(1.0, 0.97, 1.04), true),
            Outcome::Negligible
        );
        assert_eq!(Outcome::of(&ratio(1.0, 0.5, 2.0), true), Outcome::Unclear);
        assert_eq!(Outcome::of(&ratio(1.5, 1.4, 1.6), true), Outcome::Fails);
    }

    #[test]
    fn a_sweep_whose_outcome_changes_depends_with_its_crossover() {
        let points = [
            (1, point(1.02, 1.0)),
            (10, point(0.97, 1.0)),
            (100, point(0.4, 0.7)),
            (1_000, point(0.38, 0.5)),
        ];
        let evidence = Evidence {
            observations: observations(&points),
            variable: Some(SweepVariable::Count),
            history: &[],
            timer: None,
        };
        let claims = check(&evidence);
        let smaller = &claims[0];
        assert_eq!(smaller.verdict, Verdict::Depends);
        assert!(
            smaller.summary.starts_with("Depends on records per request: no practical difference at 1, 10; holds at 100, 1000 (crossover between 10 and 100)"),
            "{}",
            smaller.summary
        );
        assert_eq!(smaller.evidence.len(), 4);
        assert!(
            smaller.evidence[2].contains("REST 0.400× ("),
            "{:?}",
            smaller.evidence
        );
        assert_eq!(
            claims[2].verdict,
            Verdict::Depends,
            "latency: equal, then lower"
        );
    }

    #[test]
    fn agreeing_points_give_a_plain_verdict_with_the_numbers() {
        let points = [(100, point(0.4, 0.8)), (1_000, point(0.38, 0.8))];
        let evidence = Evidence {
            observations: observations(&points),
            variable: Some(SweepVariable::Count),
            history: &[],
            timer: None,
        };
        let claims = check(&evidence);
        assert_eq!(claims[0].verdict, Verdict::Holds);
        assert!(
            claims[0]
                .summary
                .starts_with("Holds: 0.400× at 100; 0.380× at 1000"),
            "{}",
            claims[0].summary
        );
        assert_eq!(claims[2].verdict, Verdict::Holds);
        // Nothing measured for these.
        assert_eq!(claims[1].verdict, Verdict::NotMeasured, "no decode times");
        assert_eq!(
            claims[3].verdict,
            Verdict::NotMeasured,
            "no runs over both HTTP versions"
        );
        assert_eq!(claims[4].verdict, Verdict::NotMeasured, "not a stream");
        assert!(claims[4].summary.contains("bidirectional"));
    }

    #[test]
    fn chromium_s_constant_header_count_is_not_a_measurement() {
        let mut points = [(100, point(0.4, 0.8))];
        for protocol in &mut points[0].1.protocols {
            protocol.header_bytes = Some(300.0);
        }
        let evidence = Evidence {
            observations: observations(&points),
            variable: None,
            history: &[],
            timer: None,
        };
        let claim = &check(&evidence)[5];
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{claim:?}");
        assert!(claim.summary.contains("fixed 300 B"));
        points[0].1.protocols[0].header_bytes = Some(150.0);
        let evidence = Evidence {
            observations: observations(&points),
            variable: None,
            history: &[],
            timer: None,
        };
        assert_eq!(check(&evidence)[5].verdict, Verdict::Holds);
    }

    #[test]
    fn http_versions_are_compared_from_the_history() {
        let points = [(100, point(0.4, 0.8))];
        let config = |http: HttpVersion| RunConfig {
            count: 100,
            http,
            ..RunConfig::default()
        };
        let saved = |http, p50: f64| SavedRun {
            saved_at_ms: 0.0,
            browser: String::new(),
            origin: String::new(),
            settings: config(http).to_query(),
            summaries: ["gRPC-Web", "REST"]
                .map(|protocol| SavedSummary {
                    protocol: protocol.into(),
                    requests: 10,
                    errors: 0,
                    p50_ms: Some(p50),
                    p99_ms: None,
                    requests_per_second: 0.0,
                    wire_bytes: None,
                })
                .to_vec(),
            connections_opened: Some(if http == HttpVersion::TlsH2 { 1 } else { 6 }),
        };
        let history = [
            saved(HttpVersion::TlsH2, 20.0),
            saved(HttpVersion::TlsHttp1, 50.0),
        ];
        let evidence = Evidence {
            observations: observations(&points),
            variable: None,
            history: &history,
            timer: None,
        };
        let claim = &check(&evidence)[3];
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert!(
            claim
                .summary
                .contains("gRPC-Web p50 20 ms over HTTP/2 vs 50 ms over HTTP/1.1"),
            "{}",
            claim.summary
        );
        // An HTTP/1.1 run that opened a connection per few requests measured handshakes.
        let mut churned = history.clone();
        churned[1].connections_opened = Some(14);
        let evidence = Evidence {
            observations: observations(&points),
            variable: None,
            history: &churned,
            timer: None,
        };
        let claim = &check(&evidence)[3];
        assert_eq!(claim.verdict, Verdict::NotComparable, "{claim:?}");
        assert!(
            claim.summary.contains("HTTP/1.1 (TLS): 14 connections"),
            "{}",
            claim.summary
        );
    }

    #[test]
    fn the_matrix_decides_http2_against_http1_with_its_intervals() {
        use crate::run::matrix::examples::{cell, matrix};
        let faster = matrix(vec![
            cell(HttpVersion::TlsHttp1, "http/1.1", 6, 100.0),
            cell(HttpVersion::TlsH2, "h2", 1, 50.0),
        ]);
        let claim = multiplexing_in_matrix(&faster);
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert_eq!(claim.evidence.len(), 2, "one line per protocol");
        assert!(
            claim.summary.contains("loopback, gRPC-Web: p50 0."),
            "{claim:?}"
        );
        let churned = matrix(vec![
            cell(HttpVersion::TlsHttp1, "http/1.1", 23, 100.0),
            cell(HttpVersion::TlsH2, "h2", 1, 50.0),
        ]);
        let claim = multiplexing_in_matrix(&churned);
        assert_eq!(claim.verdict, Verdict::NotComparable, "{claim:?}");
        assert!(claim.summary.contains("23 connections"), "{claim:?}");
        let alone = matrix(vec![cell(HttpVersion::TlsHttp1, "http/1.1", 6, 100.0)]);
        assert_eq!(multiplexing_in_matrix(&alone).verdict, Verdict::NotMeasured);
        // The matrix's claims carry this verdict in place of the history's.
        let claims = faster.claims(&[]);
        let multiplexing = claims.iter().find(|c| c.key == "multiplexing").unwrap();
        assert_eq!(multiplexing.verdict, Verdict::Holds);
    }

    #[test]
    fn a_decode_within_a_few_timer_steps_gets_no_verdict() {
        let mut figures = point(0.4, 0.8);
        figures.protocols[0].decode_ms = exact(0.029);
        figures.protocols[1].decode_ms = exact(0.15);
        figures
            .ratios
            .push(("decode", Some(ratio(0.2, 0.18, 0.22))));
        let points = [(100, figures)];
        let evidence = |step_ms: f64| Evidence {
            observations: observations(&points),
            variable: None,
            history: &[],
            timer: Some(Timer {
                step_ms,
                isolated: step_ms < 0.1,
            }),
        };
        let coarse = faster_codec(&evidence(0.1));
        assert_eq!(coarse.verdict, Verdict::AtTimerLimit, "{coarse:?}");
        assert!(
            coarse.summary.contains("not cross-origin isolated"),
            "{coarse:?}"
        );
        assert!(!coarse.evidence.is_empty(), "the numbers stay as evidence");
        let fine = faster_codec(&evidence(0.005));
        assert_eq!(fine.verdict, Verdict::Holds, "{fine:?}");
    }
}
