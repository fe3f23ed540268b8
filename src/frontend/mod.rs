//! The producing side, on the application's threads: call sites registered once, the encoding
//! of arguments, the per-thread producer that writes records into its ring, and sampling.
//! Nothing here does I/O or takes a lock after a thread's first record.
pub(crate) mod callsite;
pub(crate) mod eager;
pub(crate) mod encode;
pub(crate) mod producer;
pub(crate) mod sampling;
