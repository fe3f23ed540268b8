//! journald's native protocol, pure: an entry is a list of fields, each `NAME=value\n`, or,
//! when the value holds a newline, `NAME\n`, its length as a little-endian `u64`, the value,
//! and `\n` (systemd's "Native Journal Protocol"). And how a record's field names are made
//! valid journal field names.
use crate::output::text_value;
use crate::ts::Rfc3339;
use tachylog::Level;
use tachylog::reader::Record;
use tachylog_fmt::Value;

/// The longest field name journald takes.
const MAX_NAME: usize = 64;

/// The fields `ship` sets itself; a record's field of one of these names is prefixed `F_`.
const OWN: [&str; 7] = [
    "MESSAGE",
    "PRIORITY",
    "SYSLOG_IDENTIFIER",
    "SYSLOG_PID",
    "CODE_FILE",
    "CODE_LINE",
    "TID",
];

/// Appends one field.
pub(super) fn field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// A record's field name as a valid journal field name, written to `out`: ASCII letters
/// upper-cased, digits and `_` kept, anything else `_`; `F_` before a name that would start
/// with a digit or `_` (journald keeps names starting with `_` to itself), be empty, or be one
/// of the fields `ship` sets (`MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `SYSLOG_PID`,
/// `CODE_FILE`, `CODE_LINE`, `TID`, and any `TACHYLOG_...`); then cut to 64 characters.
pub(super) fn field_name(out: &mut String, name: &str) {
    out.clear();
    out.extend(name.chars().map(|c| match c {
        'a'..='z' => c.to_ascii_uppercase(),
        'A'..='Z' | '0'..='9' | '_' => c,
        _ => '_',
    }));
    let clash = OWN.contains(&out.as_str()) || out.starts_with("TACHYLOG_");
    if clash || !out.starts_with(|c: char| c.is_ascii_uppercase()) {
        out.insert_str(0, "F_");
    }
    out.truncate(MAX_NAME);
}

/// The syslog priority of a level, which journald's `PRIORITY` is.
pub(super) fn priority(level: Level) -> &'static [u8] {
    match level {
        Level::Error => b"3",
        Level::Warn => b"4",
        Level::Info => b"6",
        Level::Debug | Level::Trace => b"7",
    }
}

/// Reused buffers for building entries.
#[derive(Default)]
pub(super) struct Entry {
    ts: Rfc3339,
    text: String,
    name: String,
    value: String,
    time: Vec<u8>,
}

/// Where a record came from, as the shipper knows it.
pub(super) struct Origin<'a> {
    pub(super) app: &'a str,
    pub(super) id: &'a str,
}

impl Entry {
    /// Appends a record's entry: `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `SYSLOG_PID`,
    /// `CODE_FILE`, `CODE_LINE`, `TID`, `TACHYLOG_THREAD` (its name, when it has one),
    /// `TACHYLOG_TARGET`, `TACHYLOG_LEVEL`, `TACHYLOG_TIME` (its own time, RFC 3339 in UTC to
    /// the nanosecond), `TACHYLOG_ID`, then its fields by [`field_name`].
    pub(super) fn record(&mut self, out: &mut Vec<u8>, r: &Record, o: &Origin<'_>) {
        self.text.clear();
        let mut fields: Vec<(&str, Value<'_>)> = Vec::new();
        if let Err(e) = r.write_message_and_fields(&mut self.text, |n, v| fields.push((n, v))) {
            self.text.clear();
            r.write_undecodable(&mut self.text, &e);
        }
        field(out, "MESSAGE", self.text.as_bytes());
        field(out, "PRIORITY", priority(r.level));
        self.origin(out, o, Some(r.pid));
        field(out, "CODE_FILE", r.callsite().file.as_bytes());
        field(
            out,
            "CODE_LINE",
            itoa::Buffer::new().format(r.callsite().line).as_bytes(),
        );
        field(
            out,
            "TID",
            itoa::Buffer::new().format(r.thread.tid).as_bytes(),
        );
        if let Some(n) = &r.thread.name {
            field(out, "TACHYLOG_THREAD", n.as_bytes());
        }
        field(out, "TACHYLOG_TARGET", r.callsite().target.as_bytes());
        field(out, "TACHYLOG_LEVEL", r.level.as_str().as_bytes());
        self.time(out, r.ts_unix_ns);
        field(out, "TACHYLOG_ID", o.id.as_bytes());
        for (n, v) in &fields {
            self.value.clear();
            // `None` has no value: the field is left out, as in every text output.
            if !text_value(&mut self.value, v) {
                continue;
            }
            field_name(&mut self.name, n);
            field(out, &self.name, self.value.as_bytes());
        }
    }

    /// Appends a notice's entry: `MESSAGE`, `PRIORITY` (4 for drops, 6 for sampling), the
    /// origin fields, `TID` where known, `TACHYLOG_TIME` where it has a time, `TACHYLOG_ID`,
    /// and its own fields.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn notice(
        &mut self,
        out: &mut Vec<u8>,
        text: &str,
        level: Level,
        o: &Origin<'_>,
        pid: Option<u32>,
        tid: Option<u32>,
        ts_unix_ns: Option<i64>,
        own: &[(&str, &[u8])],
    ) {
        field(out, "MESSAGE", text.as_bytes());
        field(out, "PRIORITY", priority(level));
        self.origin(out, o, pid);
        if let Some(t) = tid {
            field(out, "TID", itoa::Buffer::new().format(t).as_bytes());
        }
        field(out, "TACHYLOG_LEVEL", level.as_str().as_bytes());
        if let Some(ts) = ts_unix_ns {
            self.time(out, ts);
        }
        field(out, "TACHYLOG_ID", o.id.as_bytes());
        for (n, v) in own {
            field(out, n, v);
        }
    }

    fn origin(&mut self, out: &mut Vec<u8>, o: &Origin<'_>, pid: Option<u32>) {
        field(out, "SYSLOG_IDENTIFIER", o.app.as_bytes());
        if let Some(p) = pid {
            field(out, "SYSLOG_PID", itoa::Buffer::new().format(p).as_bytes());
        }
    }

    fn time(&mut self, out: &mut Vec<u8>, ts: i64) {
        self.time.clear();
        self.ts.write(&mut self.time, ts);
        field(out, "TACHYLOG_TIME", &self.time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_with_a_newline_is_sent_with_its_length() {
        let mut out = Vec::new();
        field(&mut out, "MESSAGE", b"one line");
        field(&mut out, "STACK", b"a\nb");
        let mut want = b"MESSAGE=one line\nSTACK\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n");
        assert_eq!(out, want);
    }

    #[test]
    fn field_names_are_made_valid_and_never_replace_what_ship_sets() {
        let mut n = String::new();
        for (name, want) in [
            ("user", "USER"),
            ("http.status_code", "HTTP_STATUS_CODE"),
            ("Ünï", "F__N_"),
            ("_private", "F__PRIVATE"),
            ("2fa", "F_2FA"),
            ("", "F_"),
            ("message", "F_MESSAGE"),
            ("tid", "F_TID"),
            ("tachylog_id", "F_TACHYLOG_ID"),
            ("message_id", "MESSAGE_ID"),
        ] {
            field_name(&mut n, name);
            assert_eq!(n, want, "{name}");
        }
        field_name(&mut n, &"x".repeat(100));
        assert_eq!(n.len(), 64);
    }
}
