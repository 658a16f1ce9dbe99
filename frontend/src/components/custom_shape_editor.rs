//! "Your own" shape (issue 22): a person pastes one of their API's JSON responses (or a
//! `.proto` and its message); the backend infers or compiles the schema and registers
//! the shape; the page shows the inferred `.proto` to correct (a string that is really
//! an enum, an id that is int64) and the sizes per record, and the runs use the shape
//! like a built-in one.
//!
//! Its markup is rendered from a string, everything pasted or answered escaped by
//! [`escaped`] (a typed view of the same form cost the page ~9 KB brotli; see
//! ARCHITECTURE.md), and one handler per event kind reads which control it was.

use lab_proto::contract::custom::{ShapeInfo, ShapeInput};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use super::markup::escaped;
use crate::run::LabSession;
use crate::run::shape_choice::{CustomShapeId, ShapeChoice};
use crate::transport::{self, custom_call};

/// The shape choice's value for "Your own".
pub const YOUR_OWN: &str = "custom";

/// The next run's shape after choosing `key` in the shape list.
pub fn chosen(key: &str, registered: Option<CustomShapeId>, current: ShapeChoice) -> ShapeChoice {
    if key == YOUR_OWN {
        return registered.map_or(current, ShapeChoice::Custom);
    }
    ShapeChoice::from_key(key).unwrap_or(current)
}

/// What the person typed, kept across re-renders of the form.
#[derive(Clone, Default)]
struct Draft {
    source: String,
    is_proto: bool,
    message: String,
    schema: String,
    /// The registered shape whose schema the schema box was last filled with.
    shown: String,
}

/// The sizes of a registered shape, and what they mean.
fn sizes(info: &ShapeInfo) -> String {
    let sample = info
        .sample_json_bytes_per_record
        .map_or_else(String::new, |bytes| {
            format!("Your sample: {bytes:.0} B per record as compact JSON. ")
        });
    format!(
        "{sample}This schema, over 100 generated records: {:.0} B per record as protobuf, \
         {:.0} B as canonical JSON. Up to {} records per request fit the message limit.",
        info.protobuf_bytes_per_record, info.json_bytes_per_record, info.max_count
    )
}

/// The form's markup for `draft`, the registered shape and the last error.
fn form(draft: &Draft, info: Option<&ShapeInfo>, error: Option<&str>, busy: bool) -> String {
    let disabled = if busy { " disabled" } else { "" };
    let checked = |proto: bool| {
        if draft.is_proto == proto {
            " checked"
        } else {
            ""
        }
    };
    let result = info.map_or(String::new(), |info| {
        format!(
            r#"<p data-testid="custom-sizes" data-shape="{id}">{sizes}</p><label for="custom-proto">Schema (correct a type, then use it)<textarea id="custom-proto" data-testid="custom-proto" rows="10" spellcheck="false"{disabled}>{schema}</textarea></label><button type="button" data-testid="custom-use-schema" data-action="schema"{disabled}>Use this schema</button>"#,
            id = escaped(&info.id),
            sizes = escaped(&sizes(info)),
            schema = escaped(&draft.schema),
        )
    });
    let error = error.map_or(String::new(), |e| {
        format!(
            r#"<p class="error" role="alert" data-testid="custom-error">{}</p>"#,
            escaped(e)
        )
    });
    format!(
        r#"<legend>Your own payload</legend><p class="note">Paste one of your API's JSON responses (one record, or an array of a few), or a .proto. The backend infers or compiles the schema and generates records like yours.</p><div role="radiogroup" aria-label="What you paste"><label class="choice"><input type="radio" name="custom-kind" id="custom-kind-sample" data-testid="custom-kind-sample"{s}{disabled}>JSON sample</label><label class="choice"><input type="radio" name="custom-kind" id="custom-kind-proto" data-testid="custom-kind-proto"{p}{disabled}>.proto</label></div><label for="custom-source">Your JSON sample or .proto<textarea id="custom-source" data-testid="custom-source" rows="6" spellcheck="false"{disabled}>{source}</textarea></label><label for="custom-message">Message (of a .proto)<input id="custom-message" data-testid="custom-message" value="{message}"{disabled}></label><button type="button" data-testid="custom-use" data-action="source"{disabled}>Use this payload</button>{error}{result}<p class="note">REST sends the schema's canonical JSON mapping (64-bit integers as strings, default values left out): a hand-written JSON API may differ, so your sample's own size is shown beside it. Both protocols decode your records by reflection: their decode times compare with each other, not with the built-in shapes'.</p>"#,
        s = checked(false),
        p = checked(true),
        source = escaped(&draft.source),
        message = escaped(&draft.message),
    )
}

/// A property of the event's target, as a string (`value`, `id`, …).
fn target_property(ev: &leptos::ev::Event, name: &str) -> String {
    ev.target()
        .and_then(|t| js_sys::Reflect::get(&t, &JsValue::from_str(name)).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// The editor, open while the shape choice is "Your own".
#[component]
pub fn CustomShapeEditor(
    /// The lab's session: its settings, and the registered shape.
    session: LabSession,
    /// True while a run goes on.
    disabled: Signal<bool>,
) -> impl IntoView {
    let draft = StoredValue::new(Draft {
        message: "Record".to_owned(),
        ..Draft::default()
    });
    let busy = RwSignal::new(false);
    let markup = move || {
        let busy = busy.get() || disabled.get();
        let error = session.custom_shape_error.get();
        session.custom_shape.with(|info| {
            if let Some(info) = info {
                // The schema box shows a newly registered shape's .proto, to be
                // corrected; what the person typed since stays (a refused correction
                // keeps its text, so the error's line and column point into it).
                draft.update_value(|d| {
                    if d.shown != info.id {
                        d.shown = info.id.clone();
                        d.schema = info.proto.clone();
                        // Fully qualified: nested messages and packages alike.
                        d.message = info.message.clone();
                    }
                });
            }
            draft.with_value(|d| form(d, info.as_ref(), error.as_deref(), busy))
        })
    };
    let typed = move |ev: leptos::ev::Event| {
        let (id, value) = (target_property(&ev, "id"), target_property(&ev, "value"));
        draft.update_value(|d| match id.as_str() {
            "custom-source" => d.source = value,
            "custom-message" => d.message = value,
            "custom-proto" => d.schema = value,
            "custom-kind-sample" => d.is_proto = false,
            "custom-kind-proto" => d.is_proto = true,
            _ => {}
        });
    };
    let clicked = move |ev: leptos::ev::MouseEvent| {
        let action = ev
            .target()
            .and_then(|t| js_sys::Reflect::get(&t, &JsValue::from_str("dataset")).ok())
            .and_then(|d| js_sys::Reflect::get(&d, &JsValue::from_str("action")).ok())
            .and_then(|a| a.as_string());
        let input = draft.with_value(|d| match action.as_deref() {
            Some("source") if d.is_proto => Some(ShapeInput {
                proto: Some(d.source.clone()),
                message: Some(d.message.clone()),
                sample: None,
            }),
            Some("source") => Some(ShapeInput {
                sample: Some(d.source.clone()),
                ..ShapeInput::default()
            }),
            // The corrected schema keeps the sample: its values still guide the records.
            Some("schema") => Some(ShapeInput {
                proto: Some(d.schema.clone()),
                message: Some(d.message.clone()),
                sample: session
                    .custom_shape
                    .with_untracked(|info| info.as_ref().and_then(|i| i.sample.clone())),
            }),
            _ => None,
        });
        if let Some(input) = input {
            busy.set(true);
            spawn_local(async move {
                let result = custom_call::register(&transport::origin(), &input).await;
                busy.try_set(false);
                match result {
                    Ok(info) => session.use_custom_shape(info),
                    Err(reason) => {
                        session.custom_shape_error.try_set(Some(reason));
                    }
                }
            });
        }
    };
    view! {
        <fieldset class="custom-shape" data-testid="custom-shape" on:input=typed on:change=typed
            on:click=clicked inner_html=markup></fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_text_and_answers_are_shown_as_text() {
        let draft = Draft {
            source: r#"{"<img src=x onerror=alert(1)>": "</textarea><script>"}"#.to_owned(),
            schema: "message </textarea>".to_owned(),
            ..Draft::default()
        };
        let info = ShapeInfo {
            id: "0123456789abcdef".to_owned(),
            proto: String::new(),
            message: "lab.custom.v1.Record".to_owned(),
            sample: None,
            sample_json_bytes_per_record: Some(12.0),
            protobuf_bytes_per_record: 5.0,
            json_bytes_per_record: 20.0,
            max_count: 100,
        };
        let html = form(&draft, Some(&info), Some("<b>bad</b>"), false);
        for raw in ["<img", "</textarea><script>", "<b>bad"] {
            assert!(!html.contains(raw), "{raw} unescaped");
        }
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("12 B per record as compact JSON"));
        assert_eq!(html.matches("<textarea").count(), 2);
    }

    #[test]
    fn choosing_your_own_keeps_the_shape_until_one_is_registered() {
        let order = ShapeChoice::BuiltIn(lab_proto::v1::Shape::Order);
        assert_eq!(chosen(YOUR_OWN, None, order), order);
        let id = CustomShapeId(7);
        assert_eq!(chosen(YOUR_OWN, Some(id), order), ShapeChoice::Custom(id));
        assert_eq!(
            chosen("log", Some(id), order),
            lab_proto::v1::Shape::Log.into()
        );
    }
}
