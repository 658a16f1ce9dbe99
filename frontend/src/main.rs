//! Entry point of the browser app.

fn main() {
    // A panic shows up in the console with its message instead of an opaque trap.
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(lab_frontend::App);
}
