//! A chart's values for a reader who points at a mark or steps through them with the
//! keyboard: every bar or point carries its values as its `<title>` (the browser's
//! tooltip on hover); the readout line under the chart repeats the one pointed at, and
//! with the chart focused, ← and → (Home, End) step from mark to mark, so the values
//! are one Tab away without a tab stop per mark.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, KeyboardEvent, MouseEvent};

/// The marks of a chart: the elements that have a `<title>`.
const MARKS: &str = ":scope > :is(rect, circle), :scope > g > :is(rect, circle)";

/// A chart's readout: what it shows, and the mark it stepped to.
#[derive(Clone, Copy)]
pub struct Readout {
    text: RwSignal<String>,
    at: StoredValue<Option<u32>>,
}

fn title_of(mark: &Element) -> Option<String> {
    mark.query_selector("title").ok().flatten()?.text_content()
}

impl Readout {
    pub fn new() -> Self {
        Self {
            text: RwSignal::new(String::new()),
            at: StoredValue::new(None),
        }
    }

    /// The line to show under the chart.
    pub fn text(self) -> Signal<String> {
        self.text.into()
    }

    /// The pointer is over `event`'s target: show its values if it is a mark.
    pub fn hover(self, event: MouseEvent) {
        let Some(mark) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if let Some(values) = title_of(&mark) {
            self.text.set(values);
        }
    }

    /// A key pressed on the focused chart (`event`'s current target): arrows step.
    pub fn key(self, event: KeyboardEvent) {
        let Some(chart) = event
            .current_target()
            .and_then(|t| t.dyn_into::<Element>().ok())
        else {
            return;
        };
        let Ok(marks) = chart.query_selector_all(MARKS) else {
            return;
        };
        let count = marks.length();
        if count == 0 {
            return;
        }
        let last = count - 1;
        let at = self.at.get_value().map(|at| at.min(last));
        let next = match event.key().as_str() {
            "ArrowRight" | "ArrowUp" => at.map_or(0, |at| (at + 1).min(last)),
            "ArrowLeft" | "ArrowDown" => at.map_or(last, |at| at.saturating_sub(1)),
            "Home" => 0,
            "End" => last,
            _ => return,
        };
        event.prevent_default();
        if let Some(previous) = at
            .and_then(|at| marks.get(at))
            .and_then(|m| m.dyn_into::<Element>().ok())
        {
            let _ = previous.class_list().remove_1("selected");
        }
        if let Some(mark) = marks.get(next).and_then(|m| m.dyn_into::<Element>().ok()) {
            let _ = mark.class_list().add_1("selected");
            self.text.set(title_of(&mark).unwrap_or_default());
        }
        self.at.set_value(Some(next));
    }
}

impl Default for Readout {
    fn default() -> Self {
        Self::new()
    }
}
