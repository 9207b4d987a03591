//! Byte-level Server-Sent Events framer.
//!
//! Works on bytes, not text: a line is decoded only once it is complete, so a UTF-8
//! character, a `\r\n` pair or a JSON value split across reads parses exactly as if it had
//! arrived whole. Hand-written because the crates that exist frame over `str` chunks or own
//! the HTTP client; this one must take any byte stream (fixtures, sockets, fuzzers).

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// `data:` lines joined with `\n`.
    pub data: String,
    pub id: Option<String>,
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous byte was `\r`: a `\n` right after it ends the same line.
    after_cr: bool,
    at_stream_start: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseParser {
    #[must_use]
    pub fn new() -> Self {
        Self { at_stream_start: true, ..Self::default() }
    }

    /// Feed bytes; complete events are appended to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) {
        // Only a `\n` right after the `\r` belongs to it; an empty read decides nothing.
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&bytes[..pos]);
            let is_cr = bytes[pos] == b'\r';
            bytes = &bytes[pos + 1..];
            if is_cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    // The `\n` of a `\r\n` may be in the next read.
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
        }
        self.line.extend_from_slice(bytes);
    }

    /// End of input: a last line without its terminator and an event without its blank
    /// line are still delivered, since many servers close right after `data: [DONE]`.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
        }
        self.dispatch(out);
    }

    fn process_line(&mut self, raw: &[u8], out: &mut Vec<SseEvent>) {
        let mut line = raw;
        if self.at_stream_start {
            self.at_stream_start = false;
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // comment or keep-alive
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => self.event = Some(value.into_owned()),
            b"id" => self.id = Some(value.into_owned()),
            _ => {} // `retry:` and unknown fields are ignored
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(SseEvent { event: self.event.take(), data: std::mem::take(&mut self.data), id: self.id.take() });
        }
        self.event = None;
        self.has_data = false;
        self.data.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn frames_fields_comments_and_line_ends() {
        let body = b": OPENROUTER PROCESSING\r\n\r\nevent: message\r\ndata: a\r\ndata: b\r\n\r\ndata:c\n\ndata: d\r\r";
        let events = parse(&[body]);
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].event.as_deref(), Some("message"));
        assert_eq!(events[0].data, "a\nb");
        assert_eq!(events[1].data, "c");
        assert_eq!(events[2].data, "d");
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let body = "data: {\"t\":\"héllo ✓ 🦀\"}\r\n\r\n: ka\n\ndata: x\r\n\r\n".as_bytes();
        let whole = parse(&[body]);
        for i in 0..=body.len() {
            for j in i..=body.len() {
                assert_eq!(parse(&[&body[..i], &body[i..j], &body[j..]]), whole, "split at {i},{j}");
            }
        }
        assert_eq!(whole[0].data, "{\"t\":\"héllo ✓ 🦀\"}");
    }

    #[test]
    fn last_event_without_blank_line_is_delivered() {
        assert_eq!(parse(&[b"data: [DONE]"])[0].data, "[DONE]");
    }
}
