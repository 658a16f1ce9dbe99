//! The gRPC face of the lab (served natively over HTTP/2 and as gRPC-Web).

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use lab_proto::contract::{MAX_MESSAGE_BYTES, grpc::SHAPE_METADATA};
use lab_proto::dataset;
use lab_proto::v1::lab_service_server::{LabService, LabServiceServer};
use lab_proto::v1::{
    EchoRequest, EchoResponse, FetchCustomRequest, FetchCustomResponse, FetchRequest,
    FetchResponse, PingRequest, PingResponse, StreamCustomRequest, StreamCustomResponse,
    StreamRequest, StreamResponse, UploadCustomRequest, UploadCustomResponse, UploadRequest,
    UploadResponse, UploadStreamRequest, UploadStreamResponse,
};
use prost::Message;
use tonic::{Request, Response, Status};

use crate::AppState;
use crate::custom_workload::{self, CustomSpec};
use crate::incoming_records::{Echoes, UploadTally};
use crate::workload::{self, RecordsSpec, RequestError};

impl From<RequestError> for Status {
    fn from(err: RequestError) -> Self {
        match err {
            RequestError::InvalidArgument(msg) => Status::invalid_argument(msg),
            RequestError::Busy(msg) => Status::resource_exhausted(msg),
            RequestError::UnknownShape(msg) => Status::not_found(msg),
        }
    }
}

/// The gRPC service's full name as generated: its methods are under `/{SERVICE_NAME}/`.
/// It is the contract's `grpc::SERVICE` (a test below checks).
pub const SERVICE_NAME: &str = <LabServiceServer<LabGrpc> as tonic::server::NamedService>::NAME;

/// The tonic service, configured with the lab's message size limit.
pub fn service(state: AppState) -> LabServiceServer<LabGrpc> {
    let limit = state.config.max_body_bytes;
    LabServiceServer::new(LabGrpc { state })
        .max_decoding_message_size(limit)
        .max_encoding_message_size(usize::MAX)
}

/// Implements `lab.v1.LabService`.
pub struct LabGrpc {
    state: AppState,
}

type RecordStream = Pin<Box<dyn Stream<Item = Result<StreamResponse, Status>> + Send>>;
type EchoStream = Pin<Box<dyn Stream<Item = Result<EchoResponse, Status>> + Send>>;
type CustomRecordStream = Pin<Box<dyn Stream<Item = Result<StreamCustomResponse, Status>> + Send>>;

#[tonic::async_trait]
impl LabService for LabGrpc {
    async fn ping(&self, _: Request<PingRequest>) -> Result<Response<PingResponse>, Status> {
        Ok(Response::new(PingResponse {}))
    }

    async fn fetch(&self, req: Request<FetchRequest>) -> Result<Response<FetchResponse>, Status> {
        let req = req.into_inner();
        let spec = RecordsSpec::from_wire(req.shape, req.count, req.seed)?;
        let records = dataset::generate(spec.shape, spec.seed, spec.count as usize);
        Ok(Response::new(FetchResponse { records }))
    }

    async fn upload(
        &self,
        req: Request<UploadRequest>,
    ) -> Result<Response<UploadResponse>, Status> {
        let records = req.into_inner().records;
        workload::check_count(u32::try_from(records.len()).unwrap_or(u32::MAX))?;
        Ok(Response::new(UploadResponse {
            count: records.len() as u64,
            checksum: lab_proto::checksum(&records),
        }))
    }

    type StreamStream = RecordStream;

    async fn stream(&self, req: Request<StreamRequest>) -> Result<Response<RecordStream>, Status> {
        let req = req.into_inner();
        let spec = RecordsSpec::from_wire(req.shape, req.count, req.seed)?;
        let interval = workload::stream_interval(req.interval_ms)?;
        let stream = crate::record_stream::records(spec, interval, &self.state.live_streams)?;
        Ok(Response::new(Box::pin(stream.map(Ok))))
    }

    async fn fetch_custom(
        &self,
        req: Request<FetchCustomRequest>,
    ) -> Result<Response<FetchCustomResponse>, Status> {
        let req = req.into_inner();
        let spec = CustomSpec::new(&self.state.shapes, &req.shape_id, req.count, req.seed)?;
        let records = spec.protobuf(MAX_MESSAGE_BYTES)?;
        Ok(Response::new(FetchCustomResponse { records }))
    }

    async fn upload_custom(
        &self,
        req: Request<UploadCustomRequest>,
    ) -> Result<Response<UploadCustomResponse>, Status> {
        let id = req
            .metadata()
            .get(SHAPE_METADATA)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "name the records' custom shape in the `{SHAPE_METADATA}` metadata"
                ))
            })?
            .to_owned();
        let shape = custom_workload::find(&self.state.shapes, &id)?;
        let answer = custom_workload::upload_protobuf(&shape, req.into_inner().records)?;
        Ok(Response::new(UploadCustomResponse {
            count: answer.count,
            checksum: answer.checksum,
        }))
    }

    type StreamCustomStream = CustomRecordStream;

    async fn stream_custom(
        &self,
        req: Request<StreamCustomRequest>,
    ) -> Result<Response<CustomRecordStream>, Status> {
        let req = req.into_inner();
        let spec = CustomSpec::new(&self.state.shapes, &req.shape_id, req.count, req.seed)?;
        let interval = workload::stream_interval(req.interval_ms)?;
        let mut generator = spec.generator();
        let stream = crate::record_stream::paced(
            spec.count,
            interval,
            &self.state.live_streams,
            move |seq| StreamCustomResponse {
                seq,
                record: Some(generator.next_record().encode_to_vec()),
            },
        )?;
        Ok(Response::new(Box::pin(stream.map(Ok))))
    }

    async fn upload_stream(
        &self,
        req: Request<tonic::Streaming<UploadStreamRequest>>,
    ) -> Result<Response<UploadStreamResponse>, Status> {
        // A slot while the client sends: a dropped client frees it (the tests watch).
        let _slot = self.state.live_streams.admit()?;
        let mut incoming = req.into_inner();
        let mut tally = UploadTally::default();
        while let Some(message) = incoming.message().await? {
            tally.add(message.record.as_ref())?;
        }
        let answer = tally.finish()?;
        Ok(Response::new(UploadStreamResponse {
            count: answer.count,
            checksum: answer.checksum,
        }))
    }

    type EchoStream = EchoStream;

    async fn echo(
        &self,
        req: Request<tonic::Streaming<EchoRequest>>,
    ) -> Result<Response<EchoStream>, Status> {
        let slot = self.state.live_streams.admit()?;
        let incoming = req.into_inner();
        // Each message answered as it arrives; the first error ends the stream.
        let answers = futures_util::stream::unfold(
            Some((incoming, Echoes::default(), slot)),
            |state| async move {
                let (mut incoming, mut echoes, slot) = state?;
                let answer = match incoming.message().await {
                    Ok(Some(message)) => {
                        echoes.answer(message.record.as_ref()).map_err(Status::from)
                    }
                    Ok(None) => return None,
                    Err(status) => Err(status),
                };
                let next = answer.is_ok().then_some((incoming, echoes, slot));
                Some((answer, next))
            },
        );
        Ok(Response::new(Box::pin(answers)))
    }
}

#[cfg(test)]
mod tests {
    use lab_proto::contract;

    #[test]
    fn the_generated_service_name_is_the_contracts() {
        assert_eq!(super::SERVICE_NAME, contract::grpc::SERVICE);
    }
}
