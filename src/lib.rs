//! tachylog: a logging engine whose hot path costs nanoseconds.
#![deny(missing_docs)]

#[macro_use]
mod macros;
mod level;
mod encode;
mod callsite;

pub use level::Level;
pub use encode::{display, debug, Formatted};

#[doc(hidden)]
pub mod __private {
    pub use crate::callsite::{Callsite, Metadata};
    pub use crate::encode::{Encode, Writer};
    pub use crate::Level;
    pub use tachylog_macros::__log;

    /// Whether records of `level` are wanted: the compile-time ceiling, then one relaxed load.
    #[inline(always)]
    pub fn enabled(level: Level) -> bool {
        let _ = level;
        true
    }

    /// Writes one record: `args_size` bytes produced by `encode` (the sum of the arguments'
    /// `Encode::size`), after the record header.
    #[inline(always)]
    pub fn log<F: FnOnce(&mut Writer<'_>)>(cs: &'static Callsite, args_size: usize, encode: F) {
        let _ = (cs, args_size, encode);
    }
}
