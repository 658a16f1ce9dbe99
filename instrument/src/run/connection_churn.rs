//! Whether a run's connections betray its HTTP version: a browser keeps at most six
//! HTTP/1.1 connections per origin and one HTTP/2 or HTTP/3 connection (two allowed
//! here for a connection the browser opens ahead). More means connections were not
//! reused, each request paying a new handshake, most often because Chromium does not
//! keep an HTTP/1.1 connection whose certificate had an error. Such a run measures the
//! handshakes, not the HTTP version: it is flagged, and no verdict compares HTTP
//! versions from it.

use super::config::HttpVersion;

/// The most connections a run over `http` opens to its listener when the browser
/// reuses them.
pub fn most_expected(http: HttpVersion) -> u64 {
    match http {
        HttpVersion::PlainHttp1 | HttpVersion::TlsHttp1 => 6,
        HttpVersion::TlsH2 | HttpVersion::QuicH3 => 2,
    }
}

/// Whether a run over `http` that made the backend accept `opened` connections
/// churned through them.
pub fn churned(http: HttpVersion, opened: u64) -> bool {
    opened > most_expected(http)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http1_may_open_six_connections_and_http2_and_3_two() {
        for http in [HttpVersion::PlainHttp1, HttpVersion::TlsHttp1] {
            assert!(!churned(http, 6));
            assert!(churned(http, 7));
        }
        for http in [HttpVersion::TlsH2, HttpVersion::QuicH3] {
            assert!(!churned(http, 2));
            assert!(churned(http, 3));
        }
    }
}
