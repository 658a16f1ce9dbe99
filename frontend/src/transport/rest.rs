//! REST calls through gloo-net, decoded with serde_json.

use gloo_net::http::Request;
use lab_proto::v1::{FetchResponse, Record};

use super::{FetchParams, TransportError};

/// `GET /api/v1/records`.
pub async fn fetch(base_url: &str, params: FetchParams) -> Result<Vec<Record>, TransportError> {
    let url = format!(
        "{base_url}/api/v1/records?shape={}&count={}&seed={}",
        params.shape.slug(),
        params.count,
        params.seed
    );
    let response = Request::get(&url)
        .send()
        .await
        .map_err(|err| TransportError::Network(err.to_string()))?;
    let body = response
        .text()
        .await
        .map_err(|err| TransportError::Network(err.to_string()))?;
    if !response.ok() {
        return Err(TransportError::Http {
            status: response.status(),
            detail: error_detail(&body),
        });
    }
    let decoded: FetchResponse =
        serde_json::from_str(&body).map_err(|err| TransportError::Decode(err.to_string()))?;
    Ok(decoded.records)
}

/// The `detail` of the backend's JSON error body, or the body itself.
fn error_detail(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("detail")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::error_detail;

    #[test]
    fn error_detail_prefers_the_json_detail() {
        assert_eq!(
            error_detail(r#"{"error":"invalid_argument","detail":"count too big"}"#),
            "count too big"
        );
        assert_eq!(error_detail("Bad Gateway"), "Bad Gateway");
    }
}
