//! Entry point of the lab's Web Worker (built by Trunk from `index.html`'s
//! `data-type="worker"` link): the engine's host, so that a response waits for no
//! chart being drawn and the page's main thread only draws.

mod engine_host;

fn main() {
    // A panic shows up in the console with its message instead of an opaque trap.
    console_error_panic_hook::set_once();
    engine_host::serve();
}
