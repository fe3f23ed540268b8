use std::path::PathBuf;

/// What can go wrong when starting or driving the logger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `init` was called while a logger from an earlier `init` is still running.
    #[error(
        "tachylog is already initialised in this process (drop the first Guard before calling init again)"
    )]
    AlreadyInitialized,
    /// A file or directory could not be created or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A `Builder` setting is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// No logger is running.
    #[error("tachylog is not initialised")]
    NotInitialized,
    /// A wait ran past its deadline.
    #[error("timed out after {0:?} waiting for the drain thread")]
    Timeout(std::time::Duration),
    /// The drain thread has stopped (it panicked or the logger was shut down).
    #[error("the drain thread is not running")]
    DrainStopped,
    /// A filter directive (in `Builder::filter`, `set_filter` or `TACHYLOG_LOG`) is invalid.
    #[error("invalid filter directive `{directive}`: {reason}")]
    Filter {
        /// The directive, as written.
        directive: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An environment variable read by `Builder::from_env` holds a value that does not parse.
    #[error("invalid value {value:?} in environment variable {var}: {reason}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `bridge::log::init`: another logger is already installed in the `log` crate.
    #[cfg(feature = "log")]
    #[error("another logger is already installed in the `log` crate (it allows one per process)")]
    LogLoggerSet,
}
