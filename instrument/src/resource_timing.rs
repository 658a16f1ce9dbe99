//! The browser's own account of each fetch (Resource Timing), read through a
//! `PerformanceObserver`: time to first byte, download time, body sizes on the wire
//! and decoded, and the server's `Server-Timing`.
//!
//! The browser keeps at most 250 entries in its timeline buffer by default and stops
//! recording once it is full; the observer clears the buffer after reading each batch,
//! so runs of any length stay measured.

use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{
    Performance, PerformanceObserver, PerformanceObserverEntryList, PerformanceObserverInit,
    PerformanceResourceTiming, PerformanceServerTiming,
};

use crate::run::timing::NetworkTiming;

/// Keeps the observer alive; dropping it disconnects.
pub struct ResourceTimingObserver {
    observer: PerformanceObserver,
    _callback: Closure<dyn FnMut(PerformanceObserverEntryList, PerformanceObserver)>,
}

impl Drop for ResourceTimingObserver {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// Converts one entry; `None` for anything but a `fetch` (the page's own assets). Every
/// call of either protocol is a `fetch`, streams included: an `EventSource`'s entry
/// would be of another initiator type, and its samples would go unmatched.
fn network_timing(entry: &PerformanceResourceTiming) -> Option<NetworkTiming> {
    if entry.initiator_type() != "fetch" {
        return None;
    }
    let server: Vec<PerformanceServerTiming> = entry
        .server_timing()
        .iter()
        .filter_map(|t| t.dyn_into().ok())
        .collect();
    let server_ms = (!server.is_empty()).then(|| server.iter().map(|t| t.duration()).sum());
    Some(NetworkTiming {
        start_ms: entry.start_time(),
        ttfb_ms: (entry.response_start() - entry.start_time()).max(0.0),
        download_ms: (entry.response_end() - entry.response_start()).max(0.0),
        encoded_body: entry.encoded_body_size() as u64,
        decoded_body: entry.decoded_body_size() as u64,
        transfer_size: entry.transfer_size() as u64,
        server_ms,
        protocol: entry.next_hop_protocol(),
        new_connection: entry.connect_end() > entry.connect_start(),
    })
}

/// Starts observing; `on_entry(url, timing)` is called for every fetch.
pub fn observe(
    mut on_entry: impl FnMut(String, NetworkTiming) + 'static,
) -> Option<ResourceTimingObserver> {
    let callback = Closure::<dyn FnMut(PerformanceObserverEntryList, PerformanceObserver)>::new(
        move |list: PerformanceObserverEntryList, _: PerformanceObserver| {
            let entries: Array = list.get_entries();
            for entry in entries.iter() {
                let Ok(entry) = entry.dyn_into::<PerformanceResourceTiming>() else {
                    continue;
                };
                if let Some(timing) = network_timing(&entry) {
                    on_entry(entry.name(), timing);
                }
            }
            crate::global_scope::with_performance(Performance::clear_resource_timings);
        },
    );
    let observer = PerformanceObserver::new(callback.as_ref().unchecked_ref()).ok()?;
    let entry_types = Array::of1(&"resource".into());
    observer.observe(&PerformanceObserverInit::new(&entry_types));
    Some(ResourceTimingObserver {
        observer,
        _callback: callback,
    })
}
