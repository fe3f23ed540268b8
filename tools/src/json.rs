//! JSON Lines output. Strings are escaped by hand because the output must also be safe to
//! embed in JavaScript and to print: every control character, U+2028 and U+2029 are escaped.
use std::fmt::Write as _;
use tachylog::reader::{DropNotice, Record, rfc3339};
use tachylog_format::Value;

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a recorded value as JSON: numbers as numbers (non-finite floats as strings),
/// `None` as null, `Some(v)` as `v`.
pub fn value(out: &mut String, v: &Value<'_>) {
    let _ = match v {
        Value::U8(x) => write!(out, "{x}"),
        Value::U16(x) => write!(out, "{x}"),
        Value::U32(x) => write!(out, "{x}"),
        Value::U64(x) => write!(out, "{x}"),
        Value::U128(x) => write!(out, "{x}"),
        Value::I8(x) => write!(out, "{x}"),
        Value::I16(x) => write!(out, "{x}"),
        Value::I32(x) => write!(out, "{x}"),
        Value::I64(x) => write!(out, "{x}"),
        Value::I128(x) => write!(out, "{x}"),
        Value::F32(x) if x.is_finite() => write!(out, "{x:?}"),
        Value::F64(x) if x.is_finite() => write!(out, "{x:?}"),
        Value::F32(x) => {
            string(out, &x.to_string());
            Ok(())
        }
        Value::F64(x) => {
            string(out, &x.to_string());
            Ok(())
        }
        Value::Bool(x) => write!(out, "{x}"),
        Value::Char(c) => {
            string(out, c.encode_utf8(&mut [0; 4]));
            Ok(())
        }
        Value::Str(s) | Value::Pre(s) => {
            string(out, s);
            Ok(())
        }
        Value::None => {
            out.push_str("null");
            Ok(())
        }
        Value::Some(inner) => {
            value(out, inner);
            Ok(())
        }
    };
}

fn thread(out: &mut String, name: Option<&str>) {
    match name {
        Some(n) => string(out, n),
        None => out.push_str("null"),
    }
}

/// Appends one record as a JSON line.
pub fn record(out: &mut String, r: &Record) {
    out.push_str("{\"ts\":\"");
    out.push_str(&rfc3339(r.ts_unix_ns));
    out.push_str("\",\"level\":\"");
    out.push_str(r.level.as_str());
    out.push_str("\",\"target\":");
    string(out, &r.callsite.target);
    out.push_str(",\"thread\":");
    thread(out, r.thread.name.as_deref());
    let _ = write!(out, ",\"tid\":{},\"file\":", r.thread.tid);
    string(out, &r.callsite.file);
    let _ = write!(out, ",\"line\":{},\"msg\":", r.callsite.line);
    string(out, &r.message());
    out.push_str(",\"fields\":{");
    if let Ok(fields) = r.fields() {
        for (i, (name, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(out, name);
            out.push(':');
            value(out, v);
        }
    }
    out.push_str("}}\n");
}

/// Appends a dropped-records notice as a JSON line (level WARN, target "tachylog").
pub fn dropped(out: &mut String, d: &DropNotice) {
    out.push_str("{\"ts\":\"");
    out.push_str(&rfc3339(d.ts_unix_ns));
    out.push_str("\",\"level\":\"WARN\",\"target\":\"tachylog\",\"thread\":");
    thread(out, d.thread.as_ref().and_then(|t| t.name.as_deref()));
    let tid = d.thread.as_ref().map_or(0, |t| t.tid);
    let _ = writeln!(
        out,
        ",\"tid\":{tid},\"file\":null,\"line\":null,\"msg\":\"{} records dropped\",\"fields\":{{\"dropped\":{}}}}}",
        d.count, d.count
    );
}

/// Appends `s` for a terminal: control characters (escape sequences included) become visible
/// `\u{..}` escapes instead of acting on the terminal.
pub fn neutralise(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_controls_quotes_and_line_separators() {
        let mut s = String::new();
        string(&mut s, "a\"b\\c\n\u{1b}[31m\u{2028}\u{7f}é");
        assert_eq!(s, r#""a\"b\\c\n\u001b[31m\u2028\u007fé""#);
    }
}
