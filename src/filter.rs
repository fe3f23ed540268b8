//! Per-target level filters in the grammar of `RUST_LOG` (`env_logger` / `tracing-subscriber`'s
//! `EnvFilter`), resolved once per call site and cached there.
//!
//! A filter is a comma-separated list of directives:
//!
//! | directive        | meaning                                                    |
//! | ---------------- | ---------------------------------------------------------- |
//! | `info`           | the default level, for targets no other directive matches  |
//! | `orders=debug`   | `orders` and every target below it (`orders::book`, ...)   |
//! | `net::conn=warn` | a more specific target: the longest matching target wins   |
//! | `orders`         | a target alone means every level (`trace`)                 |
//! | `noisy=off`      | nothing from that target                                   |
//!
//! A target matches itself and the targets below it on a `::` boundary: `net` matches `net`
//! and `net::conn`, not `network`. Levels are `off`, `error`, `warn`, `info`, `debug` and
//! `trace`, in any case. Span and field directives (`[span]`, `{field}`) and regular
//! expressions (`/re`) are not supported and are rejected by name, as is any other directive
//! that does not parse. Empty directives (`info,,`) are ignored.
//!
//! The decision for a call site is taken once, on its first use, and stored in the call site;
//! [`set_filter`](crate::set_filter) recomputes it for every call site already seen. This
//! module is the grammar and the matching only; the installed filter is runtime state
//! (`runtime::install`, `runtime::decide`).
use crate::Level;
use crate::error::Error;

/// A parsed filter: a default level and per-target levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Level for targets no directive names; `None` when the filter has no bare level.
    default: Option<LevelFilter>,
    /// Per-target directives, most specific (longest target) first.
    targets: Vec<(String, LevelFilter)>,
}

/// A level or `off`, stored as the number of the most verbose level kept (0 = off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LevelFilter(u8);

impl LevelFilter {
    fn parse(s: &str) -> Option<LevelFilter> {
        if s.eq_ignore_ascii_case("off") {
            return Some(LevelFilter(0));
        }
        s.parse::<Level>().ok().map(|l| LevelFilter(l as u8))
    }
}

impl Filter {
    /// Parses a filter such as `"info,orders=debug,net::conn=warn"`. An invalid directive is
    /// an [`Error::Filter`] naming it.
    pub fn parse(spec: &str) -> Result<Filter, Error> {
        let mut f = Filter {
            default: None,
            targets: Vec::new(),
        };
        for raw in spec.split(',') {
            let d = raw.trim();
            if d.is_empty() {
                continue;
            }
            let bad = |reason: &str| Error::Filter {
                directive: d.to_owned(),
                reason: reason.to_owned(),
            };
            if d.contains(['[', ']', '{', '}']) {
                return Err(bad("span and field directives are not supported"));
            }
            if d.contains('/') {
                return Err(bad("regular-expression filters are not supported"));
            }
            let (target, level) = match d.split_once('=') {
                Some((t, l)) => {
                    let l = LevelFilter::parse(l.trim()).ok_or_else(|| {
                        bad("unknown level (expected off, error, warn, info, debug or trace)")
                    })?;
                    (Some(t.trim()), l)
                }
                // A bare word is a level if it names one, otherwise a target at every level.
                None => match LevelFilter::parse(d) {
                    Some(l) => (None, l),
                    None => (Some(d), LevelFilter(Level::Trace as u8)),
                },
            };
            match target {
                None => f.default = Some(level),
                Some("") => return Err(bad("empty target before `=`")),
                Some(t) if !valid_target(t) => {
                    return Err(bad(
                        "a target is a path such as `orders` or `net::conn` (letters, digits, \
                         `_`, `-`, `.` and `::`)",
                    ));
                }
                Some(t) => {
                    // A later directive for the same target replaces the earlier one.
                    f.targets.retain(|(x, _)| x != t);
                    f.targets.push((t.to_owned(), level));
                }
            }
        }
        // Longest first: the first match is the most specific. Stable, so ties keep order.
        f.targets.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(f)
    }

    /// A filter that keeps `level` and more important levels for every target.
    pub fn level(level: Level) -> Filter {
        Filter {
            default: Some(LevelFilter(level as u8)),
            targets: Vec::new(),
        }
    }

    /// Whether a record of `level` from `target` passes (`default` applies where the filter
    /// has no bare level).
    pub(crate) fn enabled_or(&self, target: &str, level: Level, default: u8) -> bool {
        let max = self
            .targets
            .iter()
            .find(|(t, _)| target_matches(t, target))
            .map_or(self.default.map_or(default, |l| l.0), |(_, l)| l.0);
        level as u8 <= max
    }

    /// Whether a record of `level` from `target` passes. Targets no directive names use the
    /// bare level, or `error` if there is none (as `RUST_LOG` does).
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        self.enabled_or(target, level, Level::Error as u8)
    }

    /// The most verbose level any target can have: the global ceiling checked before the call
    /// site's cached decision.
    pub(crate) fn max_level(&self, default: u8) -> u8 {
        self.targets
            .iter()
            .map(|(_, l)| l.0)
            .chain([self.default.map_or(default, |l| l.0)])
            .max()
            .unwrap_or(0)
    }
}

impl std::str::FromStr for Filter {
    type Err = Error;
    fn from_str(s: &str) -> Result<Filter, Error> {
        Filter::parse(s)
    }
}

fn valid_target(t: &str) -> bool {
    !t.starts_with(':')
        && !t.ends_with(':')
        && t.split("::").all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
}

/// `directive` names `target` or one of its ancestors on a `::` boundary.
fn target_matches(directive: &str, target: &str) -> bool {
    match target.strip_prefix(directive) {
        Some(rest) => rest.is_empty() || rest.starts_with("::"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_target_wins_and_default_applies_elsewhere() {
        let f = Filter::parse("info,orders=debug,orders::book=warn,net::conn=off").unwrap();
        assert!(f.enabled("orders", Level::Debug));
        assert!(!f.enabled("orders", Level::Trace));
        assert!(f.enabled("orders::fill", Level::Debug));
        assert!(!f.enabled("orders::book", Level::Info));
        assert!(f.enabled("orders::book::deep", Level::Warn));
        assert!(!f.enabled("net::conn", Level::Error));
        assert!(f.enabled("net", Level::Info));
        assert!(!f.enabled("net", Level::Debug));
        assert!(f.enabled("other", Level::Info));
        assert!(!f.enabled("other", Level::Debug));
        assert_eq!(f.max_level(3), Level::Debug as u8);
    }

    #[test]
    fn targets_match_on_path_boundaries_only() {
        let f = Filter::parse("error,net=trace").unwrap();
        assert!(f.enabled("net::conn", Level::Trace));
        assert!(!f.enabled("network", Level::Info), "prefix without ::");
        assert!(!f.enabled("ne", Level::Info));
    }

    #[test]
    fn bare_target_means_every_level_and_no_default_means_error() {
        let f = Filter::parse("orders").unwrap();
        assert!(f.enabled("orders", Level::Trace));
        assert!(f.enabled("misc", Level::Error));
        assert!(!f.enabled("misc", Level::Warn));
        assert_eq!(f.default, None);
        // The engine supplies its own default where the filter has none.
        assert!(f.enabled_or("misc", Level::Info, Level::Info as u8));
    }

    #[test]
    fn levels_are_case_insensitive_and_later_directives_replace_earlier() {
        let f = Filter::parse(" WARN , a=Info, a=TRACE ,,").unwrap();
        assert!(f.enabled("a", Level::Trace));
        assert!(f.enabled("b", Level::Warn));
        assert!(!f.enabled("b", Level::Info));
        assert_eq!(f, Filter::parse("warn,a=trace").unwrap());
        let off = Filter::parse("off").unwrap();
        assert!(!off.enabled("x", Level::Error));
        assert_eq!(off.max_level(3), 0);
    }

    #[test]
    fn invalid_directives_are_named() {
        for (spec, bad, why) in [
            ("info,orders=loud", "orders=loud", "unknown level"),
            ("=debug", "=debug", "empty target"),
            ("info,a[span]=debug", "a[span]=debug", "span and field"),
            ("a{x=1}", "a{x=1}", "span and field"),
            ("info/foo", "info/foo", "regular-expression"),
            ("my target=info", "my target=info", "a target is a path"),
            ("a:::b=info", "a:::b=info", "a target is a path"),
            ("a::=info", "a::=info", "a target is a path"),
        ] {
            match Filter::parse(spec) {
                Err(Error::Filter { directive, reason }) => {
                    assert_eq!(directive, bad, "{spec}");
                    assert!(reason.contains(why), "{spec}: {reason}");
                }
                other => panic!("{spec}: {other:?}"),
            }
        }
        let msg = Filter::parse("x=nope").unwrap_err().to_string();
        assert!(msg.contains("`x=nope`"), "{msg}");
    }
}
