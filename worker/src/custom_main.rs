//! Entry point of the lab's Web Worker for custom shapes (`lab-custom-worker`, built
//! with the `custom-shapes` feature): the same engine host as `lab-worker`, whose
//! engine also has the custom shapes' codec by reflection.

#[path = "engine_host.rs"]
mod engine_host;

fn main() {
    console_error_panic_hook::set_once();
    engine_host::serve();
}
