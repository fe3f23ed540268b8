//! Machinery that exists for tests: fault-injection hooks (cargo feature `fault-injection`; the
//! hook points are empty inline functions otherwise) and the loom models' harness (`--cfg loom`
//! builds only). Production modules call nothing here but the fault hook points.
pub mod fault;
#[cfg(loom)]
pub mod loom;
#[cfg(loom)]
pub(crate) mod memory;
