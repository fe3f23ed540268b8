//! The clock the benchmarks time with: the time-stamp counter, its rate, and its resolution.
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Reads the time-stamp counter (x86-64) or a monotonic nanosecond clock elsewhere. The compiler
/// fences keep the timed code between two readings.
#[inline(always)]
pub fn ticks() -> u64 {
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `rdtsc` exists on every x86-64 processor and has no memory effects.
    let t = unsafe { core::arch::x86_64::_rdtsc() };
    #[cfg(not(target_arch = "x86_64"))]
    let t = {
        static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
    };
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
    t
}

/// Ticks per nanosecond, measured once against the monotonic clock over `span`.
pub fn calibrate(span: Duration) -> f64 {
    let (i0, t0) = (Instant::now(), ticks());
    std::thread::sleep(span);
    let (i1, t1) = (Instant::now(), ticks());
    (t1 - t0) as f64 / (i1 - i0).as_nanos() as f64
}

/// The smallest step the tick counter takes between two back-to-back reads, in ticks. Some
/// virtual machines and processors advance the counter in coarse steps: single-call times are
/// then multiples of this, and only means (the burst-of-20 columns) resolve finer.
pub fn tick_step() -> u64 {
    let mut step = u64::MAX;
    for _ in 0..100_000 {
        let (a, b) = (ticks(), ticks());
        if b > a {
            step = step.min(b - a);
        }
    }
    step
}
