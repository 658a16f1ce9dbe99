//! The app's components, one per module.

pub mod app;
pub mod charts;
pub mod claims_panel;
pub mod client_choice;
pub mod controls;
pub mod custom_shape_editor;
pub mod embedded_cell;
pub mod http_version;
pub mod lab;
pub mod markup;
pub mod matrix_panel;
pub mod run_history;
pub mod streaming_note;
pub mod summary_table;
pub mod sweep_panel;
