//! Time stamps: from a tick reading and a clock anchor to wall-clock time.

/// A record's time: its tick reading converted to Unix nanoseconds through a clock anchor
/// (`anchor_ticks` read at `anchor_unix_ns`) and the tick rate, as `docs/FORMAT.md` defines it
/// (`unix_ns + (ticks - anchor.ticks) * 1e9 / ticks_per_sec`, rounded to the nearest
/// nanosecond, halves away from zero, saturating). A rate that is not a positive number is
/// taken as 1e9.
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
