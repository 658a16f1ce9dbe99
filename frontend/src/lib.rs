//! The lab's browser app. Components live in [`components`] and only read; the run
//! (engine, settings, measurements, history) lives in [`run`]; the two ways of calling
//! the backend live in [`transport`], behind one interface so both are treated alike.

pub mod components;
pub mod export;
pub mod resource_timing;
pub mod run;
pub mod stats;
pub mod timer_resolution;
pub mod transport;

pub use components::app::App;
