//! A sweep: the run's workload repeated at each value of one variable (record count,
//! concurrency, shape or compression), both protocols interleaved at every point, so a
//! reader gets the curve and where it crosses, not one point. Here: the plan, its URL
//! form (`sweep=count&values=1,10,100&per=100&warmup=10`, beside the run's settings),
//! and the run each point is.
//!
//! The HTTP version and the network are not variables of a sweep: each is another
//! listener, i.e. another origin, and calling one from another would add CORS
//! preflights and the origin's own connections to what is measured. A sweep is run on
//! each listener instead; the history keeps them side by side.

use lab_proto::v1::Shape;

use super::Phase;
use super::claims::{Evidence, Observation};
use super::config::{
    MAX_CONCURRENCY, ProtocolChoice, RunConfig, WorkloadKind, query_number, query_value,
};
use super::history::SavedRun;
use super::sweep_point::PointFigures;
use crate::timer_resolution::Timer;

/// The shapes, in the order a shape sweep lists them.
const SHAPES: [Shape; 3] = [Shape::Telemetry, Shape::Order, Shape::Log];
/// Most values one sweep may have.
pub const MAX_VALUES: usize = 12;
/// Bounds of the measured requests per protocol and point, and of the warm-up.
pub const MAX_PER_POINT: u32 = 100_000;
pub const MAX_WARMUP: u32 = 10_000;

/// What a sweep varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepVariable {
    Count,
    Concurrency,
    Shape,
    Compression,
}

impl SweepVariable {
    pub const ALL: [SweepVariable; 4] = [
        SweepVariable::Count,
        SweepVariable::Concurrency,
        SweepVariable::Shape,
        SweepVariable::Compression,
    ];

    /// The stable key, in URLs and exports.
    pub fn key(self) -> &'static str {
        match self {
            SweepVariable::Count => "count",
            SweepVariable::Concurrency => "concurrency",
            SweepVariable::Shape => "shape",
            SweepVariable::Compression => "compression",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SweepVariable::Count => "Records per request",
            SweepVariable::Concurrency => "Concurrency",
            SweepVariable::Shape => "Shape",
            SweepVariable::Compression => "HTTP compression",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.key() == key)
    }

    /// Values to offer when the variable is chosen.
    pub fn default_values(self) -> &'static str {
        match self {
            SweepVariable::Count => "1,10,100,1000",
            SweepVariable::Concurrency => "1,4,16,64",
            SweepVariable::Shape => "telemetry,order,log",
            SweepVariable::Compression => "off,on",
        }
    }

    /// Numbers spread over decades: the charts use a log x axis for them.
    pub fn is_numeric(self) -> bool {
        matches!(self, SweepVariable::Count | SweepVariable::Concurrency)
    }

    /// One value from its text form (a number, a shape's key, `off`/`on`), with what
    /// is wrong with it otherwise.
    fn parse_value(self, text: &str) -> Result<u32, String> {
        let text = text.trim();
        let number = |max: u32, what: &str| {
            text.parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("“{text}” is not a {what} from 1 to {max}"))
        };
        match self {
            SweepVariable::Count => number(lab_proto::dataset::MAX_RECORDS, "record count"),
            SweepVariable::Concurrency => number(MAX_CONCURRENCY, "concurrency"),
            SweepVariable::Shape => SHAPES
                .iter()
                .position(|s| s.key() == text)
                .map(|i| i as u32)
                .ok_or_else(|| format!("“{text}” is not a shape (telemetry, order, log)")),
            SweepVariable::Compression => match text {
                "off" => Ok(0),
                "on" => Ok(1),
                _ => Err(format!("“{text}” is not a compression setting (off, on)")),
            },
        }
    }

    /// A value's text form, as the URL and the charts' ticks show it.
    pub fn value_label(self, value: u32) -> String {
        match self {
            SweepVariable::Count | SweepVariable::Concurrency => value.to_string(),
            SweepVariable::Shape => SHAPES[value as usize % SHAPES.len()].key().to_owned(),
            SweepVariable::Compression if value == 0 => "off".to_owned(),
            SweepVariable::Compression => "on".to_owned(),
        }
    }

    /// The values listed in `text` (comma-separated), in their order of measurement:
    /// numbers ascending, others as written; repeats are dropped.
    pub fn parse_values(self, text: &str) -> Result<Vec<u32>, String> {
        let mut values = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let value = self.parse_value(part)?;
            if !values.contains(&value) {
                values.push(value);
            }
        }
        if self.is_numeric() {
            values.sort_unstable();
        }
        match values.len() {
            0 => Err(format!(
                "list at least one value, e.g. {}",
                self.default_values()
            )),
            n if n > MAX_VALUES => Err(format!("{n} values: a sweep takes at most {MAX_VALUES}")),
            _ => Ok(values),
        }
    }
}

/// A whole sweep's setup, beside the run settings it starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepPlan {
    pub variable: SweepVariable,
    pub values: Vec<u32>,
    /// Measured requests per protocol at each point.
    pub per_point: u32,
    /// Requests per protocol before them at each point, not measured: connections
    /// opened, caches and the JIT warm.
    pub warmup: u32,
}

impl Default for SweepPlan {
    fn default() -> Self {
        Self {
            variable: SweepVariable::Count,
            values: vec![1, 10, 100, 1_000],
            per_point: 100,
            warmup: 10,
        }
    }
}

impl SweepPlan {
    /// The values as the form shows them.
    pub fn values_text(&self) -> String {
        self.values
            .iter()
            .map(|v| self.variable.value_label(*v))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The URL query part of the sweep (joined to the run settings' with `&`).
    pub fn to_query(&self) -> String {
        format!(
            "sweep={}&values={}&per={}&warmup={}",
            self.variable.key(),
            self.values_text(),
            self.per_point,
            self.warmup
        )
    }

    /// The sweep in a URL query, if it names one; values that do not parse fall back
    /// to the variable's defaults, numbers are clamped.
    pub fn from_query(query: &str) -> Option<Self> {
        let get = |key: &str| query_value(query, key);
        let variable = SweepVariable::from_key(get("sweep")?)?;
        let values = get("values")
            .map(|v| v.replace("%2C", ","))
            .and_then(|v| variable.parse_values(&v).ok())
            .or_else(|| variable.parse_values(variable.default_values()).ok())?;
        let default = Self::default();
        Some(Self {
            variable,
            values,
            per_point: query_number(query, "per", MAX_PER_POINT, default.per_point).max(1),
            warmup: query_number(query, "warmup", MAX_WARMUP, default.warmup),
        })
    }

    /// Why this plan cannot run from `base`, if it cannot.
    pub fn check(&self, base: &RunConfig) -> Result<(), String> {
        if self.variable == SweepVariable::Count && base.workload == WorkloadKind::Ping {
            return Err("a ping carries no records: choose fetch, upload or stream to sweep the record count".into());
        }
        Ok(())
    }

    /// The run of the point at `value`: `base` with the value applied, both protocols
    /// interleaved, warm-up and measured requests of each.
    pub fn config_at(&self, base: &RunConfig, value: u32) -> RunConfig {
        let mut config = RunConfig {
            protocol: ProtocolChoice::Both,
            total: 2 * (self.warmup + self.per_point),
            ..*base
        };
        match self.variable {
            SweepVariable::Count => config.count = value,
            SweepVariable::Concurrency => config.concurrency = value,
            SweepVariable::Shape => config.shape = SHAPES[value as usize % SHAPES.len()].into(),
            SweepVariable::Compression => config.compression = value == 1,
        }
        config
    }

    /// Requests of a point (both protocols) that are warm-up: the first ones by
    /// sequence number.
    pub fn warmup_requests(&self) -> u64 {
        2 * u64::from(self.warmup)
    }
}

/// A sweep under way or done: its plan, the settings it started from, and the figures
/// of each point measured so far, in the plan's order.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepState {
    pub plan: SweepPlan,
    pub base: RunConfig,
    pub points: Vec<(u32, PointFigures)>,
    pub phase: Phase,
    /// The browser's user agent and the page's origin, as for a run.
    pub browser: String,
    pub origin: String,
    /// The page's timer.
    pub timer: Option<Timer>,
}

impl SweepState {
    /// The settings and the sweep, as the URL query that reproduces it.
    pub fn to_query(&self) -> String {
        format!("{}&{}", self.base.to_query(), self.plan.to_query())
    }

    /// Its points as evidence for the claims panel.
    pub fn evidence<'a>(&'a self, history: &'a [SavedRun]) -> Evidence<'a> {
        Evidence {
            observations: self
                .points
                .iter()
                .map(|(value, figures)| Observation {
                    label: self.plan.variable.value_label(*value),
                    config: self.plan.config_at(&self.base, *value),
                    figures,
                })
                .collect(),
            variable: Some(self.plan.variable),
            history,
            timer: self.timer,
        }
    }

    /// Where it stands, in words: `Point 2 of 4 (records per request 10)…`.
    pub fn progress(&self) -> String {
        let total = self.plan.values.len();
        let done = self.points.len();
        match self.phase {
            Phase::Running => {
                let value = self.plan.values.get(done).copied().unwrap_or_default();
                format!(
                    "Sweep: point {} of {total} ({} {})…",
                    done + 1,
                    self.plan.variable.label().to_lowercase(),
                    self.plan.variable.value_label(value)
                )
            }
            Phase::Stopped => format!("Sweep stopped after {done} of {total} points"),
            _ => format!("Sweep finished: {done} of {total} points"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_round_trips_through_the_url() {
        for plan in [
            SweepPlan::default(),
            SweepPlan {
                variable: SweepVariable::Shape,
                values: vec![2, 0],
                per_point: 500,
                warmup: 0,
            },
            SweepPlan {
                variable: SweepVariable::Compression,
                values: vec![0, 1],
                per_point: 20,
                warmup: 5,
            },
        ] {
            let query = format!("?protocol=both&{}&count=3", plan.to_query());
            assert_eq!(SweepPlan::from_query(&query), Some(plan));
        }
        assert_eq!(SweepPlan::from_query("?protocol=both&count=3"), None);
    }

    #[test]
    fn values_are_checked_sorted_and_deduplicated() {
        let count = SweepVariable::Count;
        assert_eq!(count.parse_values("100, 1,10,1"), Ok(vec![1, 10, 100]));
        assert_eq!(
            count.parse_values("1,abc"),
            Err("“abc” is not a record count from 1 to 100000".into())
        );
        assert!(count.parse_values("0").is_err());
        assert!(
            count
                .parse_values(" , ")
                .unwrap_err()
                .starts_with("list at least one")
        );
        let many = (1..=13)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            count.parse_values(&many),
            Err("13 values: a sweep takes at most 12".into())
        );
        assert_eq!(
            SweepVariable::Shape.parse_values("log,telemetry"),
            Ok(vec![2, 0]),
            "shapes keep their order"
        );
        assert!(SweepVariable::Compression.parse_values("gzip").is_err());
        assert!(SweepVariable::Concurrency.parse_values("65").is_err());
    }

    #[test]
    fn each_point_is_the_base_run_with_its_value_and_both_protocols() {
        let base = RunConfig {
            protocol: ProtocolChoice::Rest,
            count: 7,
            ..RunConfig::default()
        };
        let plan = SweepPlan {
            per_point: 50,
            warmup: 5,
            ..SweepPlan::default()
        };
        let point = plan.config_at(&base, 1_000);
        assert_eq!(point.count, 1_000);
        assert_eq!(point.protocol, ProtocolChoice::Both);
        assert_eq!(point.total, 110);
        assert_eq!(point.shape, base.shape);
        assert_eq!(plan.warmup_requests(), 10);
        let compression = SweepPlan {
            variable: SweepVariable::Compression,
            ..plan.clone()
        };
        assert!(compression.config_at(&base, 1).compression);
        let shape = SweepPlan {
            variable: SweepVariable::Shape,
            ..plan
        };
        assert_eq!(shape.config_at(&base, 2).shape, Shape::Log.into());
    }

    #[test]
    fn a_count_sweep_of_pings_is_refused() {
        let ping = RunConfig {
            workload: WorkloadKind::Ping,
            ..RunConfig::default()
        };
        assert!(
            SweepPlan::default()
                .check(&ping)
                .unwrap_err()
                .contains("no records")
        );
        assert_eq!(SweepPlan::default().check(&RunConfig::default()), Ok(()));
    }
}
