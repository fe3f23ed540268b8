//! RFC 5424 syslog messages built from records.
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [fields@32473 k="v" ..][tachylog@32473 ..] MSG
//! ```
//!
//! - PRI = facility × 8 + severity; the severity comes from the level (ERROR 3, WARN 4, INFO 6,
//!   DEBUG and TRACE 7; the `level` SD-PARAM tells DEBUG and TRACE apart).
//! - TIMESTAMP is the record's time in UTC with microseconds (RFC 5424 allows at most six
//!   fractional digits); nanoseconds in an `i64` span the years 1677 to 2262, all of which
//!   have the four-digit form.
//! - The header fields are PRINTUSASCII of bounded length (HOSTNAME 255, APP-NAME 48, MSGID 32):
//!   other characters become `_`, longer values are cut, empty ones are `-`.
//! - STRUCTURED-DATA: the record's fields in `fields@32473`, and where it came from (level,
//!   thread, tid, file, line, and `id`, the record's id when shipped) in `tachylog@32473`. 32473 is the enterprise number RFC 5612
//!   reserves for documentation. PARAM-NAMEs are cut to 32 characters, with `=`, space, `]`,
//!   `"` and non-ASCII characters replaced by `_`; in PARAM-VALUEs `"`, `\` and `]` are escaped
//!   with a backslash.
//! - MSG is the formatted message as UTF-8 without a byte-order mark.
//!
//! A size limit (for datagrams) cuts the message text at a character boundary; when the
//! structured data alone would not fit, `fields@32473` and then `tachylog@32473` are left out,
//! so the message stays well formed.
use crate::notice::{dropped_text, sampled_text};
use crate::output::text_value;
use crate::ts::Rfc3339;
use std::io::Write as _;
use tachylog::Level;
use tachylog::reader::{DropNotice, Record, SampledNotice};

/// SD-ID of the element that holds a record's fields.
pub const FIELDS_SD_ID: &str = "fields@32473";
/// SD-ID of the element that says where a record came from.
pub const META_SD_ID: &str = "tachylog@32473";
/// The smallest size limit accepted: what RFC 5426 requires every receiver to take.
pub const MIN_MAX_SIZE: usize = 480;

/// The syslog severity of a level.
pub fn severity(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// A facility by name (`user`, `daemon`, `local0` .. `local7`, ...) or number (0 to 23).
pub fn parse_facility(s: &str) -> Result<u8, String> {
    if let Some(i) = FACILITIES.iter().position(|f| f.eq_ignore_ascii_case(s)) {
        return Ok(i as u8);
    }
    match s.parse::<u8>() {
        Ok(n) if n < 24 => Ok(n),
        _ => Err(format!(
            "unknown facility {s:?} (expected a name such as user, daemon, local0..local7, or 0..23)"
        )),
    }
}

/// Appends `s` as a header field: PRINTUSASCII only (others become `_`), at most `max`
/// characters, `-` when empty.
fn header_field(out: &mut Vec<u8>, s: &str, max: usize) {
    if s.is_empty() {
        out.push(b'-');
        return;
    }
    for c in s.chars().take(max) {
        out.push(if c.is_ascii_graphic() { c as u8 } else { b'_' });
    }
}

/// Appends an SD-NAME (PARAM-NAME): PRINTUSASCII except `=`, space, `]` and `"`, 1 to 32
/// characters.
fn sd_name(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.push(b'_');
        return;
    }
    for c in s.chars().take(32) {
        out.push(match c {
            '=' | ']' | '"' => b'_',
            c if c.is_ascii_graphic() => c as u8,
            _ => b'_',
        });
    }
}

/// Appends a PARAM-VALUE's content: `"`, `\` and `]` escaped with a backslash.
fn sd_value(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(c, b'"' | b'\\' | b']') {
            out.extend_from_slice(&b[start..i]);
            out.push(b'\\');
            start = i;
        }
    }
    out.extend_from_slice(&b[start..]);
}

/// Builds syslog messages one at a time in a reused buffer: [`Formatter::begin`], then any
/// number of [`Formatter::field`] and [`Formatter::meta`], then [`Formatter::finish`].
#[derive(Debug)]
pub struct Formatter {
    facility: u8,
    hostname: String,
    max_size: Option<usize>,
    ts: Rfc3339,
    head: Vec<u8>,
    fields: Vec<u8>,
    meta: Vec<u8>,
    out: Vec<u8>,
    text: String,
    value: String,
}

impl Formatter {
    /// A formatter for `facility` (0..23) on `hostname`, cutting messages to `max_size` bytes
    /// if given (at least [`MIN_MAX_SIZE`]; smaller values are raised to it).
    pub fn new(facility: u8, hostname: &str, max_size: Option<usize>) -> Self {
        Formatter {
            facility: facility.min(23),
            hostname: hostname.to_owned(),
            max_size: max_size.map(|m| m.max(MIN_MAX_SIZE)),
            ts: Rfc3339::default(),
            head: Vec::with_capacity(128),
            fields: Vec::with_capacity(128),
            meta: Vec::with_capacity(128),
            out: Vec::with_capacity(512),
            text: String::with_capacity(256),
            value: String::with_capacity(64),
        }
    }

    /// Starts a message: the header up to and including MSGID (PROCID `-` when `None`).
    pub fn begin(
        &mut self,
        severity: u8,
        ts_unix_ns: i64,
        app: &str,
        procid: Option<u32>,
        msgid: &str,
    ) {
        self.begin_at(severity, Some(ts_unix_ns), app, procid, msgid);
    }

    /// [`Formatter::begin`], with the NILVALUE for a time that is not known.
    fn begin_at(
        &mut self,
        severity: u8,
        ts_unix_ns: Option<i64>,
        app: &str,
        procid: Option<u32>,
        msgid: &str,
    ) {
        let h = &mut self.head;
        h.clear();
        self.fields.clear();
        self.meta.clear();
        let _ = write!(
            h,
            "<{}>1 ",
            u32::from(self.facility) * 8 + u32::from(severity.min(7))
        );
        // Rfc3339 writes nine fractional digits: keep six. Any other shape would not be a
        // valid TIMESTAMP: the NILVALUE then (not reachable with years 1677..2262).
        let at = h.len();
        if let Some(ts_unix_ns) = ts_unix_ns {
            self.ts.write(h, ts_unix_ns);
        }
        if h.len() == at + 30 && h[at + 4] == b'-' && h[h.len() - 1] == b'Z' {
            h.truncate(at + 26);
            h.push(b'Z');
        } else {
            h.truncate(at);
            h.push(b'-');
        }
        h.push(b' ');
        header_field(h, &self.hostname, 255);
        h.push(b' ');
        header_field(h, app, 48);
        h.push(b' ');
        match procid {
            Some(p) => {
                let _ = write!(h, "{p} ");
            }
            None => h.extend_from_slice(b"- "),
        }
        header_field(h, msgid, 32);
        h.push(b' ');
    }

    fn param(buf: &mut Vec<u8>, id: &str, name: &str, value: &str) {
        if buf.is_empty() {
            buf.push(b'[');
            buf.extend_from_slice(id.as_bytes());
        }
        buf.push(b' ');
        sd_name(buf, name);
        buf.extend_from_slice(b"=\"");
        sd_value(buf, value);
        buf.push(b'"');
    }

    /// Adds a field to the `fields@32473` element.
    pub fn field(&mut self, name: &str, value: &str) {
        Self::param(&mut self.fields, FIELDS_SD_ID, name, value);
    }

    /// Adds a parameter to the `tachylog@32473` element.
    pub fn meta(&mut self, name: &str, value: &str) {
        Self::param(&mut self.meta, META_SD_ID, name, value);
    }

    /// Ends the message with `msg` as its text and returns it, with whether it was cut to the
    /// size limit.
    pub fn finish(&mut self, msg: &str) -> (&[u8], bool) {
        let close = |b: &Vec<u8>| if b.is_empty() { 0 } else { b.len() + 1 };
        let (f, m) = (close(&self.fields), close(&self.meta));
        let limit = self.max_size.unwrap_or(usize::MAX);
        let head = self.head.len();
        let text = if msg.is_empty() { 0 } else { 1 + msg.len() };
        let sd_or_nil = |n: usize| n.max(1);
        // Which elements to keep: all if they fit with the whole text; otherwise the most that
        // fit with the text cut (fields first to go, then the rest).
        let (keep_fields, keep_meta, truncated) = if head + sd_or_nil(f + m) + text <= limit {
            (true, true, false)
        } else if head + sd_or_nil(f + m) <= limit {
            (true, true, true)
        } else if head + sd_or_nil(m) <= limit {
            (false, true, true)
        } else {
            (false, false, true)
        };
        let out = &mut self.out;
        out.clear();
        out.extend_from_slice(&self.head);
        let mut any = false;
        for (keep, buf) in [(keep_fields, &self.fields), (keep_meta, &self.meta)] {
            if keep && !buf.is_empty() {
                out.extend_from_slice(buf);
                out.push(b']');
                any = true;
            }
        }
        if !any {
            out.push(b'-');
        }
        if !msg.is_empty() {
            let room = limit.saturating_sub(out.len() + 1);
            let cut = if msg.len() <= room {
                msg
            } else {
                &msg[..msg.floor_char_boundary(room)]
            };
            if !cut.is_empty() {
                out.push(b' ');
                out.extend_from_slice(cut.as_bytes());
            }
        }
        debug_assert!(out.len() <= limit.max(head + 1));
        (&self.out, truncated)
    }

    /// The message for a record; `app` is the APP-NAME, `id` the record's id (the `id`
    /// SD-PARAM of `tachylog@32473`, by which a receiver can drop repeats).
    pub fn record(&mut self, r: &Record, app: &str, id: &str) -> (&[u8], bool) {
        self.begin(
            severity(r.level),
            r.ts_unix_ns,
            app,
            Some(r.pid),
            &r.callsite().target,
        );
        let (fields, value) = (&mut self.fields, &mut self.value);
        let _ = r.visit_fields(|name, v| {
            value.clear();
            // A field without a value (`None`) is left out, as in text and logfmt.
            if text_value(value, v) {
                Self::param(fields, FIELDS_SD_ID, name, value);
            }
        });
        self.meta("level", r.level.as_str());
        self.thread_meta(r.thread.name.as_deref(), r.thread.tid);
        self.meta("file", &r.callsite().file);
        self.meta("line", itoa::Buffer::new().format(r.callsite().line));
        self.meta("id", id);
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        if let Err(e) = r.write_message(&mut text) {
            text.clear();
            r.write_undecodable(&mut text, &e);
        }
        let (_, truncated) = self.finish(&text);
        self.text = text;
        (&self.out, truncated)
    }

    /// The message for a dropped-records notice (WARN, MSGID `tachylog`, field `dropped`);
    /// `pid` is the writer's, where known.
    pub fn dropped(
        &mut self,
        d: &DropNotice,
        app: &str,
        pid: Option<u32>,
        id: &str,
    ) -> (&[u8], bool) {
        self.begin(severity(Level::Warn), d.ts_unix_ns, app, pid, "tachylog");
        self.field("dropped", itoa::Buffer::new().format(d.count));
        self.meta("level", Level::Warn.as_str());
        if let Some(t) = &d.thread {
            self.thread_meta(t.name.as_deref(), t.tid);
        }
        self.meta("id", id);
        let msg = dropped_text(d.count);
        self.finish(&msg)
    }

    /// The message for a sampling notice (INFO, MSGID `tachylog`, fields `sampled_kept` and
    /// `sampled_skipped`, the call site's target, file and line). A sampling notice carries no
    /// time of its own: TIMESTAMP is the NILVALUE.
    pub fn sampled(
        &mut self,
        s: &SampledNotice,
        app: &str,
        pid: Option<u32>,
        id: &str,
    ) -> (&[u8], bool) {
        self.begin_at(severity(Level::Info), None, app, pid, "tachylog");
        self.field("sampled_kept", itoa::Buffer::new().format(s.kept));
        self.field("sampled_skipped", itoa::Buffer::new().format(s.skipped));
        self.meta("level", Level::Info.as_str());
        self.meta("target", &s.callsite.target);
        self.meta("file", &s.callsite.file);
        self.meta("line", itoa::Buffer::new().format(s.callsite.line));
        self.meta("id", id);
        let msg = sampled_text(s);
        self.finish(&msg)
    }

    fn thread_meta(&mut self, name: Option<&str>, tid: u32) {
        if let Some(n) = name {
            self.meta("thread", n);
        }
        self.meta("tid", itoa::Buffer::new().format(tid));
    }
}

/// Appends `msg` with RFC 6587 octet-counting framing: its length in decimal, a space, the
/// message.
pub fn octet_counted(out: &mut Vec<u8>, msg: &[u8]) {
    out.extend_from_slice(itoa::Buffer::new().format(msg.len()).as_bytes());
    out.push(b' ');
    out.extend_from_slice(msg);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    // 2026-01-31T09:05:07.123456789Z
    const TS: i64 = 1_769_850_307_123_456_789;

    #[test]
    fn a_message_has_every_header_field_and_its_elements() {
        let mut f = Formatter::new(1, "web-1.example.com", None);
        f.begin(
            severity(Level::Info),
            TS,
            "orders",
            Some(4242),
            "orders::db",
        );
        f.field("qty", "5");
        f.field("user", "ana");
        f.meta("line", "12");
        let (m, cut) = f.finish("placed 5 for ana");
        assert!(!cut);
        assert_eq!(
            s(m),
            "<14>1 2026-01-31T09:05:07.123456Z web-1.example.com orders 4242 orders::db \
             [fields@32473 qty=\"5\" user=\"ana\"][tachylog@32473 line=\"12\"] placed 5 for ana"
        );
    }

    #[test]
    fn pri_is_facility_times_eight_plus_severity() {
        for (fac, level, pri) in [
            (0, Level::Error, "<3>"),
            (1, Level::Warn, "<12>"),
            (16, Level::Debug, "<135>"),
            (23, Level::Trace, "<191>"),
        ] {
            let mut f = Formatter::new(fac, "h", None);
            f.begin(severity(level), 0, "a", Some(1), "m");
            let (m, _) = f.finish("");
            assert!(s(m).starts_with(pri), "{}", s(m));
        }
        assert_eq!(parse_facility("local7"), Ok(23));
        assert_eq!(parse_facility("USER"), Ok(1));
        assert_eq!(parse_facility("5"), Ok(5));
        assert!(parse_facility("24").is_err());
        assert!(parse_facility("nope").is_err());
    }

    #[test]
    fn param_values_escape_quote_backslash_and_bracket_only() {
        let mut f = Formatter::new(1, "h", None);
        f.begin(6, TS, "a", Some(1), "-");
        f.field("path", r#"C:\x "y" [z] é"#);
        let (m, _) = f.finish("");
        assert!(
            s(m).ends_with(r#"[fields@32473 path="C:\\x \"y\" [z\] é"]"#),
            "{}",
            s(m)
        );
    }

    #[test]
    fn names_and_header_fields_are_made_valid() {
        let mut f = Formatter::new(1, "host name\u{e9}", None);
        f.begin(6, TS, "my app", Some(1), "");
        f.field("a=b]c\"d e", "v");
        f.field("", "w");
        f.field(&"n".repeat(40), "x");
        let (m, _) = f.finish("");
        assert_eq!(
            s(m),
            format!(
                "<14>1 2026-01-31T09:05:07.123456Z host_name_ my_app 1 - \
                 [fields@32473 a_b_c_d_e=\"v\" _=\"w\" {}=\"x\"]",
                "n".repeat(32)
            )
        );
        let mut f = Formatter::new(1, "", None);
        f.begin(6, TS, &"x".repeat(60), None, &"t::".repeat(20));
        let (m, _) = f.finish("hi");
        let parts: Vec<&str> = s(m).split(' ').collect();
        assert_eq!(parts[2], "-");
        assert_eq!(parts[3].len(), 48);
        assert_eq!(parts[4], "-");
        assert_eq!(parts[5].len(), 32);
        assert_eq!(parts[6], "-", "no structured data is the NILVALUE");
        assert_eq!(parts[7], "hi");
    }

    #[test]
    fn timestamps_are_cut_to_microseconds_over_the_whole_range() {
        let mut f = Formatter::new(1, "h", None);
        for (ns, ts) in [
            (-1, "1969-12-31T23:59:59.999999Z"),
            (i64::MIN, "1677-09-21T00:12:43.145224Z"),
            (i64::MAX, "2262-04-11T23:47:16.854775Z"),
            (TS, "2026-01-31T09:05:07.123456Z"),
        ] {
            f.begin(6, ns, "a", Some(1), "m");
            assert_eq!(s(&f.head), format!("<14>1 {ts} h a 1 m "));
        }
    }

    #[test]
    fn size_limit_cuts_text_at_a_char_boundary_then_drops_elements() {
        let mut f = Formatter::new(1, "h", Some(500));
        f.begin(6, TS, "a", Some(1), "m");
        f.field("k", "v");
        let msg = "é".repeat(400); // 800 bytes
        let (m, cut) = f.finish(&msg);
        assert!(cut);
        let m = s(m).to_owned();
        assert!(m.len() <= 500 && m.len() >= 499, "{}", m.len());
        assert!(m.contains("[fields@32473 k=\"v\"] éé"));
        // Fields too large to fit with any text: the element goes, the rest stays valid.
        f.begin(6, TS, "a", Some(1), "m");
        f.field("big", &"x".repeat(600));
        f.meta("line", "7");
        let (m, cut) = f.finish("text");
        assert!(cut);
        assert!(
            s(m).ends_with(" m [tachylog@32473 line=\"7\"] text"),
            "{}",
            s(m)
        );
        // Under the limit nothing changes.
        f.begin(6, TS, "a", Some(1), "m");
        let (m, cut) = f.finish("short");
        assert!(!cut);
        assert!(s(m).ends_with(" m - short"));
    }

    #[test]
    fn octet_counting_prefixes_the_byte_length() {
        let mut out = Vec::new();
        octet_counted(&mut out, "<14>1 - - - - - - é".as_bytes());
        octet_counted(&mut out, b"x");
        assert_eq!(s(&out), "20 <14>1 - - - - - - é1 x");
    }
}
