//! Operator settings from the environment: the `TACHYLOG_*` variables, parsed into overrides
//! that `Builder::init` applies over what the code set. The operator who deploys a binary has
//! the last word on where its logs go and how much they keep, so the precedence is, from
//! strongest: environment, then code, then defaults. A program that must not be tuned this
//! way calls `Builder::env_overrides(false)`. An unset or empty variable overrides nothing;
//! a value that does not parse is `Error::Env` naming the variable.
use crate::error::Error;
use crate::filter::Filter;
use crate::runtime::{Config, Console, Overflow};
use std::path::PathBuf;
use std::time::Duration;

/// The variable holding the filter.
pub const LOG_VAR: &str = "TACHYLOG_LOG";

/// What the environment overrides, parsed. `None`: the variable is unset or empty.
#[derive(Debug, Clone, Default)]
pub(crate) struct EnvOverrides {
    filter: Option<Filter>,
    dir: Option<PathBuf>,
    name: Option<String>,
    segment_size: Option<usize>,
    ring_capacity: Option<usize>,
    overflow: Option<Overflow>,
    drain_core: Option<Option<usize>>,
    drain_idle: Option<Duration>,
    rotate_every: Option<Option<Duration>>,
    max_segments: Option<Option<usize>>,
    max_total_bytes: Option<Option<u64>>,
    max_age: Option<Option<Duration>>,
    compress: Option<bool>,
    crash_handling: Option<bool>,
    crash_timeout: Option<Duration>,
    console: Option<Console>,
}

impl EnvOverrides {
    /// Reads and parses every variable through `lookup`.
    pub(crate) fn read(lookup: impl Fn(&str) -> Option<String>) -> Result<EnvOverrides, Error> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let mut o = EnvOverrides::default();
        if let Some(v) = get(LOG_VAR) {
            o.filter = Some(Filter::parse(&v).map_err(|e| env_err(LOG_VAR, &v, e.to_string()))?);
        }
        o.dir = get("TACHYLOG_DIR").map(PathBuf::from);
        o.name = get("TACHYLOG_NAME");
        if let Some(v) = get("TACHYLOG_SEGMENT_SIZE") {
            o.segment_size = Some(parse_bytes("TACHYLOG_SEGMENT_SIZE", &v)?);
        }
        if let Some(v) = get("TACHYLOG_RING_CAPACITY") {
            o.ring_capacity = Some(parse_bytes("TACHYLOG_RING_CAPACITY", &v)?);
        }
        if let Some(v) = get("TACHYLOG_OVERFLOW") {
            o.overflow = Some(parse_overflow(&v)?);
        }
        if let Some(v) = get("TACHYLOG_DRAIN_CORE") {
            o.drain_core = Some(parse_core(&v)?);
        }
        if let Some(v) = get("TACHYLOG_DRAIN_IDLE") {
            o.drain_idle = Some(parse_duration("TACHYLOG_DRAIN_IDLE", &v)?);
        }
        if let Some(v) = get("TACHYLOG_ROTATE_EVERY") {
            o.rotate_every = Some(off_or(&v, |v| parse_duration("TACHYLOG_ROTATE_EVERY", v))?);
        }
        if let Some(v) = get("TACHYLOG_MAX_SEGMENTS") {
            o.max_segments = Some(off_or(&v, |v| {
                v.trim().parse().map_err(|_| {
                    env_err(
                        "TACHYLOG_MAX_SEGMENTS",
                        v,
                        "expected a count such as 100, or off",
                    )
                })
            })?);
        }
        if let Some(v) = get("TACHYLOG_MAX_TOTAL_BYTES") {
            o.max_total_bytes = Some(off_or(&v, |v| {
                parse_bytes("TACHYLOG_MAX_TOTAL_BYTES", v).map(|n| n as u64)
            })?);
        }
        if let Some(v) = get("TACHYLOG_MAX_AGE") {
            o.max_age = Some(off_or(&v, |v| parse_duration("TACHYLOG_MAX_AGE", v))?);
        }
        if let Some(v) = get("TACHYLOG_COMPRESS") {
            o.compress = Some(parse_switch("TACHYLOG_COMPRESS", &v)?);
        }
        if let Some(v) = get("TACHYLOG_CRASH_HANDLING") {
            o.crash_handling = Some(parse_switch("TACHYLOG_CRASH_HANDLING", &v)?);
        }
        if let Some(v) = get("TACHYLOG_CRASH_TIMEOUT") {
            o.crash_timeout = Some(parse_duration("TACHYLOG_CRASH_TIMEOUT", &v)?);
        }
        if let Some(v) = get("TACHYLOG_CONSOLE") {
            o.console = Some(v.parse().map_err(|e| env_err("TACHYLOG_CONSOLE", &v, e))?);
        }
        Ok(o)
    }

    /// Writes every override into `cfg`, over what the code set.
    pub(crate) fn apply(&self, cfg: &mut Config) {
        if let Some(f) = &self.filter {
            cfg.filter = Some(f.clone());
        }
        if let Some(d) = &self.dir {
            cfg.dir = d.clone();
        }
        if let Some(n) = &self.name {
            cfg.name = n.clone();
        }
        set(&mut cfg.segment_size, self.segment_size);
        set(&mut cfg.ring_capacity, self.ring_capacity);
        if self.ring_capacity.is_some() {
            cfg.ring_default = false;
        }
        set(&mut cfg.overflow, self.overflow);
        set(&mut cfg.drain_core, self.drain_core);
        set(&mut cfg.max_idle, self.drain_idle);
        set(&mut cfg.rotate_every, self.rotate_every);
        set(&mut cfg.retention.max_segments, self.max_segments);
        set(&mut cfg.retention.max_total_bytes, self.max_total_bytes);
        set(&mut cfg.retention.max_age, self.max_age);
        set(&mut cfg.compress, self.compress);
        set(&mut cfg.crash_handling, self.crash_handling);
        set(&mut cfg.crash_timeout, self.crash_timeout);
        set(&mut cfg.console, self.console);
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// `off` (or `none`) is `None`; anything else goes through `parse`.
fn off_or<T>(v: &str, parse: impl Fn(&str) -> Result<T, Error>) -> Result<Option<T>, Error> {
    let t = v.trim();
    if t.eq_ignore_ascii_case("off") || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    parse(t).map(Some)
}

fn parse_duration(var: &'static str, v: &str) -> Result<Duration, Error> {
    humantime::parse_duration(v.trim()).map_err(|e| {
        env_err(
            var,
            v,
            format!("expected a duration such as 5ms or 1h: {e}"),
        )
    })
}

fn parse_switch(var: &'static str, v: &str) -> Result<bool, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err(env_err(var, v, "expected on or off")),
    }
}

fn env_err(var: &'static str, value: &str, reason: impl Into<String>) -> Error {
    Error::Env {
        var,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// `4096`, `64k`, `64K`, `64kib`, `16m`, `1g` (binary multiples).
fn parse_bytes(var: &'static str, v: &str) -> Result<usize, Error> {
    let t = v.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix("ib")
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(&t);
    let (digits, shift) = match t.as_bytes().last() {
        Some(b'k') => (&t[..t.len() - 1], 10),
        Some(b'm') => (&t[..t.len() - 1], 20),
        Some(b'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| env_err(var, v, "expected bytes such as 65536, 256k, 64m or 1g"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| env_err(var, v, "too large"))
}

fn parse_overflow(v: &str) -> Result<Overflow, Error> {
    const VAR: &str = "TACHYLOG_OVERFLOW";
    let t = v.trim();
    match t.to_ascii_lowercase().as_str() {
        "drop" => return Ok(Overflow::Drop),
        "block" => return Ok(Overflow::Block),
        _ => {}
    }
    let Some(d) = t
        .strip_prefix("block_for:")
        .or_else(|| t.strip_prefix("BLOCK_FOR:"))
    else {
        return Err(env_err(
            VAR,
            v,
            "expected drop, block or block_for:<duration> (e.g. block_for:5ms)",
        ));
    };
    let d: Duration = humantime::parse_duration(d.trim())
        .map_err(|e| env_err(VAR, v, format!("bad duration: {e}")))?;
    Ok(Overflow::BlockFor(d))
}

fn parse_core(v: &str) -> Result<Option<usize>, Error> {
    let t = v.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| env_err("TACHYLOG_DRAIN_CORE", v, "expected a core number or `none`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Level;
    use std::collections::HashMap;
    use std::path::Path;

    /// Every variable, with the setting it overrides and examples of its values (the README's table
    /// and `Builder::from_env`'s docs say the same).
    const VARIABLES: &[(&str, &str, &str)] = &[
        (LOG_VAR, "filter", "`info,orders=debug`"),
        ("TACHYLOG_DIR", "dir", "`/var/log/app`"),
        ("TACHYLOG_NAME", "name", "`orders`"),
        (
            "TACHYLOG_SEGMENT_SIZE",
            "segment_size",
            "`65536`, `256k`, `64m`, `1g`",
        ),
        ("TACHYLOG_RING_CAPACITY", "ring_capacity", "`256k`"),
        (
            "TACHYLOG_OVERFLOW",
            "overflow",
            "`drop`, `block`, `block_for:5ms`",
        ),
        ("TACHYLOG_DRAIN_CORE", "drain_core", "`3`, `none`"),
        ("TACHYLOG_DRAIN_IDLE", "drain_idle", "`1ms`, `0s`"),
        (
            "TACHYLOG_ROTATE_EVERY",
            "rotate_every",
            "`1h`, `15min`, `off`",
        ),
        ("TACHYLOG_MAX_SEGMENTS", "max_segments", "`100`, `off`"),
        (
            "TACHYLOG_MAX_TOTAL_BYTES",
            "max_total_bytes",
            "`10g`, `off`",
        ),
        ("TACHYLOG_MAX_AGE", "max_age", "`7days`, `off`"),
        ("TACHYLOG_COMPRESS", "compress", "`on`, `off`"),
        ("TACHYLOG_CRASH_HANDLING", "crash_handling", "`on`, `off`"),
        ("TACHYLOG_CRASH_TIMEOUT", "crash_timeout", "`1s`, `250ms`"),
        (
            "TACHYLOG_CONSOLE",
            "console",
            "`stderr`, `stderr:debug`, `stdout`, `off`",
        ),
    ];

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    /// The code's settings, then the environment's over them, as `init` applies them.
    fn applied(code: crate::Builder, env: &[(&str, &str)]) -> Config {
        let mut cfg = code.cfg;
        EnvOverrides::read(vars(env)).unwrap().apply(&mut cfg);
        cfg
    }

    #[test]
    fn every_variable_reaches_its_setting() {
        let c = applied(
            crate::Builder::new(),
            &[
                ("TACHYLOG_LOG", "warn,orders=debug"),
                ("TACHYLOG_DIR", "/tmp/x"),
                ("TACHYLOG_NAME", "svc"),
                ("TACHYLOG_SEGMENT_SIZE", "8m"),
                ("TACHYLOG_RING_CAPACITY", "64KiB"),
                ("TACHYLOG_OVERFLOW", "block_for:5ms"),
                ("TACHYLOG_DRAIN_CORE", "0"),
                ("TACHYLOG_DRAIN_IDLE", "0s"),
                ("TACHYLOG_ROTATE_EVERY", "15min"),
                ("TACHYLOG_MAX_SEGMENTS", "12"),
                ("TACHYLOG_MAX_TOTAL_BYTES", "1g"),
                ("TACHYLOG_MAX_AGE", "2days"),
                ("TACHYLOG_COMPRESS", "on"),
                ("TACHYLOG_CRASH_HANDLING", "off"),
                ("TACHYLOG_CRASH_TIMEOUT", "250ms"),
                ("TACHYLOG_CONSOLE", "stdout:warn"),
            ],
        );
        assert_eq!(c.console, Console::stdout().level(Level::Warn));
        assert_eq!(c.dir, Path::new("/tmp/x"));
        assert_eq!(c.name, "svc");
        assert_eq!(c.segment_size, 8 << 20);
        assert_eq!(c.ring_capacity, 64 << 10);
        assert_eq!(c.overflow, Overflow::BlockFor(Duration::from_millis(5)));
        assert_eq!(c.drain_core, Some(0));
        assert_eq!(c.max_idle, Duration::ZERO);
        assert_eq!(c.rotate_every, Some(Duration::from_secs(900)));
        assert_eq!(c.retention.max_segments, Some(12));
        assert_eq!(c.retention.max_total_bytes, Some(1 << 30));
        assert_eq!(c.retention.max_age, Some(Duration::from_secs(2 * 86_400)));
        assert!(c.compress);
        assert!(!c.crash_handling);
        assert_eq!(c.crash_timeout, Duration::from_millis(250));
        let f = c.filter.as_ref().unwrap();
        assert!(f.enabled("orders::x", Level::Debug));
        assert!(!f.enabled("misc", Level::Info));
    }

    #[test]
    fn unset_and_empty_variables_override_nothing() {
        let code = crate::Builder::new()
            .dir("/from/code")
            .max_segments(3)
            .compress(true);
        let c = applied(code, &[("TACHYLOG_DIR", ""), ("TACHYLOG_LOG", " ")]);
        assert_eq!(c.dir, Path::new("/from/code"));
        assert_eq!((c.retention.max_segments, c.compress), (Some(3), true));
        assert!(c.filter.is_none());
    }

    #[test]
    fn the_environment_wins_over_the_code() {
        let code = crate::Builder::new()
            .dir("/from/code")
            .drain_core(None)
            .filter("error")
            .unwrap()
            .rotate_every(Duration::from_secs(60))
            .max_age(Duration::from_secs(60))
            .console(Console::stderr())
            .compress(true);
        let c = applied(
            code,
            &[
                ("TACHYLOG_DIR", "/from/env"),
                ("TACHYLOG_DRAIN_CORE", "1"),
                ("TACHYLOG_LOG", "trace"),
                ("TACHYLOG_ROTATE_EVERY", "off"),
                ("TACHYLOG_MAX_AGE", "none"),
                ("TACHYLOG_COMPRESS", "0"),
                ("TACHYLOG_CONSOLE", "off"),
            ],
        );
        assert_eq!(c.console, Console::off());
        assert_eq!(c.dir, Path::new("/from/env"));
        assert_eq!(c.drain_core, Some(1));
        assert!(c.filter.unwrap().enabled("x", Level::Trace));
        assert_eq!((c.rotate_every, c.retention.max_age), (None, None));
        assert!(!c.compress);
        assert_eq!(
            c.overflow,
            Overflow::Drop,
            "not in the environment: the code's"
        );
    }

    #[test]
    fn bad_values_are_env_errors_naming_the_variable() {
        for (var, val, want) in [
            ("TACHYLOG_SEGMENT_SIZE", "big", "expected bytes"),
            ("TACHYLOG_RING_CAPACITY", "99999999999g", "too large"),
            ("TACHYLOG_OVERFLOW", "wait", "expected drop, block"),
            ("TACHYLOG_OVERFLOW", "block_for:soon", "bad duration"),
            ("TACHYLOG_DRAIN_CORE", "-1", "expected a core number"),
            ("TACHYLOG_LOG", "info,a=loud", "`a=loud`"),
            ("TACHYLOG_DRAIN_IDLE", "fast", "expected a duration"),
            ("TACHYLOG_ROTATE_EVERY", "hourly", "expected a duration"),
            ("TACHYLOG_MAX_SEGMENTS", "many", "expected a count"),
            ("TACHYLOG_MAX_TOTAL_BYTES", "lots", "expected bytes"),
            ("TACHYLOG_MAX_AGE", "old", "expected a duration"),
            ("TACHYLOG_COMPRESS", "maybe", "expected on or off"),
            ("TACHYLOG_CRASH_HANDLING", "later", "expected on or off"),
            ("TACHYLOG_CRASH_TIMEOUT", "soon", "expected a duration"),
            ("TACHYLOG_CONSOLE", "tty", "expected stderr, stdout or off"),
            ("TACHYLOG_CONSOLE", "stderr:loud", "unknown level"),
        ] {
            let e = EnvOverrides::read(vars(&[(var, val)])).unwrap_err();
            assert!(
                matches!(&e, Error::Env { var: v, .. } if *v == var),
                "{var}: {e:?}"
            );
            let text = e.to_string();
            assert!(
                text.contains(var) && text.contains(want),
                "{var}={val}: {text}"
            );
        }
        assert_eq!(parse_bytes("X", "3g").unwrap(), 3 << 30);
        assert_eq!(parse_bytes("X", "12345").unwrap(), 12345);
        assert_eq!(parse_core("none").unwrap(), None);
    }

    #[test]
    fn every_variable_is_read_and_documented() {
        let readme = include_str!("../README.md");
        let engine = include_str!("engine.rs");
        for (var, setting, _) in VARIABLES {
            // A value that cannot parse for any setting: if the variable is read, it errs.
            let e = EnvOverrides::read(vars(&[(var, "\u{1}?")]));
            let read = e.is_err() || {
                // Free-text settings (dir, name) accept anything: check that it lands.
                let mut c = crate::Builder::new().cfg;
                EnvOverrides::read(vars(&[(var, "zz")]))
                    .unwrap()
                    .apply(&mut c);
                c.dir == Path::new("zz") || c.name == "zz"
            };
            assert!(read, "{var} is not read");
            let row = format!("| `{var}` | [`{setting}`](Builder::{setting}) |");
            assert!(engine.contains(&row), "from_env's docs lack {row}");
            assert!(readme.contains(&format!("`{var}`")), "README lacks {var}");
        }
    }
}
