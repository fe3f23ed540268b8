//! The hot path's clock: the time-stamp counter on x86-64, a monotonic clock elsewhere.
//!
//! Ticks are converted to wall-clock time at decode time from anchors `(ticks, unix_ns,
//! ticks_per_sec)` that the drain writes into every segment header and periodically as frames
//! (the conversion is the format's: `wire::to_unix_ns`).
use crate::sync::MODEL;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Reads the tick counter. On x86-64 this is one `rdtsc` (a few nanoseconds, no syscall).
///
/// Under loom every clock reads 0: a model must be deterministic, and no property it checks
/// depends on time.
#[inline(always)]
pub fn ticks() -> u64 {
    if MODEL {
        return 0;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` exists on every x86-64 processor and has no memory effects.
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        mono_ns()
    }
}

/// Nanoseconds on the monotonic clock since the first call in this process.
pub fn mono_ns() -> u64 {
    if MODEL {
        return 0;
    }
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Nanoseconds since the Unix epoch on the wall clock (0 if the clock is before 1970).
pub fn unix_ns() -> u64 {
    if MODEL {
        return 0;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A pairing of a tick reading with wall-clock and monotonic time, taken as tightly as the
/// machine allows (the tick reading is the midpoint of two readings around the clock calls).
#[derive(Debug, Clone, Copy)]
pub struct Anchor {
    /// Tick counter.
    pub ticks: u64,
    /// Wall clock, nanoseconds since the Unix epoch.
    pub unix_ns: u64,
    /// Monotonic clock, nanoseconds (only used to estimate the tick rate).
    pub mono_ns: u64,
}

impl Anchor {
    /// Takes an anchor now. The clock reads are bracketed by two tick readings; a pair that
    /// was interrupted (a preemption between the readings would skew the estimate by up to
    /// half its length) is discarded, keeping the tightest of a few attempts.
    pub fn now() -> Anchor {
        fn sample() -> (u64, Anchor) {
            let t0 = ticks();
            let mono_ns = mono_ns();
            let unix_ns = unix_ns();
            let t1 = ticks();
            let width = t1.wrapping_sub(t0);
            (
                width,
                Anchor {
                    ticks: t0.wrapping_add(width / 2),
                    unix_ns,
                    mono_ns,
                },
            )
        }
        let mut best = sample();
        for _ in 1..5 {
            let s = sample();
            if s.0 < best.0 {
                best = s;
            }
        }
        best.1
    }
}

/// Estimates the tick rate against the monotonic clock over a growing baseline.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    base: Anchor,
    ticks_per_sec: f64,
}

impl Calibration {
    /// Measures an initial rate by watching the clocks for about `spin` (a millisecond or two).
    pub fn measure(spin: std::time::Duration) -> Calibration {
        let base = Anchor::now();
        if !cfg!(target_arch = "x86_64") || MODEL {
            return Calibration {
                base,
                ticks_per_sec: 1e9,
            };
        }
        let start = Instant::now();
        while start.elapsed() < spin {
            std::hint::spin_loop();
        }
        let mut c = Calibration {
            base,
            ticks_per_sec: 1e9,
        };
        c.refine(&Anchor::now());
        c
    }

    /// Refines the rate with a later anchor (the baseline grows, so the estimate sharpens).
    pub fn refine(&mut self, now: &Anchor) {
        let dn = now.mono_ns.saturating_sub(self.base.mono_ns);
        let dt = now.ticks.wrapping_sub(self.base.ticks);
        if dn >= 500_000 && dt > 0 && dt < (1 << 62) {
            self.ticks_per_sec = dt as f64 * 1e9 / dn as f64;
        }
    }

    /// The current estimate of ticks per second.
    pub fn ticks_per_sec(&self) -> f64 {
        self.ticks_per_sec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_is_plausible_and_ticks_advance() {
        let c = Calibration::measure(std::time::Duration::from_millis(2));
        assert!(
            c.ticks_per_sec() > 1e6 && c.ticks_per_sec() < 1e11,
            "{}",
            c.ticks_per_sec()
        );
        let a = ticks();
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert!(ticks() > a);
    }
}
