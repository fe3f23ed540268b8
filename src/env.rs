//! Settings from the environment: [`Builder::from_env`] reads `TACHYLOG_*` variables, so a
//! deployed program can be tuned without a rebuild. Calls made on the returned `Builder`
//! replace what the environment said (explicit code wins). An unset or empty variable leaves
//! the default. The table of variables is on [`Builder::from_env`].
use crate::engine::Builder;
use crate::error::Error;
use crate::runtime::Overflow;
use std::time::Duration;

/// The variable holding the filter.
pub const LOG_VAR: &str = "TACHYLOG_LOG";

impl Builder {
    /// A `Builder` with the defaults of [`Builder::new`], overridden by the `TACHYLOG_*`
    /// environment variables (the table in the crate's README and below). Calls made on the
    /// result win over the environment. `Err` names the variable whose value does not parse
    /// (or the filter directive that is invalid).
    ///
    /// | variable | setting |
    /// | --- | --- |
    /// | `TACHYLOG_LOG` | [`filter`](Builder::filter) |
    /// | `TACHYLOG_DIR` | [`dir`](Builder::dir) |
    /// | `TACHYLOG_NAME` | [`name`](Builder::name) |
    /// | `TACHYLOG_SEGMENT_SIZE` | [`segment_size`](Builder::segment_size): `64m`, `1g`, `65536` |
    /// | `TACHYLOG_RING_CAPACITY` | [`ring_capacity`](Builder::ring_capacity): `256k` |
    /// | `TACHYLOG_OVERFLOW` | [`overflow`](Builder::overflow): `drop`, `block`, `block_for:5ms` |
    /// | `TACHYLOG_DRAIN_CORE` | [`drain_core`](Builder::drain_core): `3` or `none` |
    /// | `TACHYLOG_CRASH_TIMEOUT` | [`crash_timeout`](Builder::crash_timeout): `1s`, `250ms` |
    ///
    /// `TACHYLOG_CRASH_HANDLING=off` (or `0`, `false`, `no`) is read by `init` itself, whether
    /// or not the `Builder` came from here, and turns crash handling off whatever the code
    /// says ([`crash_handling`](Builder::crash_handling)).
    ///
    /// ```no_run
    /// // TACHYLOG_LOG=debug TACHYLOG_DIR=/var/log/app ./app
    /// let _guard = tachylog::Builder::from_env()?
    ///     .name("app") // always "app", whatever TACHYLOG_NAME says
    ///     .init()?;
    /// # Ok::<(), tachylog::Error>(())
    /// ```
    pub fn from_env() -> Result<Builder, Error> {
        Builder::from_env_with(|var| std::env::var(var).ok())
    }

    /// As [`from_env`](Builder::from_env), reading variables through `lookup` instead of the
    /// process environment (for tests, or settings kept elsewhere).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Builder, Error> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let mut b = Builder::new();
        if let Some(v) = get(LOG_VAR) {
            b = b.filter(&v)?;
        }
        if let Some(v) = get("TACHYLOG_DIR") {
            b = b.dir(v);
        }
        if let Some(v) = get("TACHYLOG_NAME") {
            b = b.name(v);
        }
        if let Some(v) = get("TACHYLOG_SEGMENT_SIZE") {
            b = b.segment_size(parse_bytes("TACHYLOG_SEGMENT_SIZE", &v)?);
        }
        if let Some(v) = get("TACHYLOG_RING_CAPACITY") {
            b = b.ring_capacity(parse_bytes("TACHYLOG_RING_CAPACITY", &v)?);
        }
        if let Some(v) = get("TACHYLOG_OVERFLOW") {
            b = b.overflow(parse_overflow(&v)?);
        }
        if let Some(v) = get("TACHYLOG_DRAIN_CORE") {
            b = b.drain_core(parse_core(&v)?);
        }
        if let Some(v) = get("TACHYLOG_CRASH_TIMEOUT") {
            let d = humantime::parse_duration(v.trim())
                .map_err(|e| env_err("TACHYLOG_CRASH_TIMEOUT", &v, format!("bad duration: {e}")))?;
            b = b.crash_timeout(d);
        }
        Ok(b)
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

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn every_variable_reaches_its_setting() {
        let b = Builder::from_env_with(vars(&[
            ("TACHYLOG_LOG", "warn,orders=debug"),
            ("TACHYLOG_DIR", "/tmp/x"),
            ("TACHYLOG_NAME", "svc"),
            ("TACHYLOG_SEGMENT_SIZE", "8m"),
            ("TACHYLOG_RING_CAPACITY", "64KiB"),
            ("TACHYLOG_OVERFLOW", "block_for:5ms"),
            ("TACHYLOG_DRAIN_CORE", "0"),
        ]))
        .unwrap();
        let c = &b.cfg;
        assert_eq!(c.dir, Path::new("/tmp/x"));
        assert_eq!(c.name, "svc");
        assert_eq!(c.segment_size, 8 << 20);
        assert_eq!(c.ring_capacity, 64 << 10);
        assert_eq!(c.overflow, Overflow::BlockFor(Duration::from_millis(5)));
        assert_eq!(c.drain_core, Some(0));
        let f = c.filter.as_ref().unwrap();
        assert!(f.enabled("orders::x", Level::Debug));
        assert!(!f.enabled("misc", Level::Info));
    }

    #[test]
    fn unset_and_empty_variables_keep_defaults() {
        let d = Builder::new().cfg;
        let b = Builder::from_env_with(vars(&[("TACHYLOG_DIR", ""), ("TACHYLOG_LOG", " ")]))
            .unwrap()
            .cfg;
        assert_eq!(
            (b.dir, b.segment_size, b.filter),
            (d.dir, d.segment_size, None)
        );
    }

    #[test]
    fn explicit_calls_win_over_the_environment() {
        let b = Builder::from_env_with(vars(&[
            ("TACHYLOG_DIR", "/from/env"),
            ("TACHYLOG_OVERFLOW", "block"),
            ("TACHYLOG_DRAIN_CORE", "1"),
            ("TACHYLOG_LOG", "trace"),
        ]))
        .unwrap()
        .dir("/from/code")
        .drain_core(None)
        .filter("error")
        .unwrap();
        assert_eq!(b.cfg.dir, Path::new("/from/code"));
        assert_eq!(b.cfg.drain_core, None);
        assert_eq!(b.cfg.overflow, Overflow::Block, "not overridden: env value");
        assert!(!b.cfg.filter.unwrap().enabled("x", Level::Warn));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, val, want) in [
            ("TACHYLOG_SEGMENT_SIZE", "big", "TACHYLOG_SEGMENT_SIZE"),
            ("TACHYLOG_RING_CAPACITY", "99999999999g", "too large"),
            ("TACHYLOG_OVERFLOW", "wait", "expected drop, block"),
            ("TACHYLOG_OVERFLOW", "block_for:soon", "bad duration"),
            ("TACHYLOG_DRAIN_CORE", "-1", "TACHYLOG_DRAIN_CORE"),
            ("TACHYLOG_LOG", "info,a=loud", "`a=loud`"),
        ] {
            let e = Builder::from_env_with(vars(&[(var, val)])).unwrap_err();
            assert!(e.to_string().contains(want), "{var}={val}: {e}");
        }
        assert_eq!(parse_bytes("X", "3g").unwrap(), 3 << 30);
        assert_eq!(parse_bytes("X", "12345").unwrap(), 12345);
        assert_eq!(parse_core("none").unwrap(), None);
    }
}
