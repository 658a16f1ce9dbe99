//! What the instrument reads from the browser global it runs in, a page (`Window`) or
//! a dedicated worker (`WorkerGlobalScope`): both have `performance`, `location` and
//! `navigator`, under different types.

use std::cell::OnceCell;

use wasm_bindgen::JsCast;
use web_sys::{Performance, WorkerGlobalScope};

thread_local! {
    /// Looked up once: `performance.now()` is called several times per request.
    static PERFORMANCE: OnceCell<Option<Performance>> = const { OnceCell::new() };
}

/// Calls `with` on the global's `performance`, in a page or a worker (without a handle
/// to copy: `now_ms` runs several times per request).
pub fn with_performance<T>(with: impl FnOnce(&Performance) -> T) -> Option<T> {
    PERFORMANCE.with(|cell| {
        cell.get_or_init(|| {
            js_sys::Reflect::get(&js_sys::global(), &"performance".into())
                .ok()
                .filter(|p| !p.is_undefined())
                .map(JsCast::unchecked_into)
        })
        .as_ref()
        .map(with)
    })
}

/// The global's origin, e.g. `http://127.0.0.1:8080`: a worker's is its page's.
pub fn origin() -> String {
    match web_sys::window() {
        Some(window) => window.location().origin().unwrap_or_default(),
        None => worker().map(|w| w.location().origin()).unwrap_or_default(),
    }
}

/// The browser's user agent string.
pub fn user_agent() -> String {
    match web_sys::window() {
        Some(window) => window.navigator().user_agent().unwrap_or_default(),
        None => worker()
            .and_then(|w| w.navigator().user_agent().ok())
            .unwrap_or_default(),
    }
}

fn worker() -> Option<WorkerGlobalScope> {
    js_sys::global().dyn_into::<WorkerGlobalScope>().ok()
}
