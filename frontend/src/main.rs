//! Entry point of the browser app.

use wasm_bindgen::JsCast;

fn main() {
    // A panic shows up in the console with its message instead of an opaque trap.
    console_error_panic_hook::set_once();
    // Into `#lab`, before the static notes that follow it in index.html.
    let lab = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id("lab"))
        .expect("index.html has a #lab element");
    leptos::mount::mount_to(lab.unchecked_into(), lab_frontend::App).forget();
    // When the UI became usable, for the budget measurement (docs/frontend-budget.md).
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark("lab-mounted");
    }
}
