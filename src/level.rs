/// The importance of a record. `Error` is the most important; a filter set to `Info` keeps
/// `Error`, `Warn` and `Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Something failed.
    Error = 1,
    /// Something is off but work goes on.
    Warn = 2,
    /// Normal operation worth keeping.
    Info = 3,
    /// Detail for developers.
    Debug = 4,
    /// Very fine detail.
    Trace = 5,
}

impl Level {
    /// Upper-case name, as in the decoder's output (`"INFO"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }

    /// The level with this numeric value (1 = `Error` .. 5 = `Trace`).
    pub const fn from_u8(v: u8) -> Option<Level> {
        Some(match v {
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            5 => Level::Trace,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => {
                return Err(format!(
                    "unknown level {s:?} (expected error, warn, info, debug or trace)"
                ));
            }
        })
    }
}

/// The compile-time ceiling chosen with the `max_level_*` / `release_max_level_*` features
/// (as in the `log` crate): levels above it compile to nothing. 0 means off.
pub(crate) const STATIC_MAX_LEVEL: u8 = static_max();

const fn static_max() -> u8 {
    if cfg!(not(debug_assertions)) {
        if cfg!(feature = "release_max_level_off") {
            return 0;
        } else if cfg!(feature = "release_max_level_error") {
            return 1;
        } else if cfg!(feature = "release_max_level_warn") {
            return 2;
        } else if cfg!(feature = "release_max_level_info") {
            return 3;
        } else if cfg!(feature = "release_max_level_debug") {
            return 4;
        } else if cfg!(feature = "release_max_level_trace") {
            return 5;
        }
    }
    if cfg!(feature = "max_level_off") {
        0
    } else if cfg!(feature = "max_level_error") {
        1
    } else if cfg!(feature = "max_level_warn") {
        2
    } else if cfg!(feature = "max_level_info") {
        3
    } else if cfg!(feature = "max_level_debug") {
        4
    } else {
        5
    }
}
