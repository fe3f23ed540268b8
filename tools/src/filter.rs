//! Record filters. Level, target, thread and time are decided from the record's header and
//! call site alone, before its message is formatted; only `--grep` looks at the message.
use regex::Regex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tachylog::Level;
use tachylog::reader::{DropNotice, Record, ThreadInfo};

/// Which records to keep. An empty filter keeps everything.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Least severe level kept (`Warn` keeps ERROR and WARN).
    pub level: Option<Level>,
    /// Targets; a record is kept if its target is one of them or below one on a `::` boundary
    /// ([`target_matches`]).
    pub targets: Vec<String>,
    /// Thread names or operating-system thread ids; kept if the thread matches any.
    pub threads: Vec<String>,
    /// Earliest time kept, ns since the Unix epoch (inclusive).
    pub since: Option<i64>,
    /// Latest time kept, ns since the Unix epoch (exclusive).
    pub until: Option<i64>,
    /// Kept only if the formatted message matches.
    pub grep: Option<Regex>,
}

impl Filter {
    fn thread_matches(&self, t: Option<&ThreadInfo>) -> bool {
        self.threads.is_empty()
            || t.is_some_and(|t| {
                self.threads.iter().any(|sel| {
                    t.name.as_deref() == Some(sel.as_str())
                        || sel.parse::<u32>().is_ok_and(|id| id == t.tid)
                })
            })
    }

    fn time_matches(&self, ts: i64) -> bool {
        self.since.is_none_or(|s| ts >= s) && self.until.is_none_or(|u| ts < u)
    }

    /// Whether this filter keeps every record and notice (no criterion is set).
    pub fn keeps_all(&self) -> bool {
        self.level.is_none()
            && self.targets.is_empty()
            && self.threads.is_empty()
            && self.since.is_none()
            && self.until.is_none()
            && self.grep.is_none()
    }

    /// Whether a record passes the level, target, thread and time filters. Never formats.
    pub fn keep_record(&self, r: &Record) -> bool {
        self.level.is_none_or(|l| r.level <= l)
            && (self.targets.is_empty()
                || self
                    .targets
                    .iter()
                    .any(|t| target_matches(t, &r.callsite().target)))
            && self.time_matches(r.ts_unix_ns)
            && self.thread_matches(Some(&r.thread))
    }

    /// Whether a drop notice (level WARN, target `tachylog`) passes the same filters.
    pub fn keep_notice(&self, d: &DropNotice) -> bool {
        self.level.is_none_or(|l| Level::Warn <= l)
            && (self.targets.is_empty()
                || self.targets.iter().any(|t| target_matches(t, "tachylog")))
            && self.time_matches(d.ts_unix_ns)
            && self.thread_matches(d.thread.as_deref())
            && self
                .grep
                .as_ref()
                .is_none_or(|g| g.is_match(&format!("{} records dropped", d.count)))
    }

    /// Whether a formatted message passes `--grep`.
    pub fn keep_message(&self, msg: &str) -> bool {
        self.grep.as_ref().is_none_or(|g| g.is_match(msg))
    }
}

/// Whether `--target` value `selected` keeps a record of `target`: the target itself and the
/// targets below it on a `::` boundary, as in the library's filter grammar (`RUST_LOG`):
/// `app::db` keeps `app::db` and `app::db::pool`, not `app::dbx`. A value that ends in `::`
/// (`app::`) keeps the targets below it.
pub fn target_matches(selected: &str, target: &str) -> bool {
    match target.strip_prefix(selected) {
        Some(rest) => {
            selected.is_empty()
                || selected.ends_with("::")
                || rest.is_empty()
                || rest.starts_with("::")
        }
        None => false,
    }
}

/// Parses a `--since`/`--until` value: an RFC 3339 time with any offset (`Z`, `+01:00`,
/// `-05:30`; without one, UTC) or a duration before now such as `90s`, `10m`, `2h 30m`,
/// `1day`. Returns ns since the Unix epoch.
pub fn parse_time(s: &str, now: SystemTime) -> Result<i64, String> {
    let t = match rfc3339(s) {
        Ok(t) => t,
        Err(rfc) => match humantime::parse_duration(s) {
            Ok(d) => now.checked_sub(d).unwrap_or(UNIX_EPOCH),
            Err(_) => {
                return Err(format!(
                    "`{s}` is neither an RFC 3339 time ({rfc}) nor a duration like 10m or 2h"
                ));
            }
        },
    };
    let ns = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos().min(i64::MAX as u128) as i64,
        Err(e) => -(e.duration().as_nanos().min(i64::MAX as u128) as i64),
    };
    Ok(ns)
}

/// An RFC 3339 time: `humantime` reads the date and time (UTC), and the offset after them is
/// taken off here (`2026-11-30T07:46:13+01:00` is `06:46:13Z`).
fn rfc3339(s: &str) -> Result<SystemTime, String> {
    let b = s.as_bytes();
    // `+HH:MM` or `-HH:MM` at the end, after the time (a date alone ends in `-DD`).
    let offset = (b.len() > 16 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':')
        .then(|| {
            let digits = |i: usize| -> Option<u64> {
                let d = |j: usize| b[j].is_ascii_digit().then(|| u64::from(b[j] - b'0'));
                Some(d(i)? * 10 + d(i + 1)?)
            };
            let (h, m) = (digits(b.len() - 5)?, digits(b.len() - 2)?);
            (h < 24 && m < 60).then_some((b[b.len() - 6] == b'+', (h * 60 + m) * 60))
        });
    let (local, offset) = match offset {
        Some(None) => return Err(format!("invalid offset `{}`", &s[s.len() - 6..])),
        Some(Some(o)) => (&s[..s.len() - 6], Some(o)),
        None => (s.strip_suffix(['Z', 'z']).unwrap_or(s), None),
    };
    let t = humantime::parse_rfc3339_weak(local).map_err(|e| e.to_string())?;
    Ok(match offset {
        // East of UTC: the same wall-clock time came earlier in UTC.
        Some((true, secs)) => t.checked_sub(Duration::from_secs(secs)),
        Some((false, secs)) => t.checked_add(Duration::from_secs(secs)),
        None => Some(t),
    }
    .unwrap_or(UNIX_EPOCH))
}

/// Parses a `--level` value (`error`, `warn`, `info`, `debug`, `trace`, any case).
pub fn parse_level(s: &str) -> Result<Level, String> {
    s.parse::<Level>()
        .map_err(|_| format!("unknown level `{s}` (use error, warn, info, debug or trace)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_on_path_boundaries_like_the_filter_grammar() {
        let cases = [
            ("fmt", "fmt", true),
            ("fmt", "fmt::x", true),
            ("fmt", "fmtx", false),
            ("fmt", "fm", false),
            ("app::db", "app::db::pool", true),
            ("app::db", "app::dbx", false),
            ("app::db", "app", false),
            ("app", "x::app", false),
        ];
        for (selected, target, keep) in cases {
            assert_eq!(
                target_matches(selected, target),
                keep,
                "{selected} {target}"
            );
            // The library's grammar gives the same answer.
            let f = tachylog::Filter::parse(&format!("off,{selected}=trace")).unwrap();
            assert_eq!(f.enabled(target, Level::Trace), keep, "{selected} {target}");
        }
        // An empty --target keeps everything, as it did; one ending in `::` what is below it.
        assert!(target_matches("", "anything"));
        assert!(target_matches("db::", "db::pool"));
        assert!(!target_matches("db::", "db"));
        assert!(!target_matches("db::", "dbx::pool"));
    }

    #[test]
    fn rfc3339_times_take_any_offset() {
        let now = UNIX_EPOCH;
        let utc = parse_time("2026-11-30T06:46:13Z", now).unwrap();
        for (s, shift) in [
            ("2026-11-30T07:46:13+01:00", 0),
            ("2026-11-30T01:16:13-05:30", 0),
            ("2026-11-30T06:46:13+00:00", 0),
            ("2026-11-30T06:46:13-00:00", 0),
            ("2026-11-30T06:46:13z", 0),
            ("2026-11-30T06:46:13", 0),
            ("2026-11-30 06:46:13", 0),
            ("2026-11-30T07:46:13.25+01:00", 250_000_000),
        ] {
            assert_eq!(parse_time(s, now).unwrap(), utc + shift, "{s}");
        }
        for bad in [
            "2026-11-30T07:46:13+25:00",
            "2026-11-30T07:46:13+01:60",
            "2026-11-30T07:46:13+0a:00",
            "2026-11-30+01:00",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_an_empty_filter_keeps_all() {
        assert!(Filter::default().keeps_all());
        let each: [fn(&mut Filter); 6] = [
            |f| f.level = Some(Level::Trace),
            |f| f.targets.push(String::new()),
            |f| f.threads.push("t".into()),
            |f| f.since = Some(0),
            |f| f.until = Some(i64::MAX),
            |f| f.grep = Some(Regex::new("").unwrap()),
        ];
        for set in each {
            let mut f = Filter::default();
            set(&mut f);
            assert!(!f.keeps_all(), "{f:?}");
        }
    }

    #[test]
    fn times_parse_absolute_and_relative() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            parse_time("1970-01-01T00:00:10Z", now).unwrap(),
            10_000_000_000
        );
        assert_eq!(
            parse_time("1970-01-01T00:00:10.5", now).unwrap(),
            10_500_000_000
        );
        assert_eq!(
            parse_time("10m", now).unwrap(),
            (1_000_000 - 600) * 1_000_000_000
        );
        assert!(parse_time("yesterday-ish", now).is_err());
        assert_eq!(parse_level("WARN").unwrap(), Level::Warn);
        assert!(parse_level("loud").is_err());
    }
}
