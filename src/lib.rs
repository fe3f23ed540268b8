//! tachylog: a logging engine whose hot path costs nanoseconds.
//!
//! A logging macro checks the level, reads the time-stamp counter and copies the raw arguments
//! into the calling thread's own ring buffer; formatting happens later, in the decoder. One
//! background thread moves records into memory-mapped segment files.
//!
//! ```no_run
//! let _guard = tachylog::Builder::new().dir("logs").init()?;
//! let (qty, price) = (3, 101.25);
//! tachylog::info!("bought {qty} at {price:.2}");
//! tachylog::warn!(target: "risk", order = 17, "limit at {}%", 80);
//! tachylog::flush();
//! # Ok::<(), tachylog::Error>(())
//! ```
//!
//! A format string that does not match its arguments is a compile error:
//!
//! ```compile_fail
//! tachylog::info!("{} and {}", 1);
//! ```
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[macro_use]
mod macros;
#[cfg(any(feature = "log", feature = "tracing"))]
pub mod bridge;
mod callsite;
mod clock;
pub mod compress;
mod drain;
mod encode;
mod engine;
mod env;
mod error;
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub mod fault;
#[cfg(not(feature = "fault-injection"))]
mod fault;
mod filter;
mod level;
mod producer;
pub mod reader;
mod retention;
mod ring;
mod sampling;
mod segment;
mod sync;
pub mod wire;

/// The harness the loom models in `loom-tests/` drive (`--cfg loom` builds only).
#[cfg(loom)]
#[doc(hidden)]
#[path = "loom_harness.rs"]
pub mod __loom;

pub use encode::{Formatted, debug, display};
pub use engine::{Builder, Guard, Overflow, Stats, flush, flush_timeout, set_level, stats};
pub use error::Error;
pub use filter::{Filter, set_filter};
pub use level::Level;
pub use sampling::{SampledCallsite, sampling_stats};
pub use wire::{file_name as segment_file_name, parse_seq as segment_seq};

#[doc(hidden)]
pub mod __private {
    pub use crate::Level;
    pub use crate::callsite::{Callsite, Metadata};
    pub use crate::encode::{Encode, Writer};
    pub use crate::producer::log;
    pub use crate::sampling::{limit_per_sec, sample_every};
    pub use tachylog_macros::__log;

    /// Whether records of `level` are wanted: the compile-time ceiling, then one relaxed load.
    #[inline(always)]
    pub fn enabled(level: Level) -> bool {
        (level as u8) <= crate::level::STATIC_MAX_LEVEL
            && (level as u8) <= crate::engine::MAX_LEVEL.load(crate::sync::Ordering::Relaxed)
    }
}
