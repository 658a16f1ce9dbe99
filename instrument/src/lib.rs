//! The lab's instrument: everything a run needs that is not a view, in one crate shared
//! by the page ([`lab-frontend`]) and the Web Worker that runs the engine off the page's
//! main thread (`lab-worker`).
//!
//! The settings and their URL form, samples and their aggregates, pairing calls with
//! the browser's Resource Timing entries, comparisons and statistics ([`run`], [`stats`])
//! are pure and unit-tested natively. The [`transport`]s, the [`resource_timing`]
//! observer, the [`timer_resolution`] and the [`run::engine`] work in either browser
//! global, a page or a worker ([`global_scope`]); the messages between the page and
//! its worker are [`run::worker_protocol`].

pub mod global_scope;
pub mod resource_timing;
pub mod run;
pub mod stats;
pub mod timer_resolution;
pub mod transport;
