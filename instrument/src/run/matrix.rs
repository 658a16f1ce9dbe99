//! The HTTP-version × network matrix: the run's workload, both protocols, on each TLS
//! listener (HTTP/1.1, HTTP/2 and HTTP/3 where the backend offers QUIC) of each chosen
//! network, one after the other. Each cell is another origin, so each runs in a frame
//! of its own origin (every request same-origin there, no CORS preflight measured) and
//! hands its samples back ([`super::cell_report`]); the page computes the figures, the
//! ratios between HTTP versions with their intervals, and the verdicts.
//!
//! Here: the plan and its URL form (`matrix=loopback,lighthouse-mobile&mper=100&mwarmup=10`,
//! beside the run's settings), the cells, and what may be compared.

use super::Phase;
use super::claims::{self, Claim, Evidence, Observation};
use super::comparison::CONFIDENCE;
use super::config::{HttpVersion, Network, ProtocolChoice, RunConfig, query_number, query_value};
use super::connection_churn::churned;
use super::history::SavedRun;
use super::sweep::{MAX_PER_POINT, MAX_WARMUP};
use super::sweep_point::PointFigures;
use crate::stats::ratio_interval::{RatioEstimate, hodges_lehmann_ratio};
use crate::timer_resolution::Timer;
use crate::transport::Protocol;

/// The HTTP versions a matrix compares, the baseline first.
pub const VERSIONS: [HttpVersion; 3] = [
    HttpVersion::TlsHttp1,
    HttpVersion::TlsH2,
    HttpVersion::QuicH3,
];

/// Which networks, and how many requests per protocol in each cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixPlan {
    pub networks: Vec<Network>,
    /// Measured requests per protocol and cell.
    pub per_cell: u32,
    /// Requests per protocol before them in each cell, not measured (connections
    /// opened, as in a sweep's points).
    pub warmup: u32,
}

impl Default for MatrixPlan {
    fn default() -> Self {
        Self {
            networks: vec![Network::default()],
            per_cell: 100,
            warmup: 10,
        }
    }
}

impl MatrixPlan {
    /// The URL query part of the matrix (joined to the run settings' with `&`).
    pub fn to_query(&self) -> String {
        let networks: Vec<&str> = self.networks.iter().map(|n| n.key()).collect();
        format!(
            "matrix={}&mper={}&mwarmup={}",
            networks.join(","),
            self.per_cell,
            self.warmup
        )
    }

    /// The matrix a URL query names, if it names one: unknown networks are dropped,
    /// numbers clamped.
    pub fn from_query(query: &str) -> Option<Self> {
        let mut networks: Vec<Network> = Vec::new();
        for network in query_value(query, "matrix")?
            .replace("%2C", ",")
            .split(',')
            .filter_map(Network::from_key)
        {
            if !networks.contains(&network) {
                networks.push(network);
            }
        }
        let default = Self::default();
        Some(Self {
            networks: if networks.is_empty() {
                default.networks
            } else {
                networks
            },
            per_cell: query_number(query, "mper", MAX_PER_POINT, default.per_cell).max(1),
            warmup: query_number(query, "mwarmup", MAX_WARMUP, default.warmup),
        })
    }

    /// The run of one cell: `base` on that listener, both protocols interleaved,
    /// warm-up and measured requests of each.
    pub fn config_at(&self, base: &RunConfig, http: HttpVersion, network: Network) -> RunConfig {
        RunConfig {
            protocol: ProtocolChoice::Both,
            total: 2 * (self.warmup + self.per_cell),
            http,
            network,
            // HTTP versions are the browser's: a service run's lanes choose their own.
            client: super::service_lanes::Client::Browser,
            ..*base
        }
    }

    /// Requests of a cell (both protocols) that are warm-up.
    pub fn warmup_requests(&self) -> u64 {
        2 * u64::from(self.warmup)
    }
}

/// What one cell measured.
#[derive(Debug, Clone, PartialEq)]
pub struct CellFigures {
    pub figures: PointFigures,
    /// Each protocol's successful latencies (gRPC-Web's, then REST's), for the ratios
    /// between cells.
    pub latencies: [Vec<f64>; 2],
    /// Connections the cell's listener accepted during its run (backend's count).
    pub connections_opened: Option<u64>,
}

/// One cell: a listener, and once it is over, what it measured or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixCell {
    pub http: HttpVersion,
    pub network: Network,
    /// The listener's origin, where the cell's frame runs.
    pub origin: String,
    /// Whether its frame has started its run.
    pub started: bool,
    pub outcome: Option<Result<CellFigures, String>>,
}

impl MatrixCell {
    /// Its label, e.g. `HTTP/2 (TLS), loopback`.
    pub fn label(&self) -> String {
        format!("{}, {}", self.http.label(), self.network.key())
    }

    pub fn measured(&self) -> Option<&CellFigures> {
        self.outcome.as_ref().and_then(|o| o.as_ref().ok())
    }

    /// The HTTP version the browser used for most of the cell's fetches.
    pub fn next_hop(&self) -> Option<&str> {
        let figures = &self.measured()?.figures;
        figures.protocols.iter().find_map(|p| p.next_hop.as_deref())
    }

    /// Why the cell cannot stand for its HTTP version, if it cannot: it failed, its
    /// connections were not reused, or the browser took another HTTP version.
    pub fn not_comparable(&self) -> Option<String> {
        let measured = match &self.outcome {
            None => return Some("not measured".into()),
            Some(Err(reason)) => return Some(reason.clone()),
            Some(Ok(measured)) => measured,
        };
        if let Some(n) = measured.connections_opened
            && churned(self.http, n)
        {
            return Some(format!(
                "{n} connections opened, connections not reused (an untrusted certificate?)"
            ));
        }
        match self.next_hop() {
            Some(hop) if hop != self.http.next_hop() => Some(format!(
                "the browser used {hop}, not {}{}",
                self.http.next_hop(),
                if self.http == HttpVersion::QuicH3 {
                    " (Chromium takes HTTP/3 only with its QUIC flags; Firefox once it trusts \
                     the lab's CA)"
                } else {
                    ""
                }
            )),
            Some(_) => None,
            None => Some("no fetch was timed by the browser".into()),
        }
    }
}

/// A matrix under way or done.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixState {
    pub plan: MatrixPlan,
    pub base: RunConfig,
    pub cells: Vec<MatrixCell>,
    pub phase: Phase,
    /// Tells this matrix's frames from any other's.
    pub token: String,
    /// The browser's user agent and the page's origin, as for a run.
    pub browser: String,
    pub origin: String,
    /// The page's timer (each cell's frame has its own, isolated as the page is).
    pub timer: Option<Timer>,
}

impl MatrixState {
    /// The settings and the matrix, as the URL query that reproduces it.
    pub fn to_query(&self) -> String {
        format!("{}&{}", self.base.to_query(), self.plan.to_query())
    }

    /// The cell now running.
    pub fn current(&self) -> Option<usize> {
        (self.phase == Phase::Running)
            .then(|| self.cells.iter().position(|c| c.outcome.is_none()))
            .flatten()
    }

    /// The tag of cell `index`'s messages.
    pub fn frame_tag(&self, index: usize) -> String {
        format!("{}-{index}", self.token)
    }

    /// The URL of cell `index`'s frame: the cell's run on its listener, told where to
    /// report (`embed`), under which tag (`frame`), after how many warm-up requests
    /// (`skip`).
    pub fn frame_url(&self, index: usize) -> Option<String> {
        let cell = self.cells.get(index)?;
        let config = self.plan.config_at(&self.base, cell.http, cell.network);
        Some(format!(
            "{}/?{}&embed={}&frame={}&skip={}",
            cell.origin,
            config.to_query(),
            self.origin,
            self.frame_tag(index),
            self.plan.warmup_requests()
        ))
    }

    /// The cell of `http` over `network`.
    pub fn cell(&self, http: HttpVersion, network: Network) -> Option<&MatrixCell> {
        self.cells
            .iter()
            .find(|c| c.http == http && c.network == network)
    }

    /// Cell `index`'s p50 latency for `protocol` against HTTP/1.1's on the same
    /// network, with its 95% interval: `Err` with the reason where they cannot be
    /// compared.
    pub fn versus_http1(&self, index: usize, protocol: Protocol) -> Result<RatioEstimate, String> {
        let cell = &self.cells[index];
        if cell.http == HttpVersion::TlsHttp1 {
            return Err("HTTP/1.1 is the baseline".into());
        }
        let baseline = self
            .cell(HttpVersion::TlsHttp1, cell.network)
            .ok_or("no HTTP/1.1 cell")?;
        for c in [cell, baseline] {
            if let Some(reason) = c.not_comparable() {
                return Err(format!("{}: {reason}", c.http.label()));
            }
        }
        fn latencies(c: &MatrixCell, protocol: Protocol) -> &[f64] {
            c.measured()
                .map_or(&[][..], |m| &m.latencies[protocol.index()])
        }
        hodges_lehmann_ratio(
            latencies(cell, protocol),
            latencies(baseline, protocol),
            CONFIDENCE,
        )
        .ok_or_else(|| "no successful requests".into())
    }

    /// Where it stands, in words.
    pub fn progress(&self) -> String {
        let total = self.cells.len();
        let done = self.cells.iter().filter(|c| c.outcome.is_some()).count();
        match (self.phase, self.current()) {
            (Phase::Running, Some(i)) => {
                format!(
                    "Matrix: cell {} of {total} ({})…",
                    i + 1,
                    self.cells[i].label()
                )
            }
            (Phase::Stopped, _) => format!("Matrix stopped after {done} of {total} cells"),
            _ => format!("Matrix finished: {done} of {total} cells"),
        }
    }

    /// The claims, checked against every measured cell; HTTP/2 against HTTP/1.1 from
    /// the cells' ratios with their intervals.
    pub fn claims(&self, history: &[SavedRun]) -> Vec<Claim> {
        let observations = self
            .cells
            .iter()
            .filter_map(|cell| {
                Some(Observation {
                    label: cell.label(),
                    config: self.plan.config_at(&self.base, cell.http, cell.network),
                    figures: &cell.measured()?.figures,
                })
            })
            .collect();
        let mut checked = claims::check(&Evidence {
            observations,
            variable: None,
            history,
            timer: self.timer,
        });
        for claim in &mut checked {
            if claim.key == "multiplexing" {
                *claim = claims::multiplexing_in_matrix(self);
            }
        }
        checked
    }
}

/// Matrices for tests, here and in the crates that show them.
#[cfg(any(test, feature = "test-support"))]
pub mod examples {
    use super::*;
    use crate::run::sweep_point::ProtocolFigures;

    /// A measured loopback cell: 50 latencies per protocol from `latency` up.
    pub fn cell(http: HttpVersion, hop: &str, opened: u64, latency: f64) -> MatrixCell {
        let protocol = ProtocolFigures {
            next_hop: Some(hop.into()),
            ..ProtocolFigures::default()
        };
        let latencies: Vec<f64> = (0..50).map(|i| latency + f64::from(i % 5)).collect();
        MatrixCell {
            http,
            network: Network::default(),
            origin: "https://127.0.0.1:8443".into(),
            started: true,
            outcome: Some(Ok(CellFigures {
                figures: PointFigures {
                    protocols: [protocol.clone(), protocol],
                    ratios: Vec::new(),
                },
                latencies: [latencies.clone(), latencies],
                connections_opened: Some(opened),
            })),
        }
    }

    /// A finished matrix of `cells`.
    pub fn matrix(cells: Vec<MatrixCell>) -> MatrixState {
        MatrixState {
            plan: MatrixPlan::default(),
            base: RunConfig::default(),
            cells,
            phase: Phase::Finished,
            token: "t".into(),
            browser: String::new(),
            origin: "http://127.0.0.1:8080".into(),
            timer: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::examples::{cell, matrix};
    use super::*;

    #[test]
    fn a_plan_round_trips_through_the_url() {
        let plan = MatrixPlan {
            networks: vec![
                Network::default(),
                Network::from_key("lighthouse-mobile").unwrap(),
            ],
            per_cell: 40,
            warmup: 0,
        };
        let query = format!("?count=3&{}&sweep=count", plan.to_query());
        assert_eq!(MatrixPlan::from_query(&query), Some(plan));
        assert_eq!(MatrixPlan::from_query("?count=3"), None);
        let odd = MatrixPlan::from_query("matrix=nowhere%2Cloopback,loopback&mper=0").unwrap();
        assert_eq!(odd.networks, vec![Network::default()]);
        assert_eq!(odd.per_cell, 1, "at least one request");
    }

    #[test]
    fn http2_is_compared_with_http1_on_the_same_network() {
        let m = matrix(vec![
            cell(HttpVersion::TlsHttp1, "http/1.1", 6, 100.0),
            cell(HttpVersion::TlsH2, "h2", 1, 50.0),
        ]);
        let ratio = m.versus_http1(1, Protocol::Rest).unwrap();
        assert!(ratio.high < 0.6 && ratio.low > 0.45, "{ratio:?}");
        assert!(
            m.versus_http1(0, Protocol::Rest).is_err(),
            "the baseline itself"
        );
        assert!(m.frame_url(1).unwrap().starts_with(
            "https://127.0.0.1:8443/?protocol=both&workload=fetch&shape=telemetry&count=100&seed=1&compression=off&total=220"
        ));
        assert!(
            m.frame_url(1).unwrap().ends_with(
                "&http=tls-h2&net=loopback&embed=http://127.0.0.1:8080&frame=t-1&skip=20"
            )
        );
    }

    #[test]
    fn churned_or_fallen_back_cells_are_not_compared() {
        let m = matrix(vec![
            cell(HttpVersion::TlsHttp1, "http/1.1", 23, 100.0),
            cell(HttpVersion::TlsH2, "h2", 1, 50.0),
            cell(HttpVersion::QuicH3, "h2", 1, 50.0),
        ]);
        let churn = m.versus_http1(1, Protocol::GrpcWeb).unwrap_err();
        assert!(churn.starts_with("HTTP/1.1 (TLS): "), "{churn}");
        assert!(churn.contains("23 connections"), "{churn}");
        let fallback = m.cells[2].not_comparable().unwrap();
        assert!(
            fallback.starts_with("the browser used h2, not h3"),
            "{fallback}"
        );
        assert_eq!(m.cells[1].not_comparable(), None);
        let failed = MatrixCell {
            outcome: Some(Err("did not start".into())),
            ..m.cells[1].clone()
        };
        assert_eq!(failed.not_comparable().as_deref(), Some("did not start"));
    }

    #[test]
    fn progress_names_the_cell_under_way() {
        let mut m = matrix(vec![
            cell(HttpVersion::TlsHttp1, "http/1.1", 6, 100.0),
            MatrixCell {
                outcome: None,
                ..cell(HttpVersion::TlsH2, "h2", 1, 50.0)
            },
        ]);
        m.phase = Phase::Running;
        assert_eq!(m.current(), Some(1));
        assert_eq!(
            m.progress(),
            "Matrix: cell 2 of 2 (HTTP/2 (TLS), loopback)…"
        );
        m.phase = Phase::Stopped;
        assert_eq!(m.current(), None);
        assert_eq!(m.progress(), "Matrix stopped after 1 of 2 cells");
    }
}
