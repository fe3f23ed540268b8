//! Rendering records as lines: JSON Lines, readable text, or logfmt.
use crate::json;
use crate::message::Message;
use crate::ts::Rfc3339;
use std::io::Write as _;
use tachylog::Level;
use tachylog::reader::{DropNotice, Record};
use tachylog::text::TextLine;
pub use tachylog::text::text_value;

/// How records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON Lines: one object per record (schema in docs/JSON.md).
    Json,
    /// One readable line per record: time, level, target, thread, message, fields.
    Text,
    /// logfmt: `key=value` pairs, one record per line.
    Logfmt,
}

/// Renders records into a byte buffer, reusing its scratch space.
#[derive(Debug)]
pub struct Renderer {
    format: Format,
    /// The text lines, the library's (the console prints the same).
    text: TextLine,
    ts: Rfc3339,
    scratch: String,
    json: json::Cache,
}

impl Renderer {
    /// A renderer for `format`; `color` applies to text only.
    pub fn new(format: Format, color: bool) -> Self {
        Renderer {
            format,
            text: TextLine::new(color && format == Format::Text),
            ts: Rfc3339::default(),
            scratch: String::new(),
            json: json::Cache::default(),
        }
    }

    /// Appends one record, with its message and fields.
    pub fn record(&mut self, out: &mut Vec<u8>, r: &Record, msg: &Message<'_>, late: bool) {
        match self.format {
            Format::Json => self.json.record(out, &mut self.ts, r, msg, late),
            Format::Text => self.text.record(out, r, msg, late),
            Format::Logfmt => self.logfmt(out, r, msg, late),
        }
    }

    /// Appends a dropped-records notice.
    pub fn dropped(&mut self, out: &mut Vec<u8>, d: &DropNotice, late: bool) {
        let name = d.thread.as_ref().and_then(|t| t.name.as_deref());
        let tid = d.thread.as_ref().map_or(0, |t| t.tid);
        match self.format {
            Format::Json => json::dropped(out, &mut self.ts, d, late),
            Format::Text => self.text.dropped(out, d, late),
            Format::Logfmt => {
                out.extend_from_slice(b"ts=");
                self.ts.write(out, d.ts_unix_ns);
                out.extend_from_slice(b" level=warn target=tachylog");
                if let Some(n) = name {
                    out.extend_from_slice(b" thread=");
                    logfmt_value(out, n);
                }
                let _ = write!(
                    out,
                    " tid={tid} msg=\"{} records dropped\" dropped={}",
                    d.count, d.count
                );
                if late {
                    out.extend_from_slice(b" late=true");
                }
                out.push(b'\n');
            }
        }
    }

    fn logfmt(&mut self, out: &mut Vec<u8>, r: &Record, msg: &Message<'_>, late: bool) {
        out.extend_from_slice(b"ts=");
        self.ts.write(out, r.ts_unix_ns);
        out.extend_from_slice(b" level=");
        out.extend_from_slice(lower(r.level).as_bytes());
        out.extend_from_slice(b" target=");
        logfmt_value(out, &r.callsite().target);
        if let Some(n) = r.thread.name.as_deref() {
            out.extend_from_slice(b" thread=");
            logfmt_value(out, n);
        }
        let _ = write!(out, " tid={}", r.thread.tid);
        out.extend_from_slice(b" file=");
        logfmt_value(out, &r.callsite().file);
        let _ = write!(out, " line={}", r.callsite().line);
        out.extend_from_slice(b" msg=");
        let text = msg.text;
        if msg.ascii {
            // Nothing to escape; quoted only if it holds a space or `=`, as `logfmt_value` does.
            let bare = !text.is_empty() && !text.bytes().any(|b| b == b' ' || b == b'=');
            if !bare {
                out.push(b'"');
            }
            out.extend_from_slice(text.as_bytes());
            if !bare {
                out.push(b'"');
            }
        } else {
            logfmt_value(out, text);
        }
        for (name, v) in msg.fields {
            self.scratch.clear();
            if !text_value(&mut self.scratch, v) {
                continue;
            }
            out.push(b' ');
            logfmt_key(out, name);
            out.push(b'=');
            logfmt_value(out, &self.scratch);
        }
        if late {
            out.extend_from_slice(b" late=true");
        }
        out.push(b'\n');
    }
}

fn lower(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// A logfmt value: bare when it is non-empty and has no space, `=`, `"`, `\` or control
/// character; otherwise quoted with JSON escapes.
pub fn logfmt_value(out: &mut Vec<u8>, s: &str) {
    let bare = !s.is_empty()
        && s.bytes().all(|b| {
            b > b' ' && b != b'=' && b != b'"' && b != b'\\' && b != 0x7f && b != 0xc2 && b != 0xe2
        });
    if bare {
        out.extend_from_slice(s.as_bytes());
    } else {
        json::string(out, s);
    }
}

/// A logfmt key: characters that would break the pair become `_`.
fn logfmt_key(out: &mut Vec<u8>, s: &str) {
    for c in s.chars() {
        if c.is_control() || c == ' ' || c == '=' || c == '"' {
            out.push(b'_');
        } else {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_quotes_only_what_needs_it() {
        let mut v = Vec::new();
        for s in ["plain", "two words", "", "a=b", "q\"", "x\ny"] {
            logfmt_value(&mut v, s);
            v.push(b'|');
        }
        assert_eq!(
            String::from_utf8(v).unwrap(),
            r#"plain|"two words"|""|"a=b"|"q\""|"x\ny"|"#
        );
    }
}
