//! The page: title, introduction and the panels of the lab.

use lab_proto::v1::Shape;
use leptos::prelude::*;

use super::parity_check::ParityCheck;
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
    view! {
        <header>
            <h1>"gRPC-Web vs REST lab"</h1>
            <p class="lede">
                "One Rust backend, two protocols, measured in your browser: the same "
                "request goes out as gRPC-Web (protobuf) and as REST (JSON)."
            </p>
        </header>
        <main>
            <ParityCheck params=PARITY_WORKLOAD />
        </main>
    }
}
