//! Bridges from the `log` and `tracing` ecosystems into tachylog's rings (cargo features `log`
//! and `tracing`, off by default).
//!
//! Both map a record from another crate to a tachylog [`Callsite`](crate::__private::Callsite)
//! created (and leaked, once) the first time that source location is seen, so the decoder shows
//! the original level, target, module, file and line, and the filter set with
//! [`Builder::filter`](crate::Builder::filter) / [`set_filter`](crate::set_filter) applies to them
//! as to the native macros. Each thread caches the mapping, so after a location's first record
//! a thread finds its call site without a lock.
#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tracing")]
pub mod tracing;
