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

/// One SSE line or one event's data outgrew the parser's cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTooLarge {
    pub limit: usize,
}

#[derive(Debug)]
pub struct SseParser {
    line: Vec<u8>,
    /// Cap on one line and on one event's joined data; past it the parser stops.
    max_event_bytes: usize,
    overflow: Option<EventTooLarge>,
    /// Bytes of `data:` lines, for the idle timer.
    event_bytes: u64,
    /// How many bytes of the unfinished `line` were already counted in `event_bytes`.
    line_counted: usize,
    /// The previous byte was `\r`: a `\n` right after it ends the same line.
    after_cr: bool,
    at_stream_start: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser with no practical size cap (fixtures and tests).
    #[must_use]
    pub fn new() -> Self {
        Self::with_limit(usize::MAX)
    }

    /// A parser that stops once a line or an event's data exceeds `max_event_bytes`.
    #[must_use]
    pub fn with_limit(max_event_bytes: usize) -> Self {
        Self {
            line: Vec::new(),
            max_event_bytes,
            overflow: None,
            event_bytes: 0,
            line_counted: 0,
            after_cr: false,
            at_stream_start: true,
            event: None,
            data: String::new(),
            has_data: false,
            id: None,
        }
    }

    /// Set once a line or an event outgrew the cap; everything after is ignored.
    #[must_use]
    pub fn overflow(&self) -> Option<EventTooLarge> {
        self.overflow
    }

    /// A running count of bytes that carry events: `data:` lines, the only ones that make
    /// an event. Comments (`: keep-alive`), blank lines and `event:`/`id:`/unknown fields
    /// alone do not add to it, so a timer restarted only when it grows is not fooled by a
    /// server that keeps the connection busy without sending anything.
    #[must_use]
    pub fn event_bytes(&self) -> u64 {
        self.event_bytes
    }

    /// Feed bytes; complete events are appended to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) {
        if self.overflow.is_some() {
            return;
        }
        // Only a `\n` right after the `\r` belongs to it; an empty read decides nothing.
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            if !self.append(&bytes[..pos]) {
                return;
            }
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
            self.line_counted = 0;
            self.process_line(&line, out);
            if self.overflow.is_some() {
                return;
            }
        }
        self.append(bytes);
    }

    /// Add bytes to the unfinished line, within the cap; false (and the buffer freed) once
    /// it is exceeded, so a line without an end never holds more than the cap.
    fn append(&mut self, bytes: &[u8]) -> bool {
        if self.line.len().saturating_add(bytes.len()) > self.max_event_bytes {
            self.fail_too_large();
            return false;
        }
        self.line.extend_from_slice(bytes);
        // Count an unfinished line as soon as its field shows it carries an event, so a
        // large event arriving slowly keeps the idle timer honest too.
        if carries_event(&self.line) {
            self.event_bytes += (self.line.len() - self.line_counted) as u64;
            self.line_counted = self.line.len();
        }
        true
    }

    fn fail_too_large(&mut self) {
        self.overflow = Some(EventTooLarge { limit: self.max_event_bytes });
        // The refused line never counts, however much of it had arrived, so the count
        // does not depend on how the bytes were cut into reads.
        self.event_bytes -= self.line_counted as u64;
        self.line_counted = 0;
        self.line = Vec::new();
        self.data = String::new();
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
                let joined = self.data.len() + usize::from(self.has_data) + value.len();
                if joined > self.max_event_bytes {
                    self.fail_too_large();
                    return;
                }
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
        if self.overflow.is_some() {
            return;
        }
        if self.has_data {
            out.push(SseEvent { event: self.event.take(), data: std::mem::take(&mut self.data), id: self.id.take() });
        }
        self.event = None;
        self.has_data = false;
        self.data.clear();
    }
}

/// Whether a line (possibly unfinished) is a `data:` field, the one that makes an event.
fn carries_event(line: &[u8]) -> bool {
    let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
    line.starts_with(b"data:")
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

    #[test]
    fn a_line_without_an_end_stops_at_the_cap_and_frees_its_buffer() {
        let mut p = SseParser::with_limit(1024);
        let mut out = Vec::new();
        p.feed(b"data: {\"a\":1}\n\n", &mut out);
        for _ in 0..100 {
            p.feed(&[b'x'; 100], &mut out);
        }
        assert_eq!(p.overflow(), Some(EventTooLarge { limit: 1024 }));
        assert!(p.line.capacity() == 0 && p.data.capacity() == 0);
        p.feed(b"\n\ndata: late\n\n", &mut out);
        p.finish(&mut out);
        assert_eq!(out.len(), 1, "nothing after the overflow is delivered");
    }

    #[test]
    fn many_short_data_lines_cannot_build_an_event_past_the_cap() {
        let mut p = SseParser::with_limit(100);
        let mut out = Vec::new();
        for _ in 0..20 {
            p.feed(b"data: 0123456789\n", &mut out);
        }
        assert!(p.overflow().is_some());
        p.finish(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn an_event_exactly_at_the_cap_passes() {
        let mut p = SseParser::with_limit(10);
        let mut out = Vec::new();
        p.feed(b"data:0123\ndata:4567\n\n", &mut out);
        assert_eq!(p.overflow(), None);
        assert_eq!(out[0].data, "0123\n4567");
    }

    #[test]
    fn only_event_lines_count_as_progress() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for chunk in [&b": keep-alive\n\n"[..], b"\n", b"\r\n", b":", b" ping\n", b"retry: 5\n", b"   \n", b"dat"] {
            p.feed(chunk, &mut out);
        }
        assert_eq!(p.event_bytes(), 0);
        p.feed(b"a: x", &mut out);
        let partial = p.event_bytes();
        assert_eq!(partial, 7, "an unfinished data line counts once its field is known");
        p.feed(b"yz\n", &mut out);
        assert_eq!(p.event_bytes(), 9);
        p.feed(b"event: ping\nid: 1\n\nevent: e\n\n", &mut out);
        assert_eq!(p.event_bytes(), 9, "event and id lines alone make no event");
        p.feed(b"data\n", &mut out);
        assert_eq!(p.event_bytes(), 9, "a bare `data` line is not counted (it has no colon)");
    }
}
