//! The page: title, introduction and the panels of the lab.

use lab_proto::v1::Shape;
use leptos::prelude::*;

use super::how_measured::HowMeasured;
use super::lab::Lab;
use super::parity_check::ParityCheck;
use super::streaming_note::StreamingNote;
use crate::transport::FetchParams;

/// The workload the parity check runs on every page load: nested records, so that
/// every field type the contract has takes part.
const PARITY_WORKLOAD: FetchParams = FetchParams {
    shape: Shape::Order,
    count: 25,
    seed: 2026,
};

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    let parity_settled = RwSignal::new(false);
    view! {
        <header>
            <h1>"gRPC-Web vs REST lab"</h1>
            <p class="lede">
                "One Rust backend, two protocols, measured in your browser: the same "
                "request goes out as gRPC-Web (protobuf) and as REST (JSON)."
            </p>
        </header>
        <main>
            <Lab ready=Signal::derive(move || parity_settled.get()) />
            <ParityCheck params=PARITY_WORKLOAD settled=parity_settled />
            <StreamingNote />
            <HowMeasured />
        </main>
    }
}
