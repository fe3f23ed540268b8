//! RFC 3339 timestamps, fast: the date part is computed once per day and the time of day once
//! per second, and reused; the fraction is written two digits at a time straight into the
//! output.

/// Writes `2026-11-23T06:22:20.123456789Z` (UTC, nine fractional digits), caching the date
/// and, for the records of one second, everything up to the fraction.
#[derive(Debug, Clone)]
pub struct Rfc3339 {
    day: i64,
    date: [u8; 11],
    /// The second `head` is for (`i64::MIN`: none).
    sec: i64,
    /// `2026-11-23T06:22:20.`
    head: [u8; 20],
}

impl Default for Rfc3339 {
    fn default() -> Self {
        Rfc3339 {
            day: i64::MIN,
            date: [0; 11],
            sec: i64::MIN,
            head: [0; 20],
        }
    }
}

/// `00` to `99`, two ASCII digits each.
static PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

fn two(out: &mut [u8], v: i64) {
    out[0] = b'0' + (v / 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

impl Rfc3339 {
    /// Appends the timestamp of `unix_ns` (nanoseconds since the Unix epoch) to `out`.
    pub fn write(&mut self, out: &mut Vec<u8>, unix_ns: i64) {
        let secs = unix_ns.div_euclid(1_000_000_000);
        let nanos = unix_ns.rem_euclid(1_000_000_000) as u32;
        if secs != self.sec && !self.new_second(secs) {
            // Four-digit years only in the cache; others take the general path.
            out.extend_from_slice(rfc3339(unix_ns).as_bytes());
            return;
        }
        // Nine digits as 1 + 4 × 2.
        let (hi, lo) = (nanos / 100_000_000, nanos % 100_000_000);
        let (a, b) = (lo / 1_000_000, lo % 1_000_000);
        let (c, d) = (b / 10_000, b % 10_000);
        let (e, f) = (d / 100, d % 100);
        let mut t = [0u8; 30];
        t[..20].copy_from_slice(&self.head);
        t[20] = b'0' + hi as u8;
        t[21..23].copy_from_slice(&PAIRS[a as usize]);
        t[23..25].copy_from_slice(&PAIRS[c as usize]);
        t[25..27].copy_from_slice(&PAIRS[e as usize]);
        t[27..29].copy_from_slice(&PAIRS[f as usize]);
        t[29] = b'Z';
        out.extend_from_slice(&t);
    }

    /// Prepares `head` for the second `secs`; false if its year has not four digits.
    fn new_second(&mut self, secs: i64) -> bool {
        let day = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        if day != self.day {
            let (y, m, d) = civil_from_days(day);
            if !(0..=9999).contains(&y) {
                return false;
            }
            self.day = day;
            let b = &mut self.date;
            two(&mut b[0..2], y / 100);
            two(&mut b[2..4], y % 100);
            b[4] = b'-';
            two(&mut b[5..7], m);
            b[7] = b'-';
            two(&mut b[8..10], d);
            b[10] = b'T';
        }
        self.sec = secs;
        let h = &mut self.head;
        h[..11].copy_from_slice(&self.date);
        two(&mut h[11..13], sod / 3600);
        h[13] = b':';
        two(&mut h[14..16], sod % 3600 / 60);
        h[16] = b':';
        two(&mut h[17..19], sod % 60);
        h[19] = b'.';
        true
    }
}

/// The (year, month, day) of a day count since 1970-01-01, in the proleptic Gregorian calendar
/// (H. Hinnant's civil-from-days algorithm). Shared by [`rfc3339`] and [`Rfc3339`].
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Formats Unix nanoseconds as RFC 3339 in UTC with nine fractional digits
/// (`2026-11-23T06:22:20.123456789Z`).
pub fn rfc3339(unix_ns: i64) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nanos = unix_ns.rem_euclid(1_000_000_000);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(
            rfc3339(1_795_418_540_123_456_789),
            "2026-11-23T07:22:20.123456789Z"
        );
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            rfc3339(4_102_444_800_000_000_000),
            "2100-01-01T00:00:00.000000000Z"
        );
    }

    #[test]
    fn equals_the_reference_formatter_across_days_and_eras() {
        let mut f = Rfc3339::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut samples = vec![0, -1, 1, 951_782_400_000_000_001, i64::MAX, i64::MIN];
        for _ in 0..20_000 {
            // xorshift: spread over ±300 years, and then neighbours of the same day.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = ((x % 18_000_000_000_000_000_000) as i128 - 9_000_000_000_000_000_000) as i64;
            samples.push(v);
            samples.push(v.saturating_add(1_000_000_007));
            // Within the same second, mostly (the cached head is reused).
            samples.push(v.saturating_add((x % 1000) as i64));
            samples.push(v.saturating_sub((x % 1_000_000) as i64));
        }
        for v in samples {
            let mut out = Vec::new();
            f.write(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), rfc3339(v), "{v}");
        }
    }
}
