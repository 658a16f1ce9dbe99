//! A custom shape's calls (issue 22): what they carry, the backend's shape API the page
//! uses (register, info), and the codec that encodes and decodes the shape's records.
//! The codec works by reflection over the shape's descriptors (`prost-reflect`), for
//! protobuf and for the canonical JSON alike, so the two decode times compare with each
//! other (not with the built-in shapes', which run generated code). It is built only
//! into the worker that runs custom shapes (feature `custom-shapes`, [`super::reflect_codec`]):
//! prost-reflect costs that worker more than the rest of the engine does, and a run of a
//! built-in shape never loads it.

use std::rc::Rc;

use gloo_net::http::Request;
use lab_proto::RecordDigest;
use lab_proto::contract::custom::{ShapeInfo, ShapeInput};
use lab_proto::contract::rest as api;

use super::TransportError;
use super::rest::body_of;
use crate::run::shape_choice::CustomShapeId;

/// What a custom shape's call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomWork {
    Fetch {
        count: u32,
        seed: u64,
    },
    /// Sends the run's records (the codec holds them).
    Upload,
    Stream {
        count: u32,
        seed: u64,
        interval_ms: u32,
    },
}

/// A call of a custom shape: its id, what it does, and its codec.
#[derive(Clone)]
pub struct CustomCall {
    pub id: CustomShapeId,
    pub work: CustomWork,
    pub codec: Rc<dyn CustomCodec>,
}

impl std::fmt::Debug for CustomCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomCall")
            .field("id", &self.id)
            .field("work", &self.work)
            .finish_non_exhaustive()
    }
}

/// Records (a fetch's) or one streamed message, decoded: counted and digested apart
/// from the timed decode.
pub trait DecodedRecords {
    /// Records decoded (1 for a streamed message).
    fn count(&self) -> u64;
    /// Adds each record's encoding to `digest`.
    fn digest(&self, digest: &mut RecordDigest);
}

/// Encodes and decodes one custom shape's messages in both protocols' encodings.
pub trait CustomCodec {
    /// A fetch's response (`Records`), as protobuf or as JSON.
    fn records(&self, bytes: &[u8], json: bool) -> Result<Box<dyn DecodedRecords>, String>;
    /// One streamed message (`StreamItem`), as protobuf or as JSON.
    fn item(&self, bytes: &[u8], json: bool) -> Result<Box<dyn DecodedRecords>, String>;
    /// An upload's body: the run's records as protobuf.
    fn upload_protobuf(&self) -> Vec<u8>;
    /// An upload's body: the run's records as JSON.
    fn upload_json(&self) -> String;
}

/// The body of a GET of `url`, or why not (the backend's `detail`: for a shape it no
/// longer has, that it must be registered again).
async fn get(url: &str) -> Result<Vec<u8>, TransportError> {
    let response = Request::get(url)
        .send()
        .await
        .map_err(|err| TransportError::Network(err.to_string()))?;
    body_of(&response).await
}

/// Registers a person's sample or `.proto` (`POST /api/v1/shapes`): the shape, or the
/// backend's reason for refusing it.
pub async fn register(origin: &str, input: &ShapeInput) -> Result<ShapeInfo, String> {
    let body = serde_json::to_string(input).expect("strings serialize");
    let request = Request::post(&format!("{origin}{}", api::SHAPES))
        .header("content-type", "application/json")
        .body(body)
        .map_err(|err| err.to_string())?;
    let response = request.send().await.map_err(|err| err.to_string())?;
    let body = body_of(&response).await.map_err(|err| match err {
        TransportError::Http { detail, .. } => detail,
        other => other.to_string(),
    })?;
    serde_json::from_slice(&body).map_err(|err| err.to_string())
}

/// A registered shape's info (`GET /api/v1/shapes/{id}`), or why not.
pub async fn info(origin: &str, id: CustomShapeId) -> Result<ShapeInfo, TransportError> {
    let body = get(&format!("{origin}{}/{}", api::SHAPES, id.hex())).await?;
    serde_json::from_slice(&body).map_err(|err| TransportError::Decode(err.to_string()))
}

/// The shape's descriptors (an encoded `FileDescriptorSet`), from the backend.
pub async fn descriptors(origin: &str, id: CustomShapeId) -> Result<Vec<u8>, TransportError> {
    get(&format!("{origin}{}/{}/descriptor", api::SHAPES, id.hex())).await
}

/// `count` records of the shape for `seed` as the backend's JSON: an upload's records
/// (the generator, with the sample's profile, lives there).
pub async fn records_json(
    origin: &str,
    id: CustomShapeId,
    count: u32,
    seed: u64,
) -> Result<Vec<u8>, TransportError> {
    let key = lab_proto::contract::custom::key(&id.hex());
    get(&format!(
        "{origin}{}",
        api::keyed_records_url(api::RECORDS, &key, count, seed)
    ))
    .await
}

/// The call of a custom shape's run, its codec loaded from the backend (and an
/// upload's records with it). Without the `custom-shapes` feature: an error that says so.
pub async fn prepare(
    origin: &str,
    id: CustomShapeId,
    work: CustomWork,
    count: u32,
    seed: u64,
) -> Result<CustomCall, TransportError> {
    #[cfg(feature = "custom-shapes")]
    {
        let codec = super::reflect_codec::ReflectCodec::load(origin, id, work, count, seed).await?;
        Ok(CustomCall {
            id,
            work,
            codec: Rc::new(codec),
        })
    }
    #[cfg(not(feature = "custom-shapes"))]
    {
        let _ = (origin, work, count, seed);
        Err(TransportError::Decode(format!(
            "this engine was built without custom shapes (shape {}): the page runs them in \
             the lab-custom-worker",
            id.hex()
        )))
    }
}
