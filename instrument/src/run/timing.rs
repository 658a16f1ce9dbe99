//! Pairs the app's own record of each call with the browser's Resource Timing entry
//! for it. Both arrive in their own time (the observer is called after the fetch
//! settles, sometimes after the app has finished with the call), and many calls share
//! a URL, so each side waits for the other and, for a URL, the pair whose start times
//! are closest wins.

use std::collections::{HashMap, VecDeque};

/// What Resource Timing says about one fetch.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkTiming {
    /// `startTime`, on the same clock as `performance.now()`.
    pub start_ms: f64,
    /// Time to first byte: `responseStart - startTime`.
    pub ttfb_ms: f64,
    /// Download: `responseEnd - responseStart`.
    pub download_ms: f64,
    /// Body bytes on the wire (after HTTP compression).
    pub encoded_body: u64,
    /// Body bytes after decompression.
    pub decoded_body: u64,
    /// Bytes fetched including response headers (approximate by the browser's own
    /// account; 0 when served from cache).
    pub transfer_size: u64,
    /// Server-Timing `handler` + `ser`, when the server sent them.
    pub server_ms: Option<f64>,
    /// `nextHopProtocol`, e.g. `http/1.1`.
    pub protocol: String,
    /// Whether this fetch opened its own connection (`connectEnd > connectStart`; a
    /// reused one has them equal).
    pub new_connection: bool,
}

/// How far apart (ms) a call's start and an entry's start may be and still pair.
const MAX_START_GAP_MS: f64 = 1_000.0;
/// Entries or calls waiting per URL beyond this are dropped, oldest first, so a
/// never-matched side cannot grow without bound.
const MAX_WAITING: usize = 4_096;

/// Two-sided matching by URL and start time.
#[derive(Debug, Default)]
pub struct TimingMatcher<K> {
    waiting_calls: HashMap<String, VecDeque<(f64, K)>>,
    waiting_entries: HashMap<String, VecDeque<NetworkTiming>>,
}

fn take_closest<T>(queue: &mut VecDeque<T>, start: f64, start_of: impl Fn(&T) -> f64) -> Option<T> {
    let (index, gap) = queue
        .iter()
        .enumerate()
        .map(|(i, item)| (i, (start_of(item) - start).abs()))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    (gap <= MAX_START_GAP_MS)
        .then(|| queue.remove(index))
        .flatten()
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() >= MAX_WAITING {
        queue.pop_front();
    }
    queue.push_back(item);
}

impl<K> TimingMatcher<K> {
    /// A call to `url` that started at `start_ms` has finished; returns its timing if
    /// the entry is already here.
    pub fn call_done(&mut self, url: &str, start_ms: f64, key: K) -> Option<(K, NetworkTiming)> {
        if let Some(entry) = self
            .waiting_entries
            .get_mut(url)
            .and_then(|entries| take_closest(entries, start_ms, |e| e.start_ms))
        {
            return Some((key, entry));
        }
        push_bounded(
            self.waiting_calls.entry(url.to_owned()).or_default(),
            (start_ms, key),
        );
        None
    }

    /// The browser reported `entry` for `url`; returns the call it belongs to if that
    /// call has already finished.
    pub fn entry_arrived(&mut self, url: &str, entry: NetworkTiming) -> Option<(K, NetworkTiming)> {
        if let Some((_, key)) = self
            .waiting_calls
            .get_mut(url)
            .and_then(|calls| take_closest(calls, entry.start_ms, |c| c.0))
        {
            return Some((key, entry));
        }
        push_bounded(
            self.waiting_entries.entry(url.to_owned()).or_default(),
            entry,
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(start_ms: f64, size: u64) -> NetworkTiming {
        NetworkTiming {
            start_ms,
            ttfb_ms: 1.0,
            download_ms: 0.5,
            encoded_body: size,
            decoded_body: size,
            transfer_size: size + 100,
            server_ms: None,
            protocol: "http/1.1".into(),
            new_connection: false,
        }
    }

    #[test]
    fn pairs_whichever_side_arrives_first() {
        let mut matcher = TimingMatcher::default();
        assert_eq!(matcher.call_done("/a", 10.0, 1), None);
        assert_eq!(
            matcher.entry_arrived("/a", entry(10.3, 7)),
            Some((1, entry(10.3, 7)))
        );
        assert_eq!(matcher.entry_arrived("/a", entry(20.2, 8)), None);
        assert_eq!(matcher.call_done("/a", 20.0, 2), Some((2, entry(20.2, 8))));
    }

    #[test]
    fn concurrent_calls_to_one_url_pair_by_closest_start() {
        let mut matcher = TimingMatcher::default();
        matcher.call_done("/a", 10.0, "first");
        matcher.call_done("/a", 30.0, "second");
        assert_eq!(
            matcher.entry_arrived("/a", entry(30.4, 2)).map(|m| m.0),
            Some("second")
        );
        assert_eq!(
            matcher.entry_arrived("/a", entry(10.2, 1)).map(|m| m.0),
            Some("first")
        );
    }

    #[test]
    fn urls_never_mix_and_distant_starts_do_not_pair() {
        let mut matcher = TimingMatcher::default();
        matcher.call_done("/a", 10.0, 1);
        assert_eq!(matcher.entry_arrived("/b", entry(10.0, 1)), None);
        assert_eq!(matcher.entry_arrived("/a", entry(5_000.0, 1)), None);
    }
}
