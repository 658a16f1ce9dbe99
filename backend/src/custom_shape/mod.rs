//! Custom shapes (issue 22, in progress): a person's own payload as the lab's workload.
//! So far the schema, inferred from a JSON sample ([`inference`], reading it in order:
//! [`ordered_json`]) or pasted as a `.proto`, compiled at run time ([`schema`]), and
//! records generated from it ([`generator`]) with values like the sample's
//! ([`sample_profile`]), kept by id in a bounded [`registry`]. Serving them over every
//! transport and the page's editor are still to come.

pub mod generator;
pub mod inference;
pub mod ordered_json;
pub mod registry;
pub mod sample_profile;
pub mod schema;
