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

// Layers, each using only the layers below it (docs/ARCHITECTURE.md; `.ci/check-layers.sh`
// refuses an import cycle):
// L0 sync, clock, level, error · L1 wire, filter · L2 runtime · L3 frontend, storage, reader
// · L4 backend, text · L5 engine, console, crash, env · L6 bridge, testing.
#[macro_use]
mod macros;
mod sync;

mod clock;
mod error;
mod level;

mod filter;
pub mod wire;

mod runtime;

mod frontend;
pub mod reader;
mod storage;

mod backend;
pub mod text;

mod console;
mod crash;
mod engine;
mod env;

#[cfg(any(feature = "log", feature = "tracing"))]
pub mod bridge;
mod testing;

/// The harness the loom models in `loom-tests/` drive (`--cfg loom` builds only).
#[cfg(loom)]
#[doc(hidden)]
pub use testing::loom as __loom;

#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub use testing::fault;

pub use engine::{Builder, Guard, Stats, flush, flush_timeout, set_filter, set_level, stats};
pub use error::Error;
pub use filter::Filter;
pub use frontend::eager::{Debugged, Displayed, debug, display};
pub use frontend::sampling::{SampledCallsite, sampling_stats};
pub use level::Level;
pub use runtime::{Console, Overflow};
pub use storage::compress;
pub use storage::recover;
pub use wire::{file_name as segment_file_name, parse_seq as segment_seq};

#[doc(hidden)]
pub mod __private {
    pub use crate::Level;
    pub use crate::frontend::callsite::{Callsite, Metadata};
    pub use crate::frontend::eager::{Arg, OneSpec, several_specs};
    pub use crate::frontend::encode::{Encode, Formatted, Writer};
    pub use crate::frontend::producer::log;
    pub use crate::frontend::sampling::{limit_per_sec, sample_every};
    pub use tachylog_macros::__log;

    /// Whether records of `level` are wanted: the compile-time ceiling, then one relaxed load.
    #[inline(always)]
    pub fn enabled(level: Level) -> bool {
        (level as u8) <= crate::level::STATIC_MAX_LEVEL
            && (level as u8) <= crate::runtime::MAX_LEVEL.load(crate::sync::Ordering::Relaxed)
    }
}
