//! JSON Lines output (schema version 1, `docs/JSON.md`). Strings are escaped by hand because the
//! output must also be safe to embed in JavaScript and to print: every control character,
//! U+2028 and U+2029 are escaped.
use crate::ts::Rfc3339;
use std::io::Write as _;
use tachylog::reader::{DropNotice, Record};
use tachylog_format::Value;

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

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !needs_escape(b) {
            i += 1;
            continue;
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
                _ => {
                    i += 1;
                    continue;
                }
            },
            // C1 controls are C2 80..C2 9F; other C2 sequences pass.
            0xc2 => match bytes.get(i + 1) {
                Some(&c @ 0x80..=0x9f) => {
                    out.extend_from_slice(&bytes[start..i]);
                    let _ = write!(out, "\\u{:04x}", c);
                    i += 2;
                    start = i;
                    continue;
                }
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ => b"",
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.extend_from_slice(esc);
        }
        i += if b == 0xe2 { 3 } else { 1 };
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
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
        Value::Str(s) | Value::Pre(s) => string(out, s),
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
    string(out, &r.callsite.target);
    out.extend_from_slice(b",\"thread\":");
    thread(out, r.thread.name.as_deref());
    out.extend_from_slice(b",\"tid\":");
    int(out, r.thread.tid);
    out.extend_from_slice(b",\"file\":");
    string(out, &r.callsite.file);
    out.extend_from_slice(b",\"line\":");
    int(out, r.callsite.line);
    out.extend_from_slice(b",\"msg\":");
    string(out, msg);
    out.extend_from_slice(b",\"fields\":{");
    let mut first = true;
    let _ = r.visit_fields(|name, v| {
        if !first {
            out.push(b',');
        }
        first = false;
        string(out, name);
        out.push(b':');
        value(out, v);
    });
    out.push(b'}');
    if late {
        out.extend_from_slice(b",\"late\":true");
    }
    out.extend_from_slice(b"}\n");
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
