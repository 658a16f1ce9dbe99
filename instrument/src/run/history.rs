//! The last runs, kept in `localStorage` as JSON so they survive a reload and can be
//! compared side by side. Only summaries are kept, never samples: a run of 100,000
//! requests must not fill the browser's storage quota.
//!
//! `localStorage` belongs to one origin, and each HTTP version is another origin (its
//! own listener): when the page moves to another listener it carries the history
//! along in the URL's fragment, which the new page merges into its own storage. So
//! runs over HTTP/1.1 and HTTP/2 end up side by side.

use serde::{Deserialize, Serialize};

use super::data::Summary;

/// How many runs are kept.
pub const KEEP: usize = 12;
/// The URL fragment that carries the history to another listener: `#runs=<JSON>`.
const FRAGMENT_PREFIX: &str = "#runs=";
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
    /// `Date.now()` when the run ended: orders runs and tells them apart when two
    /// origins' histories merge.
    #[serde(default)]
    pub saved_at_ms: f64,
    /// The browser's user agent, and the page's origin (listener) the run went through.
    #[serde(default)]
    pub browser: String,
    #[serde(default)]
    pub origin: String,
    pub settings: String,
    pub summaries: Vec<SavedSummary>,
    /// Connections the run opened to its listener (backend's count), when known.
    #[serde(default)]
    pub connections_opened: Option<u64>,
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

/// Adds the runs of `other` that `history` lacks, newest first, keeping [`KEEP`].
pub fn merge(history: &mut Vec<SavedRun>, other: Vec<SavedRun>) {
    for run in other {
        if !history.contains(&run) {
            history.push(run);
        }
    }
    history.sort_by(|a, b| b.saved_at_ms.total_cmp(&a.saved_at_ms));
    history.truncate(KEEP);
}

/// The URL fragment that hands `history` to the page at another origin.
pub fn to_fragment(history: &[SavedRun]) -> String {
    let json = serde_json::to_string(history).expect("plain data serializes");
    let encoded: String = js_sys::encode_uri_component(&json).into();
    format!("{FRAGMENT_PREFIX}{encoded}")
}

/// The runs a fragment made by [`to_fragment`] carries; none for any other fragment.
pub fn from_fragment(fragment: &str) -> Vec<SavedRun> {
    fragment
        .strip_prefix(FRAGMENT_PREFIX)
        .and_then(|encoded| js_sys::decode_uri_component(encoded).ok())
        .and_then(|json| json.as_string())
        .map(|json| parse(Some(&json)))
        .unwrap_or_default()
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

fn store(json: &str) {
    if let Some(storage) = storage() {
        // A full or disabled storage only loses the history, never the run.
        let _ = storage.set_item(STORAGE_KEY, json);
    }
}

/// Stores `run` in front of the others and returns them all.
pub fn save(run: SavedRun) -> Vec<SavedRun> {
    let mut history = load();
    store(&push(&mut history, run));
    history
}

/// Records the connections the stored run saved at `saved_at_ms` opened, and returns
/// the history.
pub fn set_connections(saved_at_ms: f64, opened: u64) -> Vec<SavedRun> {
    let mut history = load();
    if with_connections(&mut history, saved_at_ms, opened) {
        store(&serde_json::to_string(&history).expect("plain data serializes"));
    }
    history
}

/// Sets the connection count of the run saved at `saved_at_ms`; whether one was.
fn with_connections(history: &mut [SavedRun], saved_at_ms: f64, opened: u64) -> bool {
    let run = history
        .iter_mut()
        .find(|run| run.saved_at_ms == saved_at_ms);
    run.map(|run| run.connections_opened = Some(opened))
        .is_some()
}

/// Merges the runs another origin's page handed over in `fragment` into this
/// origin's storage, and returns the history.
pub fn adopt(fragment: &str) -> Vec<SavedRun> {
    let mut history = load();
    let carried = from_fragment(fragment);
    if !carried.is_empty() {
        merge(&mut history, carried);
        store(&serde_json::to_string(&history).expect("plain data serializes"));
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(settings: &str) -> SavedRun {
        SavedRun {
            saved_at_ms: settings.len() as f64,
            browser: "Firefox/140.0".into(),
            origin: "http://127.0.0.1:8080".into(),
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
            connections_opened: Some(6),
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
    fn merging_two_origins_histories_keeps_each_run_once_newest_first() {
        let (a, b, c) = (run("a"), run("bb"), run("ccc"));
        let mut here = vec![b.clone(), a.clone()];
        merge(&mut here, vec![c.clone(), b.clone()]);
        assert_eq!(here, [c, b, a]);
        let mut full: Vec<SavedRun> = (0..KEEP).map(|i| run(&"x".repeat(i + 10))).collect();
        merge(&mut full, vec![run("y")]);
        assert_eq!(full.len(), KEEP);
        assert!(
            full.iter().all(|r| r.settings != "y"),
            "the oldest goes first"
        );
    }

    #[test]
    fn runs_stored_before_they_had_a_time_still_read() {
        let old = r#"[{"settings":"total=1","summaries":[]}]"#;
        assert_eq!(parse(Some(old))[0].saved_at_ms, 0.0);
    }

    #[test]
    fn unreadable_storage_is_an_empty_history() {
        assert!(parse(None).is_empty());
        assert!(parse(Some("{not json")).is_empty());
        assert!(parse(Some(r#"{"a":1}"#)).is_empty());
    }

    #[test]
    fn a_run_s_connections_join_it_in_the_history_after_it_was_saved() {
        let mut history = vec![run("a"), run("bbb")];
        history[0].connections_opened = None;
        assert!(with_connections(&mut history, 3.0, 14));
        assert_eq!(history[1].connections_opened, Some(14));
        assert_eq!(history[0].connections_opened, None);
        // A run no longer kept: nothing changes.
        assert!(!with_connections(&mut history, 99.0, 1));
    }
}
