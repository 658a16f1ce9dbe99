//! The page as a matrix cell's frame: no controls, no charts, only the run of the
//! settings in its URL, started once the backend has named its listeners (so the
//! connections it opens are counted), and a line saying how far it is. The run
//! reports to the page that opened the frame (`run::cell_frame`).

use leptos::prelude::*;

use crate::run::use_lab_run;

/// The cell's run and its progress line.
#[component]
pub fn EmbeddedCell() -> impl IntoView {
    let session = use_lab_run();
    let started = StoredValue::new(false);
    Effect::new(move |_| {
        if !session.listeners.with(Vec::is_empty) && !started.get_value() {
            started.set_value(true);
            session.start();
        }
    });
    let run = session.run;
    view! {
        <p data-testid="cell-progress">
            {move || run.with(|run| format!(
                "{}, {}: {}/{} requests",
                run.config.http.label(),
                run.config.network.key(),
                run.done,
                run.config.total
            ))}
        </p>
    }
}
