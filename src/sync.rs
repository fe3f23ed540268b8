//! The one door for cross-thread state.
//!
//! Every atomic, lock and thread the engine shares goes through this module, so that a model
//! checker can later swap in instrumented types without touching the rest of the engine.
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// Locks `m`, ignoring poisoning: the engine's critical sections leave their data consistent
/// at every step, and a panic on one producer thread must not stop logging everywhere else.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
