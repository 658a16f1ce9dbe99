//! Custom shapes (issue 22, in progress): a person's own payload as the lab's workload.
//! So far the schema: inferred from a JSON sample ([`inference`]) or pasted as a
//! `.proto`, compiled at run time ([`schema`]). Generating records from it, serving them
//! over every transport and the page's editor are still to come.

pub mod inference;
pub mod schema;
