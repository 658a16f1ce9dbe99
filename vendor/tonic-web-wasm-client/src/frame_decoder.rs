//! PATCH (grpc-web-vs-rest-lab): the gRPC-Web response body's framing as a pure
//! decoder, fed bytes in whatever pieces the network delivers them.
//!
//! A gRPC-Web response body is a sequence of frames, each a flag byte, a 4-byte
//! big-endian length and that many bytes: data frames (flag bit 7 clear; bit 0 says
//! the message is compressed) carrying gRPC messages, then one trailer frame (bit 7
//! set) carrying the trailers as HTTP/1 header lines. In `grpc-web-text` the whole
//! body is base64, possibly padded at the end of every frame.
//!
//! 0.9.2 counted the trailer frame as read as soon as its flag byte was, so a body cut
//! right after that byte ended without trailers ("missing grpc-status"; upstream issue
//! #97). Here the body is complete only once the trailer frame is parsed; a body that
//! ends earlier, or goes on after it, is an error that says which.

use base64::{Engine, prelude::BASE64_STANDARD};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::content_type::Encoding;

/// Bit 7 of the flag byte: the frame carries trailers.
const TRAILER_BIT: u8 = 0b1000_0000;
/// A frame's flag byte and length.
const PREFIX_LEN: usize = 5;
/// At most this many trailers are parsed.
const MAX_TRAILERS: usize = 64;

/// What a gRPC-Web response body's framing can get wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A frame announces more bytes than the client accepts.
    #[error("gRPC-Web {kind} frame of {length} bytes over the {limit}-byte limit")]
    TooLarge {
        kind: FrameKind,
        length: usize,
        limit: usize,
    },
    /// The body ended inside a frame.
    #[error("gRPC-Web response cut short in its {kind} frame: {received} of {expected} bytes")]
    CutShort {
        kind: FrameKind,
        /// Bytes of the frame (prefix included) that arrived.
        received: usize,
        /// Bytes the frame needs (prefix included; the prefix alone while the length
        /// is unknown).
        expected: usize,
    },
    /// The body ended between frames without a trailer frame.
    #[error("gRPC-Web response ended without its trailer frame")]
    NoTrailerFrame,
    /// Bytes followed the trailer frame.
    #[error("{0} bytes after the gRPC-Web trailer frame")]
    BytesAfterTrailers(usize),
    /// The trailer frame is not a block of HTTP header lines.
    #[error("gRPC-Web trailers do not parse: {0}")]
    InvalidTrailers(String),
    /// A `grpc-web-text` body is not base64.
    #[error("gRPC-Web text response not base64: {0}")]
    InvalidBase64(String),
}

/// The two kinds of gRPC-Web frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Data,
    Trailer,
}

impl std::fmt::Display for FrameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FrameKind::Data => "data",
            FrameKind::Trailer => "trailer",
        })
    }
}

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a frame's flag byte and length.
    Prefix,
    /// Inside a frame whose prefix was read.
    Body { kind: FrameKind, length: usize },
    /// The trailer frame was parsed: nothing may follow.
    Done,
    /// An error was returned: nothing more is decoded.
    Failed,
}

/// Decodes a gRPC-Web response body fed in arbitrary pieces.
///
/// [`push`](Self::push) each piece as it arrives, take the complete data frames with
/// [`take_data`](Self::take_data) (prefix included, as tonic's decoder reads them) and,
/// at the end of the body, call [`finish`](Self::finish), then
/// [`take_trailers`](Self::take_trailers).
#[derive(Debug)]
pub struct FrameDecoder {
    encoding: Encoding,
    max_frame_bytes: usize,
    /// Base64 text not yet decoded (text mode only; fewer than 4 characters between
    /// pushes).
    text: BytesMut,
    /// Binary bytes of the current frame not yet consumed.
    buf: BytesMut,
    /// Complete data frames not yet taken.
    data: BytesMut,
    trailers: Option<HeaderMap>,
    state: State,
    /// The response's headers carried its status (a trailers-only response): an empty
    /// body is then complete.
    status_in_headers: bool,
    /// Whether any byte of the body arrived.
    started: bool,
}

impl FrameDecoder {
    /// A decoder for a body in `encoding` that refuses frames longer than
    /// `max_frame_bytes` (data or trailers) before buffering them.
    pub fn new(encoding: Encoding, max_frame_bytes: usize) -> Self {
        Self {
            encoding,
            max_frame_bytes,
            text: BytesMut::new(),
            buf: BytesMut::new(),
            data: BytesMut::new(),
            trailers: None,
            state: State::Prefix,
            status_in_headers: false,
            started: false,
        }
    }

    /// Accepts an empty body as complete: the response's headers carried its
    /// `grpc-status` (a trailers-only response).
    pub fn status_in_headers(mut self, yes: bool) -> Self {
        self.status_in_headers = yes;
        self
    }

    /// Adds the next piece of the body and decodes every frame it completes.
    pub fn push(&mut self, piece: &[u8]) -> Result<(), FrameError> {
        if self.state == State::Failed {
            return Ok(());
        }
        let outcome = self.decode(piece);
        if outcome.is_err() {
            self.state = State::Failed;
        }
        outcome
    }

    fn decode(&mut self, piece: &[u8]) -> Result<(), FrameError> {
        self.started |= !piece.is_empty();
        match self.encoding {
            Encoding::None => self.buf.put_slice(piece),
            Encoding::Base64 => {
                self.text.put_slice(piece);
                // Only whole quanta: a padded frame end decodes on its own.
                let whole = self.text.len() / 4 * 4;
                let quanta = self.text.split_to(whole);
                // A padded quantum ends one frame's text: decode up to it on its own.
                let mut start = 0;
                for end in (4..=whole).step_by(4) {
                    if quanta[end - 1] == b'=' || end == whole {
                        let decoded = BASE64_STANDARD
                            .decode(&quanta[start..end])
                            .map_err(|err| FrameError::InvalidBase64(err.to_string()))?;
                        self.buf.put_slice(&decoded);
                        start = end;
                    }
                }
            }
        }
        self.step()
    }

    /// Consumes every complete frame in `buf`.
    fn step(&mut self) -> Result<(), FrameError> {
        loop {
            match self.state {
                State::Prefix => {
                    if self.buf.len() < PREFIX_LEN {
                        return Ok(());
                    }
                    let flag = self.buf[0];
                    let length = (&self.buf[1..PREFIX_LEN]).get_u32() as usize;
                    let kind = if flag & TRAILER_BIT == 0 {
                        FrameKind::Data
                    } else {
                        FrameKind::Trailer
                    };
                    if length > self.max_frame_bytes {
                        return Err(FrameError::TooLarge {
                            kind,
                            length,
                            limit: self.max_frame_bytes,
                        });
                    }
                    self.state = State::Body { kind, length };
                }
                State::Body { kind, length } => {
                    // `length` is at most the limit, which may be near `usize::MAX`.
                    let needed = PREFIX_LEN.saturating_add(length);
                    if self.buf.len() < needed {
                        return Ok(());
                    }
                    let frame = self.buf.split_to(needed);
                    match kind {
                        FrameKind::Data => {
                            self.data.unsplit(frame);
                            self.state = State::Prefix;
                        }
                        FrameKind::Trailer => {
                            self.trailers = Some(parse_trailers(&frame[PREFIX_LEN..])?);
                            self.state = State::Done;
                        }
                    }
                }
                State::Done => {
                    return match self.buf.len() + self.text.len() {
                        0 => Ok(()),
                        extra => Err(FrameError::BytesAfterTrailers(extra)),
                    };
                }
                State::Failed => return Ok(()),
            }
        }
    }

    /// The complete data frames decoded since the last call, prefixes included.
    pub fn take_data(&mut self) -> Option<Bytes> {
        (!self.data.is_empty()).then(|| self.data.split().freeze())
    }

    /// Says whether the body, now ended, was complete: its trailer frame parsed and
    /// nothing after it.
    pub fn finish(&mut self) -> Result<(), FrameError> {
        let outcome = match self.state {
            State::Done | State::Failed => Ok(()),
            State::Prefix if !self.started && self.status_in_headers => Ok(()),
            // Text left over that does not make a whole base64 quantum.
            _ if !self.text.is_empty() => Err(self.cut_short()),
            State::Prefix if self.buf.is_empty() => Err(FrameError::NoTrailerFrame),
            State::Prefix | State::Body { .. } => Err(self.cut_short()),
        };
        if outcome.is_err() {
            self.state = State::Failed;
        }
        outcome
    }

    /// The error for a body that ended inside the current frame.
    fn cut_short(&self) -> FrameError {
        let (kind, expected) = match self.state {
            State::Body { kind, length } => (kind, PREFIX_LEN.saturating_add(length)),
            _ => match self.buf.first() {
                Some(flag) if flag & TRAILER_BIT != 0 => (FrameKind::Trailer, PREFIX_LEN),
                _ => (FrameKind::Data, PREFIX_LEN),
            },
        };
        FrameError::CutShort {
            kind,
            received: self.buf.len(),
            expected,
        }
    }

    /// The trailers, once the trailer frame was parsed (taken once).
    pub fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.trailers.take()
    }
}

/// Parses a trailer frame's header lines (`name: value\r\n`, the last line's end
/// optional).
fn parse_trailers(block: &[u8]) -> Result<HeaderMap, FrameError> {
    // Line ends at the block's end are optional, and so is one blank line.
    let end = block
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n'))
        .map_or(0, |last| last + 1);
    let mut lines = Vec::with_capacity(end + 4);
    lines.extend_from_slice(&block[..end]);
    if end > 0 {
        lines.extend_from_slice(b"\r\n");
    }
    lines.extend_from_slice(b"\r\n");
    let mut parsed = [httparse::EMPTY_HEADER; MAX_TRAILERS];
    let headers = match httparse::parse_headers(&lines, &mut parsed) {
        Ok(httparse::Status::Complete((used, headers))) if used == lines.len() => headers,
        Ok(_) => {
            return Err(FrameError::InvalidTrailers("an empty line".to_owned()));
        }
        Err(err) => return Err(FrameError::InvalidTrailers(err.to_string())),
    };
    let mut trailers = HeaderMap::with_capacity(headers.len());
    for header in headers {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|err| FrameError::InvalidTrailers(format!("{:?}: {err}", header.name)))?;
        let value = HeaderValue::from_bytes(header.value)
            .map_err(|err| FrameError::InvalidTrailers(format!("{name}: {err}")))?;
        trailers.append(name, value);
    }
    Ok(trailers)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![flag];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn trailer_frame(block: &str) -> Vec<u8> {
        frame(TRAILER_BIT, block.as_bytes())
    }

    const OK_TRAILERS: &str = "grpc-status: 0\r\ngrpc-message: \r\n";

    /// What a body decodes to: the data frames' bytes and the trailers.
    #[derive(Debug, PartialEq)]
    struct Decoded {
        data: Vec<u8>,
        trailers: Option<HeaderMap>,
    }

    /// Feeds `pieces` in order, then ends the body.
    fn decode_pieces(
        encoding: Encoding,
        limit: usize,
        pieces: &[&[u8]],
    ) -> Result<Decoded, FrameError> {
        let mut decoder = FrameDecoder::new(encoding, limit);
        let mut data = Vec::new();
        for piece in pieces {
            decoder.push(piece)?;
            if let Some(bytes) = decoder.take_data() {
                data.extend_from_slice(&bytes);
            }
        }
        decoder.finish()?;
        Ok(Decoded {
            data,
            trailers: decoder.take_trailers(),
        })
    }

    fn decode_whole(encoding: Encoding, body: &[u8]) -> Result<Decoded, FrameError> {
        decode_pieces(encoding, LIMIT, &[body])
    }

    /// Every cut of `body` into two pieces, and into three at every pair of positions
    /// (bodies up to 200 bytes), decodes as the whole body does.
    fn assert_every_split_decodes_alike(encoding: Encoding, body: &[u8]) {
        let whole = decode_whole(encoding, body);
        for cut in 0..=body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(
                decode_pieces(encoding, LIMIT, &[a, b]),
                whole,
                "cut at {cut} of {}",
                body.len()
            );
        }
        if body.len() <= 200 {
            for first in 0..=body.len() {
                for second in first..=body.len() {
                    let pieces = [&body[..first], &body[first..second], &body[second..]];
                    assert_eq!(
                        decode_pieces(encoding, LIMIT, &pieces),
                        whole,
                        "cuts at {first} and {second}"
                    );
                }
            }
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(
            decode_pieces(encoding, LIMIT, &bytes),
            whole,
            "byte by byte"
        );
    }

    fn ok_trailers() -> HeaderMap {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("grpc-message", HeaderValue::from_static(""));
        trailers
    }

    fn unary() -> (Vec<u8>, Vec<u8>) {
        let message = frame(0, b"\x0a\x05hello\x10\x2a");
        let mut body = message.clone();
        body.extend(trailer_frame(OK_TRAILERS));
        (body, message)
    }

    #[test]
    fn a_unary_response_decodes_the_same_at_every_split() {
        let (body, message) = unary();
        let whole = decode_whole(Encoding::None, &body).unwrap();
        assert_eq!(whole.data, message);
        assert_eq!(whole.trailers, Some(ok_trailers()));
        assert_every_split_decodes_alike(Encoding::None, &body);
    }

    #[test]
    fn an_empty_message_decodes_the_same_at_every_split() {
        let mut body = frame(0, b"");
        body.extend(trailer_frame(OK_TRAILERS));
        let whole = decode_whole(Encoding::None, &body).unwrap();
        assert_eq!(whole.data, vec![0, 0, 0, 0, 0]);
        assert_every_split_decodes_alike(Encoding::None, &body);
    }

    #[test]
    fn a_server_stream_decodes_the_same_at_every_split() {
        let mut body = Vec::new();
        let mut messages = Vec::new();
        for n in 0..6u8 {
            let message = frame(0, &vec![n; usize::from(n) * 7]);
            messages.extend_from_slice(&message);
            body.extend(message);
        }
        body.extend(trailer_frame(
            "grpc-status: 0\r\ngrpc-message: \r\nx-lab: end\r\n",
        ));
        let whole = decode_whole(Encoding::None, &body).unwrap();
        assert_eq!(whole.data, messages);
        assert_eq!(whole.trailers.unwrap()["x-lab"], "end");
        assert_every_split_decodes_alike(Encoding::None, &body);
    }

    #[test]
    fn compressed_flag_frames_pass_through_at_every_split() {
        let mut body = frame(1, b"\x1f\x8b compressed bytes");
        body.extend(frame(1, b"more"));
        let data = body.clone();
        body.extend(trailer_frame("grpc-status: 0\r\n"));
        assert_eq!(decode_whole(Encoding::None, &body).unwrap().data, data);
        assert_every_split_decodes_alike(Encoding::None, &body);
    }

    #[test]
    fn an_error_status_in_the_trailers_is_read_at_every_split() {
        let body = trailer_frame("grpc-status: 8\r\ngrpc-message: over%20the%20limit\r\n");
        let whole = decode_whole(Encoding::None, &body).unwrap();
        assert_eq!(whole.trailers.unwrap()["grpc-status"], "8");
        assert_every_split_decodes_alike(Encoding::None, &body);
    }

    #[test]
    fn text_mode_frames_padded_one_by_one_decode_the_same_at_every_split() {
        // grpc-web-text servers may base64 each frame on its own, padding included.
        let (binary, message) = unary();
        let (data, trailer) = binary.split_at(message.len());
        let mut text = BASE64_STANDARD.encode(data).into_bytes();
        text.extend(BASE64_STANDARD.encode(trailer).into_bytes());
        let whole = decode_whole(Encoding::Base64, &text).unwrap();
        assert_eq!(whole.data, message);
        assert_eq!(whole.trailers, Some(ok_trailers()));
        assert_every_split_decodes_alike(Encoding::Base64, &text);
    }

    #[test]
    fn a_body_cut_after_the_trailer_flag_is_an_error_that_says_so() {
        let (body, message) = unary();
        let cut = &body[..message.len() + 1];
        let err = decode_pieces(Encoding::None, LIMIT, &[cut]).unwrap_err();
        assert_eq!(
            err,
            FrameError::CutShort {
                kind: FrameKind::Trailer,
                received: 1,
                expected: PREFIX_LEN,
            }
        );
        assert_eq!(
            err.to_string(),
            "gRPC-Web response cut short in its trailer frame: 1 of 5 bytes"
        );
    }

    #[test]
    fn every_truncation_of_a_body_is_an_error_never_a_success() {
        let (body, message) = unary();
        for end in 0..body.len() {
            let err = decode_pieces(Encoding::None, LIMIT, &[&body[..end]]).unwrap_err();
            let expected = if end == 0 || end == message.len() {
                FrameError::NoTrailerFrame
            } else {
                let (kind, start) = if end < message.len() {
                    (FrameKind::Data, 0)
                } else {
                    (FrameKind::Trailer, message.len())
                };
                let received = end - start;
                let frame_len = if kind == FrameKind::Data {
                    message.len()
                } else {
                    body.len() - message.len()
                };
                FrameError::CutShort {
                    kind,
                    received,
                    expected: if received < PREFIX_LEN {
                        PREFIX_LEN
                    } else {
                        frame_len
                    },
                }
            };
            assert_eq!(err, expected, "body ending at {end}");
        }
    }

    #[test]
    fn a_trailer_frame_that_never_completes_is_cut_short() {
        let mut body = frame(0, b"x");
        body.extend_from_slice(&[TRAILER_BIT, 0, 0, 1, 0]);
        body.extend_from_slice(b"grpc-status: 0\r\n");
        let err = decode_whole(Encoding::None, &body).unwrap_err();
        assert_eq!(
            err,
            FrameError::CutShort {
                kind: FrameKind::Trailer,
                received: PREFIX_LEN + 16,
                expected: PREFIX_LEN + 256,
            }
        );
    }

    #[test]
    fn a_length_beyond_the_limit_is_refused_before_its_bytes_arrive() {
        let mut decoder = FrameDecoder::new(Encoding::None, 1_000);
        let err = decoder.push(&[0, 0, 0, 0x03, 0xe9]).unwrap_err();
        assert_eq!(
            err,
            FrameError::TooLarge {
                kind: FrameKind::Data,
                length: 1_001,
                limit: 1_000,
            }
        );
        // Nothing more is decoded, and the end is not a second error.
        decoder.push(b"anything").unwrap();
        assert_eq!(decoder.take_data(), None);
        decoder.finish().unwrap();
        let err = decode_pieces(Encoding::None, 10, &[&trailer_frame(OK_TRAILERS)]).unwrap_err();
        assert!(matches!(
            err,
            FrameError::TooLarge {
                kind: FrameKind::Trailer,
                ..
            }
        ));
    }

    #[test]
    fn trailer_headers_that_do_not_parse_are_an_error() {
        for block in [
            "grpc-status 0\r\n",
            "grpc-status: 0\r\n\r\ngrpc-message: x\r\n",
            "bad name: 0\r\n",
            "grpc-status: \x010\r\n",
        ] {
            let err = decode_whole(Encoding::None, &trailer_frame(block)).unwrap_err();
            assert!(
                matches!(err, FrameError::InvalidTrailers(_)),
                "{block:?}: {err:?}"
            );
        }
    }

    #[test]
    fn bytes_after_the_trailer_frame_are_an_error_in_any_piece() {
        let (mut body, _) = unary();
        let end = body.len();
        body.extend(frame(0, b"late"));
        for cut in 0..=body.len() {
            let (a, b) = body.split_at(cut);
            let err = decode_pieces(Encoding::None, LIMIT, &[a, b]).unwrap_err();
            assert!(
                matches!(err, FrameError::BytesAfterTrailers(n) if n > 0 && n <= body.len() - end),
                "cut at {cut}: {err:?}"
            );
        }
    }

    #[test]
    fn an_empty_body_has_no_trailer_frame_unless_the_headers_carried_the_status() {
        assert_eq!(
            decode_whole(Encoding::None, b""),
            Err(FrameError::NoTrailerFrame)
        );
        let mut trailers_only = FrameDecoder::new(Encoding::None, LIMIT).status_in_headers(true);
        trailers_only.push(b"").unwrap();
        assert_eq!(trailers_only.finish(), Ok(()));
        assert_eq!(trailers_only.take_trailers(), None);
        // With the status in the headers, a body that starts must still be whole.
        let mut cut = FrameDecoder::new(Encoding::None, LIMIT).status_in_headers(true);
        cut.push(&[0, 0]).unwrap();
        assert!(matches!(cut.finish(), Err(FrameError::CutShort { .. })));
    }

    #[test]
    fn a_trailer_block_may_end_with_a_blank_line() {
        let body = trailer_frame("grpc-status: 0\r\ngrpc-message: \r\n\r\n");
        assert_eq!(
            decode_whole(Encoding::None, &body).unwrap().trailers,
            Some(ok_trailers())
        );
    }

    #[test]
    fn text_that_is_not_base64_or_ends_mid_quantum_is_an_error() {
        assert!(matches!(
            decode_whole(Encoding::Base64, b"AAA*"),
            Err(FrameError::InvalidBase64(_))
        ));
        let (binary, _) = unary();
        let text = BASE64_STANDARD.encode(binary);
        assert!(matches!(
            decode_whole(Encoding::Base64, &text.as_bytes()[..text.len() - 1]),
            Err(FrameError::CutShort { .. })
        ));
    }
}
