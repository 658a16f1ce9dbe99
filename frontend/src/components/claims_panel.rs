//! "What this shows": the common claims about gRPC vs REST with the verdict the current
//! run or sweep gives each, and the numbers behind it (built by `run::claims`).

use leptos::prelude::*;

use super::markup::escaped;
use crate::run::claims::{self, Evidence, Observation, PRACTICAL};
use crate::run::{LabSession, Shown};

/// The claims panel.
#[component]
pub fn ClaimsPanel(
    /// The lab's session: its last run or sweep is the evidence.
    session: LabSession,
) -> impl IntoView {
    let history = session.history();
    let checked = Memo::new(move |_| {
        let history = history.get();
        match session.showing.get() {
            Shown::Sweep => {
                return session.sweep.with(|s| {
                    s.as_ref()
                        .filter(|s| !s.points.is_empty())
                        .map(|s| ("the sweep", claims::check(&s.evidence(&history))))
                });
            }
            Shown::Matrix => {
                return session.matrix.with(|m| {
                    m.as_ref()
                        .filter(|m| m.cells.iter().any(|c| c.measured().is_some()))
                        .map(|m| ("the HTTP-version matrix", m.claims(&history)))
                });
            }
            Shown::Run => {}
        }
        let (config, timer) = session.run.with(|run| (run.config, run.timer));
        session.run_figures.with(|figures| {
            figures.as_ref().map(|figures| {
                let evidence = Evidence {
                    observations: vec![Observation {
                        label: "this run".into(),
                        config,
                        figures,
                    }],
                    variable: None,
                    history: &history,
                    timer,
                };
                ("this run", claims::check(&evidence))
            })
        })
    });
    // Written as markup, as the sweep charts are (see `sweep_chart`): the text is the
    // lab's own, escaped all the same.
    let list = move || {
        checked.with(|checked| {
            let Some((source, claims)) = checked else {
                return String::new();
            };
            let mut html = format!(r#"<p class="note">From {source}.</p><ul class="claims">"#);
            for claim in claims {
                html += &format!(
                    r#"<li data-testid="claim-{}" data-verdict="{}"><strong>{}</strong><p class="verdict" data-testid="claim-summary">{}</p><ul class="evidence">"#,
                    claim.key,
                    claim.verdict.key(),
                    escaped(claim.claim),
                    escaped(&claim.summary)
                );
                for line in &claim.evidence {
                    html += &format!("<li>{}</li>", escaped(line));
                }
                html += "</ul></li>";
            }
            html + "</ul>"
        })
    };
    view! {
        <section class="panel claims" data-testid="claims">
            <h2>"What this shows"</h2>
            <p class="note">
                {format!(
                    "Each verdict comes from the measured ratio gRPC-Web : REST and its 95% interval; \
                     a difference under {:.0}% counts as no practical difference. Run a workload or a \
                     sweep to check the claims.",
                    PRACTICAL * 100.0
                )}
            </p>
            <div inner_html=list></div>
        </section>
    }
}
