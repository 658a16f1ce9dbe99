//! The page: title, introduction and the panels of the lab. "How it is measured" is
//! static text in `index.html`, after the element the app mounts in: readable before
//! the app has loaded, and no part of the wasm bundle.

use leptos::prelude::*;

use super::embedded_cell::EmbeddedCell;
use super::lab::Lab;
use super::streaming_note::StreamingNote;
use crate::run::cell_frame::Embedding;

/// The root component: the lab, or only a matrix cell's run when the page was
/// opened as one.
#[component]
pub fn App() -> impl IntoView {
    if Embedding::of_page().is_some() {
        return view! { <EmbeddedCell /> }.into_any();
    }
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
        </main>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use lab_proto::contract::{GRPC_DEFAULT_MAX_DECODE_BYTES, MAX_MESSAGE_BYTES};

    use crate::stats::scale::format_bytes;

    /// The static "How it is measured" states the limits in force.
    #[test]
    fn the_static_notes_state_the_contract_s_message_limits() {
        let page = include_str!("../../../index.html");
        let default = format_bytes(GRPC_DEFAULT_MAX_DECODE_BYTES as f64);
        let ours = format_bytes(MAX_MESSAGE_BYTES as f64);
        assert!(page.contains(&format!("refuse a message over {default} unless")));
        assert!(page.contains(&format!("raises it to {ours} on both sides")));
        assert!(
            page.contains(r#"<div id="lab"></div>"#),
            "the app's mount point"
        );
    }
}
