//! Records as readable lines: the one-line text layout that `tachylog decode -f text` writes
//! and the console ([`Builder::console`](crate::Builder::console)) prints, time, level,
//! target, thread, message and fields:
//!
//! ```text
//! 2026-11-23T06:22:20.123456789Z INFO  orders main: filled 3 at 101.25 venue=XNAS
//! ```
//!
//! On top of the reader; nothing else of the crate uses it but the console.
use crate::Level;
use crate::reader::{DropNotice, Record};
use std::io::Write as _;
use tachylog_fmt::{ArgRef, Piece, Placeholder, Spec, Ty, Value};

mod ts;

pub use ts::{Rfc3339, civil_from_days, rfc3339};

/// A record's formatted message and its decoded fields, as a renderer takes them
/// ([`Record::write_message_and_fields`] gives both from one decoding).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The message.
    pub text: &'a str,
    /// `text` is [plain text](tachylog_fmt::is_plain_text): copied without looking for
    /// characters to escape.
    pub ascii: bool,
    /// The structured fields, by name, in order.
    pub fields: &'a [(&'a str, Value<'a>)],
}

/// Writes records and drop notices as text lines into a byte buffer, reusing its scratch
/// space.
///
/// ```
/// use tachylog::text::{Message, TextLine};
/// # fn show(record: &tachylog::reader::Record) {
/// let (mut line, mut out, mut msg) = (TextLine::new(false), Vec::new(), String::new());
/// let mut fields = Vec::new();
/// let ascii = record
///     .write_message_and_fields(&mut msg, |name, v| fields.push((name, v)))
///     .unwrap_or(false);
/// line.record(&mut out, record, &Message { text: &msg, ascii, fields: &fields }, false);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TextLine {
    color: bool,
    ts: Rfc3339,
    scratch: String,
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";

fn level_color(l: Level) -> &'static str {
    match l {
        Level::Error => "\x1b[1;31m",
        Level::Warn => "\x1b[33m",
        Level::Info => "\x1b[32m",
        Level::Debug => "\x1b[34m",
        Level::Trace => "\x1b[35m",
    }
}

/// Whether text for a stream should be coloured: only on a terminal, and not when `NO_COLOR`
/// is set to anything but the empty string (<https://no-color.org>).
pub fn use_color(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

impl TextLine {
    /// A writer of text lines; `color` adds terminal colours to the time and the level.
    pub fn new(color: bool) -> Self {
        TextLine {
            color,
            ts: Rfc3339::default(),
            scratch: String::new(),
        }
    }

    /// Appends one record's line, with its message and fields; `late` marks a record out of
    /// time order with `~` after its time.
    pub fn record(&mut self, out: &mut Vec<u8>, r: &Record, msg: &Message<'_>, late: bool) {
        self.head(out, r.ts_unix_ns, late, r.level, &r.callsite().target);
        thread_label(out, r.thread.name.as_deref(), r.thread.tid);
        out.extend_from_slice(b": ");
        if msg.ascii {
            out.extend_from_slice(msg.text.as_bytes());
        } else {
            neutralise(out, msg.text);
        }
        for (name, v) in msg.fields {
            self.scratch.clear();
            if !text_value(&mut self.scratch, v) {
                continue;
            }
            out.push(b' ');
            neutralise(out, name);
            out.push(b'=');
            neutralise(out, &self.scratch);
        }
        out.push(b'\n');
    }

    /// Appends a dropped-records notice's line (level WARN, target `tachylog`).
    pub fn dropped(&mut self, out: &mut Vec<u8>, d: &DropNotice, late: bool) {
        let name = d.thread.as_ref().and_then(|t| t.name.as_deref());
        let tid = d.thread.as_ref().map_or(0, |t| t.tid);
        self.head(out, d.ts_unix_ns, late, Level::Warn, "tachylog");
        thread_label(out, name, tid);
        let _ = writeln!(out, ": {} records dropped", d.count);
    }

    /// Time, level and target, each followed by a space.
    fn head(&mut self, out: &mut Vec<u8>, ts: i64, late: bool, level: Level, target: &str) {
        if self.color {
            out.extend_from_slice(DIM.as_bytes());
        }
        self.ts.write(out, ts);
        out.push(if late { b'~' } else { b' ' });
        if self.color {
            out.extend_from_slice(RESET.as_bytes());
            out.extend_from_slice(level_color(level).as_bytes());
        }
        let _ = write!(out, "{:<5}", level.as_str());
        if self.color {
            out.extend_from_slice(RESET.as_bytes());
        }
        out.push(b' ');
        neutralise(out, target);
        out.push(b' ');
    }
}

fn thread_label(out: &mut Vec<u8>, name: Option<&str>, tid: u32) {
    match name {
        Some(n) => neutralise(out, n),
        None => {
            let _ = write!(out, "tid {tid}");
        }
    }
}

/// Appends `s` for a terminal: control characters (escape sequences included) become visible
/// `\u{..}` escapes instead of acting on the terminal.
pub fn neutralise(out: &mut Vec<u8>, s: &str) {
    let clean = |c: char| !(c.is_control() || c == '\u{2028}' || c == '\u{2029}');
    if s.chars().all(clean) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for c in s.chars() {
        if clean(c) {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// A field's value as text, the one rendering every text output shares (text, logfmt,
/// syslog, the console; JSON writes the same values as JSON, `docs/JSON.md`): strings as
/// themselves, `Some(v)` as `v`, everything else as `{:?}` shows it. Returns false, writing
/// nothing, for `None` (at any depth of `Some`): such a field has no value, and the caller
/// leaves it out (JSON writes null).
pub fn text_value(out: &mut String, v: &Value<'_>) -> bool {
    let mut v = v;
    while let Value::Some(inner) = v {
        v = inner;
    }
    let ty = match v {
        Value::None => return false,
        Value::Str(_) | Value::Pre(_) | Value::Formatted(_) => Ty::Display,
        _ => Ty::Debug,
    };
    let pieces = [Piece::Arg(Placeholder {
        arg: ArgRef::Next,
        spec: Spec::bare(ty),
    })];
    let _ = tachylog_fmt::render(out, &pieces, &[""], std::slice::from_ref(v));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn options_are_their_value_or_nothing() {
        let some = |v| Value::Some(Box::new(v));
        for (v, want) in [
            (some(Value::Str("XNAS")), Some("XNAS")),
            (some(some(Value::I16(-2))), Some("-2")),
            (some(Value::Char('c')), Some("'c'")),
            (Value::U32(7), Some("7")),
            (Value::None, None),
            (some(Value::None), None),
        ] {
            let mut out = String::new();
            let wrote = text_value(&mut out, &v);
            assert_eq!(wrote.then_some(out.as_str()), want, "{v:?}");
        }
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None));
        assert!(use_color(true, Some(OsStr::new(""))));
        assert!(!use_color(true, Some(OsStr::new("1"))));
        assert!(!use_color(false, None));
    }

    #[test]
    fn neutralise_makes_escapes_visible() {
        let mut out = Vec::new();
        neutralise(&mut out, "a\u{1b}[31mb\u{2028}");
        assert_eq!(out, b"a\\u{1b}[31mb\\u{2028}");
    }
}
