use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http_body::Body;
use pin_project::pin_project;
use web_sys::ReadableStream;

use crate::{
    Error, abort_guard::AbortGuard, body_stream::BodyStream, content_type::Encoding,
    frame_decoder::FrameDecoder,
};

/// The default limit on a frame's length: tonic's default decoding limit.
pub(crate) const DEFAULT_MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

// PATCH (grpc-web-vs-rest-lab): the framing is decoded by `FrameDecoder`, a pure part
// fed the fetch's chunks as they come, and the body ends only once the fetch's stream
// has ended (read to its end, so browsers record its sizes) and the decoder has found
// the trailer frame complete with nothing after it. 0.9.2 ended the body as soon as
// it had read the trailer frame's flag byte: a body cut there lost its trailers
// (upstream issue #97).

/// Type to handle HTTP response
#[pin_project]
pub struct ResponseBody {
    #[pin]
    body_stream: BodyStream,
    decoder: FrameDecoder,
    finished_stream: bool,
    /// An error or the end was returned: nothing more follows.
    ended: bool,
}

impl ResponseBody {
    pub(crate) fn new(
        body_stream: ReadableStream,
        content_type: &str,
        abort: AbortGuard,
        max_frame_bytes: usize,
        status_in_headers: bool,
    ) -> Result<Self, Error> {
        let encoding = Encoding::from_content_type(content_type)?;
        Ok(Self {
            body_stream: BodyStream::new(body_stream, abort)?,
            decoder: FrameDecoder::new(encoding, max_frame_bytes)
                .status_in_headers(status_in_headers),
            finished_stream: false,
            ended: false,
        })
    }
}

impl Body for ResponseBody {
    type Data = Bytes;

    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        loop {
            // Complete messages go out as soon as they are decoded.
            if let Some(data) = this.decoder.take_data() {
                return Poll::Ready(Some(Ok(http_body::Frame::data(data))));
            }
            if *this.finished_stream {
                *this.ended = true;
                if let Err(err) = this.decoder.finish() {
                    return Poll::Ready(Some(Err(err.into())));
                }
                return Poll::Ready(
                    this.decoder
                        .take_trailers()
                        .map(|trailers| Ok(http_body::Frame::trailers(trailers))),
                );
            }
            match ready!(this.body_stream.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Some(piece) = frame.data_ref()
                        && let Err(err) = this.decoder.push(piece)
                    {
                        *this.ended = true;
                        return Poll::Ready(Some(Err(err.into())));
                    }
                }
                Some(Err(err)) => {
                    *this.ended = true;
                    return Poll::Ready(Some(Err(err)));
                }
                None => *this.finished_stream = true,
            }
        }
    }
}

impl Default for ResponseBody {
    fn default() -> Self {
        Self {
            body_stream: BodyStream::empty(),
            decoder: FrameDecoder::new(Encoding::None, DEFAULT_MAX_FRAME_BYTES),
            finished_stream: true,
            ended: true,
        }
    }
}
