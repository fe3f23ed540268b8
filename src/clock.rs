//! The hot path's clock: the time-stamp counter on x86-64, a monotonic clock elsewhere.
//!
//! Ticks are converted to wall-clock time at decode time from anchors `(ticks, unix_ns,
//! ticks_per_sec)` that the drain writes into every segment header and periodically as frames.
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

/// Converts a tick reading to Unix nanoseconds through an anchor and rate (decoder side).
pub fn to_unix_ns(ticks: u64, anchor_ticks: u64, anchor_unix_ns: u64, ticks_per_sec: f64) -> i64 {
    let tps = if ticks_per_sec.is_finite() && ticks_per_sec > 0.0 {
        ticks_per_sec
    } else {
        1e9
    };
    // The offset from the anchor is small, so f64 keeps it exact to the nanosecond; the anchor
    // itself (~1.8e18) would not survive a round trip through f64, so it is added as an integer.
    // The signed offset, correctly rounded to `f64` (conversion rounds to nearest, even on
    // ties, which is symmetric: negating after converting is converting after negating).
    let delta = if ticks >= anchor_ticks {
        (ticks - anchor_ticks) as f64
    } else {
        -((anchor_ticks - ticks) as f64)
    };
    let delta_ns = round_to_i64(delta * 1e9 / tps);
    (anchor_unix_ns.min(i64::MAX as u64) as i64).saturating_add(delta_ns)
}

/// `x.round() as i64` (halves away from zero, saturating), without the library call that
/// `f64::round` is on baseline x86-64: the decoder does this once per record.
#[inline]
fn round_to_i64(x: f64) -> i64 {
    // From 2^52 on every f64 is an integer; `as` saturates (and maps NaN to 0) as before.
    if x.is_nan() || x.abs() >= (1u64 << 52) as f64 {
        return x as i64;
    }
    let t = x as i64; // towards zero, exact
    let frac = x - t as f64; // exact: both are below 2^52 in magnitude
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
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

    /// The conversion as first written (128-bit offset, `f64::round`, clamp): the fast one
    /// must give the same nanosecond for every input.
    fn to_unix_ns_reference(ticks: u64, anchor: u64, anchor_ns: u64, tps: f64) -> i64 {
        let tps = if tps.is_finite() && tps > 0.0 {
            tps
        } else {
            1e9
        };
        let delta = (ticks as i128 - anchor as i128) as f64;
        let delta_ns = (delta * 1e9 / tps).round();
        let delta_ns = delta_ns.clamp(i64::MIN as f64, i64::MAX as f64) as i64;
        (anchor_ns.min(i64::MAX as u64) as i64).saturating_add(delta_ns)
    }

    #[test]
    fn fast_conversion_equals_the_reference_one() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let rates = [
            1e9,
            2.5e9,
            2_999_999_997.3,
            1e6,
            1e18,
            3.0,
            0.0,
            f64::NAN,
            -1.0,
        ];
        for i in 0..2_000_000u64 {
            let anchor = next();
            // Offsets near the anchor (the common case), then anywhere.
            let ticks = match i % 4 {
                0 => anchor.wrapping_add(next() % 1_000_000_000_000),
                1 => anchor.wrapping_sub(next() % 1_000_000),
                2 => anchor.wrapping_add(next() % 16),
                _ => next(),
            };
            let ns = next() >> (next() % 64);
            let tps = rates[(i % rates.len() as u64) as usize] * (1.0 + (i % 7) as f64 * 1e-9);
            assert_eq!(
                to_unix_ns(ticks, anchor, ns, tps),
                to_unix_ns_reference(ticks, anchor, ns, tps),
                "ticks {ticks} anchor {anchor} ns {ns} tps {tps}"
            );
        }
        // Exact halves round away from zero, on both sides of the anchor.
        for (t, a) in [(3, 0), (0, 3), (1, 0), (0, 1)] {
            assert_eq!(
                to_unix_ns(t, a, 100, 2e9),
                to_unix_ns_reference(t, a, 100, 2e9)
            );
        }
        assert_eq!(to_unix_ns(3, 0, 100, 2e9), 102);
        assert_eq!(to_unix_ns(0, 3, 100, 2e9), 98);
    }

    #[test]
    fn conversion_goes_both_ways_around_the_anchor() {
        assert_eq!(to_unix_ns(2_000, 1_000, 5_000_000, 1e9), 5_001_000);
        assert_eq!(to_unix_ns(500, 1_000, 5_000_000, 2e9), 4_999_750);
        assert_eq!(to_unix_ns(0, 0, 7, f64::NAN), 7);
        // Nanosecond precision survives at present-day magnitudes.
        assert_eq!(
            to_unix_ns(1_001, 1_000, 1_795_418_540_123_456_789, 1e9),
            1_795_418_540_123_456_790
        );
    }

    #[test]
    fn tick_deltas_beyond_i64_still_convert() {
        // Ticks and anchor at opposite ends of u64: the delta only fits in 128 bits.
        assert_eq!(to_unix_ns(u64::MAX, 0, 0, 1e18), 18_446_744_074);
        assert_eq!(
            to_unix_ns(0, u64::MAX, 1 << 62, 1e18),
            (1 << 62) - 18_446_744_074
        );
        // Just inside and just outside i64 on either side agree with each other.
        let a = to_unix_ns(i64::MAX as u64, 0, 0, 1e18);
        let b = to_unix_ns(i64::MAX as u64 + 1, 0, 0, 1e18);
        assert_eq!((a, b), (9_223_372_037, 9_223_372_037));
    }
}
