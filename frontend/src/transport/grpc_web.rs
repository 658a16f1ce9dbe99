//! gRPC-Web calls through tonic-web-wasm-client (binary protobuf over `fetch`).

use lab_proto::v1::lab_service_client::LabServiceClient;
use lab_proto::v1::{FetchRequest, Record};
use tonic_web_wasm_client::Client;

use super::{FetchParams, TransportError};

fn client(base_url: &str) -> LabServiceClient<Client> {
    LabServiceClient::new(Client::new(base_url.to_owned()))
}

impl From<tonic::Status> for TransportError {
    fn from(status: tonic::Status) -> Self {
        // tonic-web-wasm-client reports a failed `fetch` (backend down) as UNKNOWN or
        // UNAVAILABLE with the browser's message; either way the code tells the user.
        TransportError::Grpc {
            code: format!("{:?}", status.code()),
            message: status.message().to_owned(),
        }
    }
}

/// `LabService/Fetch`.
pub async fn fetch(base_url: &str, params: FetchParams) -> Result<Vec<Record>, TransportError> {
    let request = FetchRequest {
        shape: params.shape.into(),
        count: params.count,
        seed: params.seed,
    };
    let response = client(base_url).fetch(request).await?;
    Ok(response.into_inner().records)
}
