//! Both ends of a matrix cell's frame. The page opens a listener's page in a frame with
//! the cell's settings and `embed=<its origin>&frame=<tag>&skip=<warm-up requests>`;
//! that page runs them once and posts two messages to the page, and to no other
//! origin: `[tag, "started"]`, then `[tag, "done", connections opened or -1, samples]`
//! (the samples after the warm-up, packed by [`super::cell_report`]). The page takes a
//! message only from the origin of the cell under way and with its tag.

use js_sys::{Array, Float64Array};
use wasm_bindgen::{JsCast, JsValue};

use super::cell_report;
use super::config::query_value;
use super::data::Sample;

/// This page's part in a matrix, when it was opened as one of its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedding {
    /// The origin of the page that opened the frame: the only one told anything.
    pub parent: String,
    /// The tag of this cell's messages.
    pub tag: String,
    /// Requests at the start of the run that are warm-up, not reported.
    pub skip: u64,
}

impl Embedding {
    /// The embedding a URL query names, if any.
    pub fn from_query(query: &str) -> Option<Self> {
        let get = |key: &str| {
            query_value(query, key).map(|value| value.replace("%3A", ":").replace("%2F", "/"))
        };
        Some(Self {
            parent: get("embed").filter(|p| p.starts_with("http"))?,
            tag: get("frame")?,
            skip: get("skip").and_then(|s| s.parse().ok()).unwrap_or(0),
        })
    }

    /// This page's, from its URL.
    pub fn of_page() -> Option<Self> {
        let query = web_sys::window()?.location().search().ok()?;
        Self::from_query(&query)
    }

    fn post(&self, message: &Array) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(Some(parent)) = window.parent()
            && parent != window
        {
            let _ = parent.post_message(message, &self.parent);
        }
    }

    /// Tells the page the run has started.
    pub fn started(&self) {
        self.post(&Array::of2(&self.tag.as_str().into(), &"started".into()));
    }

    /// Hands the page the run's samples after the warm-up and its connection count.
    pub fn report(&self, samples: &[Sample], connections_opened: Option<u64>) {
        let measured: Vec<&Sample> = samples.iter().filter(|s| s.seq >= self.skip).collect();
        let numbers = Float64Array::from(cell_report::pack(&measured).as_slice());
        let connections = connections_opened.map_or(-1.0, |n| n as f64);
        self.post(&Array::of4(
            &self.tag.as_str().into(),
            &"done".into(),
            &connections.into(),
            &numbers,
        ));
    }
}

/// A message from a cell's frame, as the page reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum CellMessage {
    Started,
    Done {
        connections_opened: Option<u64>,
        samples: Vec<Sample>,
    },
}

/// The tag and content of a frame's message; `None` for anything else.
pub fn read(data: &JsValue) -> Option<(String, CellMessage)> {
    let message = data.dyn_ref::<Array>()?;
    let tag = message.get(0).as_string()?;
    let message = match message.get(1).as_string()?.as_str() {
        "started" => CellMessage::Started,
        "done" => CellMessage::Done {
            connections_opened: message
                .get(2)
                .as_f64()
                .filter(|n| *n >= 0.0)
                .map(|n| n as u64),
            samples: cell_report::unpack(&message.get(3).dyn_into::<Float64Array>().ok()?.to_vec()),
        },
        _ => return None,
    };
    Some((tag, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_s_page_knows_whom_it_reports_to() {
        let embedding = Embedding::from_query(
            "?protocol=both&http=tls-h2&embed=http%3A%2F%2F127.0.0.1%3A8080&frame=17-2&skip=20",
        )
        .unwrap();
        assert_eq!(embedding.parent, "http://127.0.0.1:8080");
        assert_eq!((embedding.tag.as_str(), embedding.skip), ("17-2", 20));
        assert_eq!(Embedding::from_query("?protocol=both&frame=1"), None);
        assert_eq!(
            Embedding::from_query("?embed=javascript:alert(1)&frame=1"),
            None,
            "only a web origin"
        );
    }
}
