//! The app's components, one per module.

pub mod app;
pub mod parity_check;
