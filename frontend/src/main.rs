//! Entry point of the browser app.

fn main() {
    // A panic shows up in the console with its message instead of an opaque trap.
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(lab_frontend::App);
    // When the UI became usable, for the budget measurement (docs/frontend-budget.md).
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark("lab-mounted");
    }
}
