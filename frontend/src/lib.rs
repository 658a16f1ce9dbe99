//! The lab's browser app. Components live in [`components`]; the two ways of calling
//! the backend live in [`transport`], behind one interface so the UI treats both alike.

pub mod components;
pub mod transport;

pub use components::app::App;
