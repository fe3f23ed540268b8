//! Record filters. Level, target, thread and time are decided from the record's header and
//! call site alone, before its message is formatted; only `--grep` looks at the message.
use regex::Regex;
use std::time::{SystemTime, UNIX_EPOCH};
use tachylog::Level;
use tachylog::reader::{DropNotice, Record, ThreadInfo};

/// Which records to keep. An empty filter keeps everything.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Least severe level kept (`Warn` keeps ERROR and WARN).
    pub level: Option<Level>,
    /// Target prefixes; a record is kept if its target starts with any of them.
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
                    .any(|p| r.callsite().target.starts_with(p.as_str())))
            && self.time_matches(r.ts_unix_ns)
            && self.thread_matches(Some(&r.thread))
    }

    /// Whether a drop notice (level WARN, target `tachylog`) passes the same filters.
    pub fn keep_notice(&self, d: &DropNotice) -> bool {
        self.level.is_none_or(|l| Level::Warn <= l)
            && (self.targets.is_empty() || self.targets.iter().any(|p| "tachylog".starts_with(p)))
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

/// Parses a `--since`/`--until` value: an RFC 3339 time (UTC; `Z`, or no zone) or a duration
/// before now such as `90s`, `10m`, `2h 30m`, `1day`. Returns ns since the Unix epoch.
pub fn parse_time(s: &str, now: SystemTime) -> Result<i64, String> {
    let t = match humantime::parse_rfc3339_weak(s.trim_end_matches('Z')) {
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

/// Parses a `--level` value (`error`, `warn`, `info`, `debug`, `trace`, any case).
pub fn parse_level(s: &str) -> Result<Level, String> {
    s.parse::<Level>()
        .map_err(|_| format!("unknown level `{s}` (use error, warn, info, debug or trace)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
