//! Entry point of the browser app.

use wasm_bindgen::JsCast;

fn main() {
    // A panic shows up in the console with its message instead of an opaque trap.
    console_error_panic_hook::set_once();
    // Into `#lab`, before the static notes that follow it in index.html.
    let document = web_sys::window()
        .and_then(|window| window.document())
        .expect("a browser page");
    let lab = document
        .get_element_by_id("lab")
        .expect("index.html has a #lab element");
    // A matrix cell's frame shows its run only, not the static notes.
    if lab_frontend::run::cell_frame::Embedding::of_page().is_some()
        && let Some(body) = document.body()
    {
        body.set_class_name("cell-frame-page");
    }
    leptos::mount::mount_to(lab.unchecked_into(), lab_frontend::App).forget();
    // When the UI became usable, for the budget measurement (docs/frontend-budget.md).
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark("lab-mounted");
    }
}
