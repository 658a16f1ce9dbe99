//! Server-Sent Events framing (`text/event-stream`, as the HTML standard defines it),
//! parsed from bytes as they arrive: a chunk may end anywhere, in a line, between CR
//! and LF, or inside a UTF-8 character. Pure, no browser API: unit-tested natively.
//!
//! Written here rather than taken from a crate: `eventsource-stream` (the backend's
//! tests use it) parses with `nom`, and `sse-parse` (a first release) also keeps ids,
//! retry and buffer caps and decodes data into strings: more wasm than the bundle's
//! budget has room for, to do what these few lines do.
//!
//! Only `event` and `data` are kept. `id` and `retry` serve an `EventSource` that
//! reconnects, which a fetch never does. Data stays bytes: JSON is parsed from them
//! directly, so invalid UTF-8 fails that parse instead of being replaced.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event` field, or `message` when the event had none.
    pub name: String,
    /// Its `data` lines joined with `\n`.
    pub data: Vec<u8>,
}

/// The UTF-8 byte order mark, which a stream may start with.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// Splits a byte stream into events, keeping whatever a chunk leaves unfinished.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The line being read, until its end arrives.
    line: Vec<u8>,
    /// The last chunk ended with a CR: an LF starting the next one ends no new line.
    after_cr: bool,
    /// A line has ended: only the first can start with a byte order mark.
    started: bool,
    /// The `event` field of the event being read.
    name: Vec<u8>,
    /// Its `data` lines so far, each followed by `\n`.
    data: Vec<u8>,
}

impl SseParser {
    /// Takes the next bytes of the stream; returns the events they complete.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if !chunk.is_empty() && std::mem::take(&mut self.after_cr) {
            chunk = chunk.strip_prefix(b"\n").unwrap_or(chunk);
        }
        // A line ends at LF, CR or CRLF.
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&chunk[..end]);
            let line = std::mem::take(&mut self.line);
            self.end_line(&line, &mut events);
            // The buffer is kept for the next line.
            self.line = line;
            self.line.clear();
            let is_cr = chunk[end] == b'\r';
            let rest = &chunk[end + 1..];
            self.after_cr = is_cr && rest.is_empty();
            chunk = match rest {
                [b'\n', tail @ ..] if is_cr => tail,
                _ => rest,
            };
        }
        self.line.extend_from_slice(chunk);
        events
    }

    fn end_line(&mut self, mut line: &[u8], events: &mut Vec<SseEvent>) {
        if !std::mem::replace(&mut self.started, true) {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            // A blank line ends the event; one without any data line is not dispatched.
            if self.data.pop().is_some() {
                let name = match String::from_utf8_lossy(&self.name) {
                    name if name.is_empty() => "message".to_owned(),
                    name => name.into_owned(),
                };
                events.push(SseEvent {
                    name,
                    data: std::mem::take(&mut self.data),
                });
            }
            self.name.clear();
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => (&line[..colon], &line[colon + 1..]),
            None => (line, &[][..]),
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        match field {
            b"event" => self.name = value.to_vec(),
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            // Comments (an empty field name), `id`, `retry` and unknown fields.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use lab_proto::contract::rest::END_EVENT;

    use super::*;

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            name: name.to_owned(),
            data: data.as_bytes().to_vec(),
        }
    }

    fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        chunks.iter().flat_map(|chunk| parser.feed(chunk)).collect()
    }

    /// What the backend sends: JSON messages (with characters of 2, 3 and 4 UTF-8
    /// bytes), then the end event.
    const BACKEND_STREAM: &str = "data: {\"name\":\"é\"}\n\n\
                                  data: {\"unit\":\"€\",\"icon\":\"🛰\"}\n\n\
                                  event: end\ndata: end\n\n";

    fn backend_events() -> Vec<SseEvent> {
        vec![
            event("message", "{\"name\":\"é\"}"),
            event("message", "{\"unit\":\"€\",\"icon\":\"🛰\"}"),
            event(END_EVENT, END_EVENT),
        ]
    }

    #[test]
    fn reads_the_backends_messages_and_its_end_event() {
        assert_eq!(parse(&[BACKEND_STREAM.as_bytes()]), backend_events());
    }

    #[test]
    fn a_chunk_may_end_at_any_byte() {
        let bytes = BACKEND_STREAM.as_bytes();
        for split in 0..=bytes.len() {
            let (head, tail) = bytes.split_at(split);
            assert_eq!(parse(&[head, tail]), backend_events(), "split at {split}");
        }
        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(parse(&one_by_one), backend_events());
    }

    #[test]
    fn lines_end_at_crlf_cr_or_lf_even_split_between_cr_and_lf() {
        let text = b"data: a\r\ndata: b\r\n\r\ndata: c\rdata: d\r\revent: x\ndata: e\n\n";
        let expected = vec![
            event("message", "a\nb"),
            event("message", "c\nd"),
            event("x", "e"),
        ];
        for split in 0..=text.len() {
            let (head, tail) = text.split_at(split);
            assert_eq!(parse(&[head, tail]), expected, "split at {split}");
        }
        assert_eq!(
            parse(&[b"data: a\r", b"", b"\n\r\n"]),
            [event("message", "a")]
        );
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        assert_eq!(
            parse(&[b"data: first\ndata:second\ndata:  third\ndata\n\n"]),
            [event("message", "first\nsecond\n third\n")]
        );
    }

    #[test]
    fn comments_and_other_fields_are_skipped() {
        assert_eq!(
            parse(&[b": keep-alive\n\n:\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n"]),
            [event("message", "x")]
        );
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_its_name_does_not_carry_over() {
        assert_eq!(
            parse(&[b"event: lost\n\ndata: kept\n\ndata:\n\n"]),
            [event("message", "kept"), event("message", "")]
        );
    }

    #[test]
    fn an_unfinished_event_is_held_back() {
        let mut parser = SseParser::default();
        assert_eq!(parser.feed(b"event: end\ndata: end\n"), []);
        assert_eq!(parser.feed(b"\n"), [event(END_EVENT, END_EVENT)]);
    }

    #[test]
    fn a_leading_byte_order_mark_is_dropped() {
        let stream = "\u{feff}data: x\n\n".as_bytes();
        let (head, tail) = stream.split_at(1);
        assert_eq!(parse(&[head, tail]), [event("message", "x")]);
    }
}
