//! Who sends the run's requests: this browser (gRPC-Web against REST, the page's own
//! worker), or, service to service, the backend's native runner, whose transports per
//! side are chosen here. The runner goes to the listeners of the network the page is
//! on, so both kinds of run cross the same emulated link.

use leptos::prelude::*;

use crate::run::LabSession;
use crate::run::service_lanes::{Client, GrpcLane, RestLane};

/// The client and, service to service, its two lanes.
#[component]
pub fn ClientChoice(
    /// The lab's session, whose settings the choice edits.
    session: LabSession,
    /// True while a run goes on.
    disabled: Signal<bool>,
) -> impl IntoView {
    let config = session.config;
    let service = move || config.with(|c| c.client == Client::Service);
    let clients = Client::ALL
        .into_iter()
        .map(|client| {
            view! {
                <option value=client.key() selected=move || config.with(|c| c.client == client)>
                    {client.label()}
                </option>
            }
        })
        .collect_view();
    let grpc_lanes = GrpcLane::ALL
        .into_iter()
        .map(|lane| {
            view! {
                <option value=lane.key() selected=move || config.with(|c| c.lanes.grpc == lane)>
                    {lane.label()}
                </option>
            }
        })
        .collect_view();
    let rest_lanes = RestLane::ALL
        .into_iter()
        .map(|lane| {
            view! {
                <option value=lane.key() selected=move || config.with(|c| c.lanes.rest == lane)>
                    {lane.label()}
                </option>
            }
        })
        .collect_view();
    view! {
        <label for="client">
            "Client"
            <select id="client" data-testid="client" disabled=disabled
                on:change=move |ev| {
                    if let Some(client) = Client::from_key(&event_target_value(&ev)) {
                        config.update(|c| c.client = client);
                    }
                }>
                {clients}
            </select>
        </label>
        <div class="lanes" hidden=move || !service()>
            <label for="grpc-lane">
                "gRPC side"
                <select id="grpc-lane" data-testid="grpc-lane" disabled=disabled
                    on:change=move |ev| {
                        if let Some(lane) = GrpcLane::from_key(&event_target_value(&ev)) {
                            config.update(|c| c.lanes.grpc = lane);
                        }
                    }>
                    {grpc_lanes}
                </select>
            </label>
            <label for="rest-lane">
                "REST side"
                <select id="rest-lane" data-testid="rest-lane" disabled=disabled
                    on:change=move |ev| {
                        if let Some(lane) = RestLane::from_key(&event_target_value(&ev)) {
                            config.update(|c| c.lanes.rest = lane);
                        }
                    }>
                    {rest_lanes}
                </select>
            </label>
            <p class="note">
                "Measured outside the browser: the backend's native runner sends the requests \
                 to its own listeners on this network (one run at a time). Every streaming \
                 mode works natively; the browser's limits do not apply."
            </p>
        </div>
    }
}
