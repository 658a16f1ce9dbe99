//! The lab's browser app. Components live in [`components`]; the two ways of calling
//! the backend live in [`transport`], behind one interface so the UI treats both alike.

pub mod components;
pub mod export;
pub mod lab_run;
pub mod resource_timing;
pub mod run_config;
pub mod run_data;
pub mod run_history;
pub mod stats;
pub mod timing_match;
pub mod transport;

pub use components::app::App;
