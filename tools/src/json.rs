//! JSON Lines output (schema version 1, `docs/JSON.md`). Strings are escaped by hand because the
//! output must also be safe to embed in JavaScript and to print: every control character,
//! U+2028 and U+2029 are escaped.
use crate::message::Message;
use crate::ts::Rfc3339;
use std::io::Write as _;
use std::sync::Arc;
use tachylog::Level;
use tachylog::reader::{CallsiteInfo, DropNotice, Record, ThreadInfo};
use tachylog_fmt::{Value, not_plain_mask};

/// Version of the JSON Lines schema written here (`docs/JSON.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// Bytes that start something to escape: controls, `"`, `\\`, DEL, 0xC2 (the lead byte of
/// the C1 controls U+0080..U+009F) and 0xE2 (the lead byte of U+2028 and U+2029).
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0x7f] = true;
    t[0xc2] = true;
    t[0xe2] = true;
    t
};

#[inline]
fn needs_escape(b: u8) -> bool {
    SPECIAL[b as usize]
}

#[inline(always)]
fn word(b: &[u8], i: usize) -> u64 {
    match b.get(i..i + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().unwrap_or_default()),
        None => 0,
    }
}

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Plain ASCII sixteen or eight bytes at a time; a word that may hold something to
        // escape is looked at byte by byte.
        if i + 16 <= bytes.len()
            && not_plain_mask(word(bytes, i)) | not_plain_mask(word(bytes, i + 8)) == 0
        {
            i += 16;
            continue;
        }
        let w = if i + 8 <= bytes.len() {
            word(bytes, i)
        } else {
            // The last few bytes, padded with spaces (which need no escape).
            let mut pad = [b' '; 8];
            pad[..bytes.len() - i].copy_from_slice(&bytes[i..]);
            u64::from_le_bytes(pad)
        };
        if not_plain_mask(w) == 0 {
            i = (i + 8).min(bytes.len());
            continue;
        }
        let stop = (i + 8).min(bytes.len());
        while i < stop {
            i = escape_at(out, bytes, i, &mut start);
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Looks at the byte at `i`: if it starts something to escape, writes the plain bytes from
/// `start` on and the escape, and moves `start` past it. Returns where to look next.
#[inline]
fn escape_at(out: &mut Vec<u8>, bytes: &[u8], i: usize, start: &mut usize) -> usize {
    let b = bytes[i];
    if !needs_escape(b) {
        return i + 1;
    }
    let esc: &[u8] = match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        // U+2028 and U+2029 are E2 80 A8 / E2 80 A9; other E2 sequences pass.
        0xe2 => match bytes.get(i + 1..i + 3) {
            Some([0x80, 0xa8]) => b"\\u2028",
            Some([0x80, 0xa9]) => b"\\u2029",
            _ => return i + 1,
        },
        // C1 controls are C2 80..C2 9F; other C2 sequences pass.
        0xc2 => match bytes.get(i + 1) {
            Some(&c @ 0x80..=0x9f) => {
                out.extend_from_slice(&bytes[*start..i]);
                let _ = write!(out, "\\u{:04x}", c);
                *start = i + 2;
                return i + 2;
            }
            _ => return i + 1,
        },
        _ => b"",
    };
    out.extend_from_slice(&bytes[*start..i]);
    if esc.is_empty() {
        let _ = write!(out, "\\u{:04x}", b);
    } else {
        out.extend_from_slice(esc);
    }
    let next = i + if b == 0xe2 { 3 } else { 1 };
    *start = next;
    next
}

fn int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a recorded value as JSON: numbers as numbers (non-finite floats as strings),
/// `None` as null, `Some(v)` as `v`.
pub fn value(out: &mut Vec<u8>, v: &Value<'_>) {
    match v {
        Value::U8(x) => int(out, *x),
        Value::U16(x) => int(out, *x),
        Value::U32(x) => int(out, *x),
        Value::U64(x) => int(out, *x),
        Value::U128(x) => int(out, *x),
        Value::I8(x) => int(out, *x),
        Value::I16(x) => int(out, *x),
        Value::I32(x) => int(out, *x),
        Value::I64(x) => int(out, *x),
        Value::I128(x) => int(out, *x),
        Value::F32(x) if x.is_finite() => {
            let _ = write!(out, "{x:?}");
        }
        Value::F64(x) if x.is_finite() => {
            let _ = write!(out, "{x:?}");
        }
        Value::F32(x) => string(out, &x.to_string()),
        Value::F64(x) => string(out, &x.to_string()),
        Value::Bool(x) => out.extend_from_slice(if *x { b"true" } else { b"false" }),
        Value::Char(c) => string(out, c.encode_utf8(&mut [0; 4])),
        Value::Str(s) | Value::Pre(s) | Value::Formatted(s) => string(out, s),
        Value::None => out.extend_from_slice(b"null"),
        Value::Some(inner) => value(out, inner),
    }
}

fn thread(out: &mut Vec<u8>, name: Option<&str>) {
    match name {
        Some(n) => string(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends one record as a JSON line; `msg` is its formatted message.
pub fn record(out: &mut Vec<u8>, ts: &mut Rfc3339, r: &Record, msg: &str, late: bool) {
    out.extend_from_slice(b"{\"ts\":\"");
    ts.write(out, r.ts_unix_ns);
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(r.level.as_str().as_bytes());
    out.extend_from_slice(b"\",\"target\":");
    string(out, &r.callsite().target);
    out.extend_from_slice(b",\"thread\":");
    thread(out, r.thread.name.as_deref());
    out.extend_from_slice(b",\"tid\":");
    int(out, r.thread.tid);
    out.extend_from_slice(b",\"file\":");
    string(out, &r.callsite().file);
    out.extend_from_slice(b",\"line\":");
    int(out, r.callsite().line);
    out.extend_from_slice(b",\"msg\":");
    string(out, msg);
    fields_and_end(out, &r.fields().unwrap_or_default(), late);
}

/// The end of a record line: `,"fields":{...}`, the `late` flag if set, `}` and the newline.
fn fields_and_end(out: &mut Vec<u8>, fields: &[(&str, Value<'_>)], late: bool) {
    out.extend_from_slice(b",\"fields\":{");
    for (i, (name, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, name);
        out.push(b':');
        value(out, v);
    }
    out.push(b'}');
    if late {
        out.extend_from_slice(b",\"late\":true");
    }
    out.extend_from_slice(b"}\n");
}

/// Most call site and thread pairs a [`Cache`] keeps before it starts afresh.
const CACHE_ENTRIES: usize = 4096;

/// Writes record lines like [`record`], keeping for each call site and thread the part of the
/// line that depends on nothing else (from `","level":` up to `"msg":`), so that a record costs
/// its time stamp, its message and its fields. The entries hold the call site and thread they
/// were made from, so a key (their addresses) cannot be reused for another while cached.
#[derive(Debug, Default)]
pub struct Cache {
    /// The entry the previous record used (records come in runs of one thread and call site).
    last: Option<usize>,
    entries: Vec<Middle>,
    /// Keyed by addresses: a fast hash, not a keyed one, is what fits them.
    index: rustc_hash::FxHashMap<(usize, usize), usize>,
}

#[derive(Debug)]
struct Middle {
    callsite: Arc<CallsiteInfo>,
    thread: Arc<ThreadInfo>,
    /// `Record::level` is its own field (always the call site's, as the reader makes them).
    level: Level,
    bytes: Vec<u8>,
}

impl Middle {
    fn is_for(&self, r: &Record) -> bool {
        std::ptr::eq(Arc::as_ptr(&self.callsite), r.callsite())
            && Arc::ptr_eq(&self.thread, &r.thread)
            && self.level == r.level
    }
}

impl Cache {
    /// Appends one record as a JSON line, with its message and fields. The same bytes as
    /// [`record`].
    pub fn record(
        &mut self,
        out: &mut Vec<u8>,
        ts: &mut Rfc3339,
        r: &Record,
        msg: &Message<'_>,
        late: bool,
    ) {
        out.extend_from_slice(b"{\"ts\":\"");
        ts.write(out, r.ts_unix_ns);
        out.extend_from_slice(self.middle(r));
        if msg.ascii {
            out.push(b'"');
            out.extend_from_slice(msg.text.as_bytes());
            out.push(b'"');
        } else {
            string(out, msg.text);
        }
        fields_and_end(out, msg.fields, late);
    }

    fn middle(&mut self, r: &Record) -> &[u8] {
        if let Some(i) = self.last.filter(|&i| self.entries[i].is_for(r)) {
            return &self.entries[i].bytes;
        }
        let key = (
            std::ptr::from_ref(r.callsite()) as usize,
            Arc::as_ptr(&r.thread) as usize,
        );
        let i = match self.index.get(&key) {
            Some(&i) if self.entries[i].is_for(r) => i,
            _ => {
                if self.entries.len() >= CACHE_ENTRIES {
                    self.entries.clear();
                    self.index.clear();
                }
                let mut bytes = Vec::with_capacity(128);
                bytes.extend_from_slice(b"\",\"level\":\"");
                bytes.extend_from_slice(r.level.as_str().as_bytes());
                bytes.extend_from_slice(b"\",\"target\":");
                string(&mut bytes, &r.callsite().target);
                bytes.extend_from_slice(b",\"thread\":");
                thread(&mut bytes, r.thread.name.as_deref());
                bytes.extend_from_slice(b",\"tid\":");
                int(&mut bytes, r.thread.tid);
                bytes.extend_from_slice(b",\"file\":");
                string(&mut bytes, &r.callsite().file);
                bytes.extend_from_slice(b",\"line\":");
                int(&mut bytes, r.callsite().line);
                bytes.extend_from_slice(b",\"msg\":");
                self.entries.push(Middle {
                    callsite: r.callsite_arc(),
                    thread: r.thread.clone(),
                    level: r.level,
                    bytes,
                });
                self.index.insert(key, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        self.last = Some(i);
        &self.entries[i].bytes
    }
}

/// Appends a dropped-records notice as a JSON line (level WARN, target "tachylog").
pub fn dropped(out: &mut Vec<u8>, ts: &mut Rfc3339, d: &DropNotice, late: bool) {
    out.extend_from_slice(b"{\"ts\":\"");
    ts.write(out, d.ts_unix_ns);
    out.extend_from_slice(b"\",\"level\":\"WARN\",\"target\":\"tachylog\",\"thread\":");
    thread(out, d.thread.as_ref().and_then(|t| t.name.as_deref()));
    let tid = d.thread.as_ref().map_or(0, |t| t.tid);
    let _ = write!(
        out,
        ",\"tid\":{tid},\"file\":null,\"line\":null,\"msg\":\"{} records dropped\",\"fields\":{{\"dropped\":{}}}",
        d.count, d.count
    );
    if late {
        out.extend_from_slice(b",\"late\":true");
    }
    out.extend_from_slice(b"}\n");
}

pub use tachylog::text::neutralise;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        let mut v = Vec::new();
        string(&mut v, x);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings_escape_controls_quotes_and_line_separators() {
        assert_eq!(
            s("a\"b\\c\n\u{1b}[31m\u{2028}\u{7f}é"),
            r#""a\"b\\c\n\u001b[31m\u2028\u007fé""#
        );
        // Other characters encoded with a leading E2 byte pass through.
        assert_eq!(s("→\u{2029}—"), "\"→\\u2029—\"");
    }

    /// The escaping rules, one char at a time.
    fn reference(x: &str) -> String {
        let mut o = String::from('"');
        for c in x.chars() {
            match c {
                '"' => o.push_str("\\\""),
                '\\' => o.push_str("\\\\"),
                '\n' => o.push_str("\\n"),
                '\r' => o.push_str("\\r"),
                '\t' => o.push_str("\\t"),
                '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => {
                    o.push_str(&format!("\\u{:04x}", c as u32))
                }
                c => o.push(c),
            }
        }
        o.push('"');
        o
    }

    #[test]
    fn word_at_a_time_scan_escapes_what_the_rules_say_wherever_it_stands() {
        // Every special char (and harmless multi-byte neighbours of the special lead bytes) at
        // every offset of strings long enough to span several 8-byte words.
        let specials = [
            "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1b}", "\u{1f}", "\u{7f}", "\u{80}",
            "\u{9f}", "\u{a0}", "é", "\u{2028}", "\u{2029}", "\u{2027}", "→", "😀", " ", "~",
        ];
        for len in 0..40 {
            for sp in specials {
                for at in 0..=len {
                    let plain = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
                    let x = format!("{}{sp}{}", &plain[..at], &plain[at..len]);
                    assert_eq!(s(&x), reference(&x), "{x:?}");
                    let y = format!("{x}{sp}{x}");
                    assert_eq!(s(&y), reference(&y), "{y:?}");
                }
            }
        }
    }

    #[test]
    fn escaped_strings_parse_back_to_the_original() {
        for x in [
            "",
            "plain",
            "\u{0}\u{1f}\t\r\"\\",
            "€→\u{2028}x\u{2029}",
            "\u{7f}",
        ] {
            let back: String = serde_json::from_str(&s(x)).unwrap();
            assert_eq!(back, x);
        }
    }
}
