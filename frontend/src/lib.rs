//! The lab's page. Components live in [`components`] and only read; the page's side of
//! the run (its handle for the views, the hook with every command, the worker that
//! runs the engine, history, sweeps, matrix, claims) lives in [`run`]. The instrument
//! itself — settings, engine, transports, samples, statistics — is the
//! `lab-instrument` crate, which the worker shares; its modules are re-exported here
//! under their usual names.

pub mod components;
pub mod export;
pub mod run;

pub use components::app::App;
pub use lab_instrument::{stats, timer_resolution, transport};
