use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::{Request, Response};
use tonic::body::Body;
use tower_service::Service;

use crate::{
    Error, ResponseBody, call::call, options::FetchOptions, response_body::DEFAULT_MAX_FRAME_BYTES,
};

/// `grpc-web` based transport layer for `tonic` clients
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    options: Option<FetchOptions>,
    max_frame_bytes: usize,
}

impl Client {
    /// Creates a new client
    pub fn new(base_url: String) -> Self {
        Self {
            base_url,
            options: None,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }

    /// Creates a new client with options
    pub fn new_with_options(base_url: String, options: FetchOptions) -> Self {
        Self {
            base_url,
            options: Some(options),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }

    /// Sets the options for the client
    pub fn with_options(&mut self, options: FetchOptions) -> &mut Self {
        self.options = Some(options);
        self
    }

    /// PATCH (grpc-web-vs-rest-lab): the longest response frame (message or trailers)
    /// the client reads, refused by its announced length before it is buffered;
    /// tonic's default decoding limit (4 MiB) unless set. Set it with tonic's
    /// `max_decoding_message_size` when raising that.
    pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.max_frame_bytes = limit;
        self
    }
}

impl Service<Request<Body>> for Client {
    type Response = Response<ResponseBody>;

    type Error = Error;

    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        Box::pin(call(
            self.base_url.clone(),
            request,
            self.options.clone().unwrap_or_default(),
            self.max_frame_bytes,
        ))
    }
}
