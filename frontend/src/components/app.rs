//! The page: title, introduction and the panels of the lab.

use leptos::prelude::*;

use super::how_measured::HowMeasured;
use super::lab::Lab;
use super::streaming_note::StreamingNote;

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
            <Lab />
            <StreamingNote />
            <HowMeasured />
        </main>
    }
}
