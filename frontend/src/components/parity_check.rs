//! Fetches the same workload over both protocols when the page loads and shows whether
//! the two answers hold the same records (by count and checksum, not by status).

use lab_proto::v1::Record;
use leptos::prelude::*;

use crate::transport::{self, FetchParams, Protocol, TransportError};

/// What identifies a set of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest {
    count: usize,
    checksum: u32,
}

impl Digest {
    fn of(records: &[Record]) -> Self {
        Self {
            count: records.len(),
            checksum: lab_proto::checksum(records),
        }
    }
}

type Outcome = Result<Digest, TransportError>;

/// Runs `params` over gRPC-Web and REST and compares the answers.
#[component]
pub fn ParityCheck(
    /// The workload both protocols fetch.
    params: FetchParams,
    /// Set once both protocols have answered (or failed).
    settled: RwSignal<bool>,
) -> impl IntoView {
    let origin = transport::origin();
    let results = Protocol::ALL.map(|protocol| {
        let origin = origin.clone();
        let resource = LocalResource::new(move || {
            let origin = origin.clone();
            async move {
                transport::fetch(protocol, &origin, params)
                    .await
                    .map(|records| Digest::of(&records))
            }
        });
        (protocol, resource)
    });

    let verdict = move || {
        let outcomes: Vec<Option<Outcome>> = results.iter().map(|(_, r)| r.get()).collect();
        match outcomes.as_slice() {
            [Some(Ok(a)), Some(Ok(b))] if a == b => {
                ("match", "Both protocols returned the same records.")
            }
            [Some(Ok(_)), Some(Ok(_))] => ("mismatch", "The protocols returned different records!"),
            [Some(_), Some(_)] => ("error", "A protocol failed: see its row."),
            _ => ("pending", "Fetching…"),
        }
    };

    Effect::new(move |_| {
        if verdict().0 != "pending" {
            settled.set(true);
        }
    });
    view! {
        <section
            class="panel parity"
            data-testid="parity"
            data-shape=params.shape.key()
            data-count=params.count
            data-seed=params.seed
        >
            <h2>"Parity check"</h2>
            <p>
                {format!(
                    "{} {} records (seed {}) fetched once over each protocol.",
                    params.count,
                    params.shape.key(),
                    params.seed,
                )}
            </p>
            <table>
                <thead>
                    <tr><th>"Protocol"</th><th>"Records"</th><th>"Checksum"</th><th>"Status"</th></tr>
                </thead>
                <tbody>
                    {results
                        .into_iter()
                        .map(|(protocol, resource)| view! { <ParityRow protocol outcome=resource /> })
                        .collect_view()}
                </tbody>
            </table>
            <p class="verdict" data-testid="parity-verdict" data-state=move || verdict().0>
                {move || verdict().1}
            </p>
        </section>
    }
}

/// One protocol's answer.
#[component]
fn ParityRow(
    /// Which protocol this row shows.
    protocol: Protocol,
    /// Its fetch, pending until it resolves.
    outcome: LocalResource<Outcome>,
) -> impl IntoView {
    let key = protocol.key();
    let cells = move || match outcome.get() {
        None => (String::new(), String::new(), "…".to_owned()),
        Some(Ok(digest)) => (
            digest.count.to_string(),
            format!("{:08x}", digest.checksum),
            "ok".to_owned(),
        ),
        Some(Err(err)) => (String::new(), String::new(), err.to_string()),
    };
    view! {
        <tr data-testid=format!("parity-{key}")>
            <td>{protocol.label()}</td>
            <td data-testid=format!("parity-{key}-count")>{move || cells().0}</td>
            <td data-testid=format!("parity-{key}-checksum")>{move || cells().1}</td>
            <td data-testid=format!("parity-{key}-status")>{move || cells().2}</td>
        </tr>
    }
}
