//! `Server-Timing` header values, so the browser can tell server time from network
//! time in its Resource Timing entries.

use std::time::Duration;

use axum::http::HeaderValue;

/// `handler;dur=…, ser;dur=…` in milliseconds: time spent producing the response
/// value, then serializing it.
pub fn header_value(handler: Duration, serialize: Duration) -> HeaderValue {
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    let text = format!(
        "handler;dur={:.3}, ser;dur={:.3}",
        ms(handler),
        ms(serialize)
    );
    HeaderValue::try_from(text).expect("digits and ASCII punctuation only")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds_with_microsecond_precision() {
        let value = header_value(Duration::from_micros(1_500), Duration::from_nanos(250_000));
        assert_eq!(value, "handler;dur=1.500, ser;dur=0.250");
    }
}
