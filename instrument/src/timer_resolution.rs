//! How fine `performance.now()` is here (the page, or the worker that times runs). Browsers coarsen it unless the page
//! is cross-origin isolated (Chromium: 100 µs, 5 µs isolated; Firefox: 1 ms, 20 µs
//! isolated), and the lab times decodes of a few microseconds. Measured once per page,
//! kept with each run and its export; a median within [`STEPS_AT_LIMIT`] steps of it is
//! at the timer's limit, and the claims say so instead of giving a verdict from it.

use std::cell::OnceCell;

/// A time under this many timer steps is at the timer's limit.
pub const STEPS_AT_LIMIT: f64 = 5.0;
/// Steps seen before the smallest is taken, and the longest the measurement may take.
const STEPS: usize = 20;
const MAX_MS: f64 = 20.0;

/// A global's timer.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timer {
    /// The smallest step `performance.now()` moved by, in ms.
    pub step_ms: f64,
    /// `crossOriginIsolated`.
    pub isolated: bool,
}

impl Timer {
    /// Whether `ms` is within a few steps of the timer's resolution.
    pub fn at_limit(&self, ms: f64) -> bool {
        ms < STEPS_AT_LIMIT * self.step_ms
    }
}

/// The smallest positive step between successive `readings`.
pub fn smallest_step(readings: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut readings = readings.into_iter();
    let mut last = readings.next()?;
    let mut smallest: Option<f64> = None;
    for reading in readings {
        let step = reading - last;
        if step > 0.0 {
            smallest = Some(smallest.map_or(step, |s| s.min(step)));
            last = reading;
        }
    }
    smallest
}

/// Reads the clock until it has moved [`STEPS`] times (at most [`MAX_MS`]).
fn measure() -> Timer {
    let now = crate::transport::now_ms;
    let start = now();
    let mut readings = vec![start];
    let mut moved = 0;
    while moved < STEPS {
        let reading = now();
        if reading != readings[readings.len() - 1] {
            moved += 1;
            readings.push(reading);
        }
        if reading - start > MAX_MS {
            break;
        }
    }
    let isolated = js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Timer {
        step_ms: smallest_step(readings).unwrap_or(MAX_MS),
        isolated,
    }
}

thread_local! {
    static TIMER: OnceCell<Timer> = const { OnceCell::new() };
}

/// The timer of the global this runs in (the page, or the worker that times the runs:
/// both cross-origin isolated or neither), measured the first time it is asked for.
pub fn here() -> Timer {
    TIMER.with(|timer| *timer.get_or_init(measure))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_step_is_the_timer_s_resolution() {
        assert_eq!(smallest_step([0.0, 0.0, 0.1, 0.1, 0.3, 0.4]), Some(0.1));
        assert_eq!(smallest_step([5.0, 5.0]), None, "a clock that never moved");
        assert_eq!(smallest_step([]), None);
    }

    #[test]
    fn a_time_within_five_steps_is_at_the_limit() {
        let coarse = Timer {
            step_ms: 0.1,
            isolated: false,
        };
        assert!(coarse.at_limit(0.029));
        assert!(coarse.at_limit(0.45));
        assert!(!coarse.at_limit(0.5));
        let fine = Timer {
            step_ms: 0.005,
            ..coarse
        };
        assert!(!fine.at_limit(0.029));
    }
}
