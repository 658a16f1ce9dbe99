//! The last runs, kept in `localStorage` as JSON so they survive a reload and can be
//! compared side by side. Only summaries are kept, never samples: a run of 100,000
//! requests must not fill the browser's storage quota.

use serde::{Deserialize, Serialize};

use super::data::Summary;

/// How many runs are kept.
pub const KEEP: usize = 6;
/// The `localStorage` key.
pub const STORAGE_KEY: &str = "grpc-web-vs-rest-lab.runs";

/// One protocol's headline numbers in a saved run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedSummary {
    pub protocol: String,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub requests_per_second: f64,
    pub wire_bytes: Option<f64>,
}

impl From<&Summary> for SavedSummary {
    fn from(s: &Summary) -> Self {
        Self {
            protocol: s.protocol.label().to_owned(),
            requests: s.requests,
            errors: s.errors,
            p50_ms: s.latency.map(|l| l.p50),
            p99_ms: s.latency.map(|l| l.p99),
            requests_per_second: s.requests_per_second,
            wire_bytes: s.mean_wire_bytes,
        }
    }
}

/// A finished run: its settings (as the URL query) and its summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedRun {
    pub settings: String,
    pub summaries: Vec<SavedSummary>,
}

/// Reads the stored history; anything unreadable counts as empty.
pub fn parse(stored: Option<&str>) -> Vec<SavedRun> {
    stored
        // `from_slice`: the app's only serde_json reader (see `transport::rest`).
        .and_then(|json| serde_json::from_slice(json.as_bytes()).ok())
        .unwrap_or_default()
}

/// Adds `run` first, keeps the newest [`KEEP`], and returns the JSON to store.
pub fn push(history: &mut Vec<SavedRun>, run: SavedRun) -> String {
    history.insert(0, run);
    history.truncate(KEEP);
    serde_json::to_string(history).expect("plain data serializes")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The runs stored in this browser, newest first.
pub fn load() -> Vec<SavedRun> {
    let stored = storage()
        .and_then(|s| s.get_item(STORAGE_KEY).ok())
        .flatten();
    parse(stored.as_deref())
}

/// Stores `run` in front of the others and returns them all.
pub fn save(run: SavedRun) -> Vec<SavedRun> {
    let mut history = load();
    let json = push(&mut history, run);
    if let Some(storage) = storage() {
        // A full or disabled storage only loses the history, never the run.
        let _ = storage.set_item(STORAGE_KEY, &json);
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(settings: &str) -> SavedRun {
        SavedRun {
            settings: settings.into(),
            summaries: vec![SavedSummary {
                protocol: "REST".into(),
                requests: 10,
                errors: 0,
                p50_ms: Some(1.5),
                p99_ms: None,
                requests_per_second: 99.0,
                wire_bytes: Some(1024.0),
            }],
        }
    }

    #[test]
    fn keeps_the_newest_runs_first_and_round_trips() {
        let mut history = Vec::new();
        let mut json = String::new();
        for i in 0..KEEP + 2 {
            json = push(&mut history, run(&format!("total={i}")));
        }
        let back = parse(Some(&json));
        assert_eq!(back.len(), KEEP);
        assert_eq!(back[0].settings, format!("total={}", KEEP + 1));
        assert_eq!(back, history);
    }

    #[test]
    fn unreadable_storage_is_an_empty_history() {
        assert!(parse(None).is_empty());
        assert!(parse(Some("{not json")).is_empty());
        assert!(parse(Some(r#"{"a":1}"#)).is_empty());
    }
}
