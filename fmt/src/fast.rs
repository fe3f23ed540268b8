//! The common case of rendering, without `std::fmt`: a plain `{}` (no width, precision, sign
//! or `#`) of a number, `bool`, `char` or string. Integers go through `itoa` and floats through
//! `zmij` (shortest round-trip digits, as `std` prints them), then are laid out the way
//! `Display` lays them out. The output is byte-identical to `format!("{}", v)`; the tests
//! compare the two on millions of values.
use crate::Value;

/// Appends `v` as `format!("{}", v)` writes it, and returns true; returns false (writing
/// nothing) for the values `{}` does not apply to (`None`, `Some`).
#[inline]
pub(crate) fn display(out: &mut String, v: &Value<'_>) -> bool {
    match v {
        Value::U8(x) => int(out, *x),
        Value::U16(x) => int(out, *x),
        Value::U32(x) => int(out, *x),
        Value::U64(x) => int(out, *x),
        Value::U128(x) => int(out, *x),
        Value::I8(x) => int(out, *x),
        Value::I16(x) => int(out, *x),
        Value::I32(x) => int(out, *x),
        Value::I64(x) => int(out, *x),
        Value::I128(x) => int(out, *x),
        Value::F32(x) => display_f32(out, *x),
        Value::F64(x) => display_f64(out, *x),
        Value::Bool(x) => out.push_str(if *x { "true" } else { "false" }),
        Value::Char(c) => out.push(*c),
        Value::Str(s) | Value::Pre(s) | Value::Formatted(s) => out.push_str(s),
        Value::None | Value::Some(_) => return false,
    }
    true
}

#[inline]
fn int(out: &mut String, v: impl itoa::Integer) {
    crate::push_short(out, itoa::Buffer::new().format(v));
}

/// Appends `x` as `format!("{x}")` writes it: the shortest digits that read back as `x`,
/// never in exponent form (`1e300` is written out in full, `1e-7` as `0.0000001`), no
/// fractional part for integral values, `NaN`, `inf`, `-inf`, and `-0` for negative zero.
pub(crate) fn display_f64(out: &mut String, x: f64) {
    if x == 0.0 || !x.is_finite() {
        return special(out, x.is_nan(), x.is_sign_negative(), x == 0.0);
    }
    let bits = x.to_bits();
    let (frac, exp) = (bits & ((1 << 52) - 1), ((bits >> 52) & 0x7ff) as i32);
    let exact = match exp {
        0 => (frac, -1074),
        _ => (frac | 1 << 52, exp - 1075),
    };
    finish(out, zmij::Buffer::new().format_finite(x), exact);
}

/// Appends `x` as `format!("{x}")` writes it (see [`display_f64`]).
pub(crate) fn display_f32(out: &mut String, x: f32) {
    if x == 0.0 || !x.is_finite() {
        return special(out, x.is_nan(), x.is_sign_negative(), x == 0.0);
    }
    let bits = x.to_bits();
    let (frac, exp) = (
        u64::from(bits & ((1 << 23) - 1)),
        ((bits >> 23) & 0xff) as i32,
    );
    let exact = match exp {
        0 => (frac, -149),
        _ => (frac | 1 << 23, exp - 150),
    };
    finish(out, zmij::Buffer::new().format_finite(x), exact);
}

/// Writes `zmij`'s output `s` of the number `exact` (`mantissa × 2^exponent`) as `Display`
/// writes it. Without an exponent, `zmij` and `Display` lay digits out alike, except that
/// `zmij` ends an integral value with `.0`; a possible tie (see [`plain`]) and an exponent go
/// the general way.
#[inline]
fn finish(out: &mut String, s: &str, exact: (u64, i32)) {
    let b = s.as_bytes();
    let mut dot = usize::MAX;
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' {
            dot = i;
        } else if c == b'e' {
            return plain(out, s, exact);
        }
    }
    // `k`: the power of ten of the last significant digit.
    let (body, k) = match b.last() {
        Some(b'0') if dot + 2 == b.len() => {
            let int = &s[..dot];
            let zeros = int.bytes().rev().take_while(|&c| c == b'0').count();
            (int, zeros as i32)
        }
        Some(&c) if c != b'0' && dot < b.len() => (s, -((b.len() - dot - 1) as i32)),
        _ => return plain(out, s, exact),
    };
    let (m, q) = exact;
    // A tie needs `q + trailing zeros of m == k - 1` (see `tie_below`).
    if q + m.trailing_zeros() as i32 != k - 1 {
        crate::push_short(out, body);
        return;
    }
    plain(out, s, exact);
}

#[cold]
fn special(out: &mut String, nan: bool, negative: bool, zero: bool) {
    out.push_str(match (nan, negative, zero) {
        (true, ..) => "NaN",
        (false, false, true) => "0",
        (false, true, true) => "-0",
        (false, false, false) => "inf",
        (false, true, false) => "-inf",
    });
}

const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn zeros(out: &mut String, mut n: usize) {
    while n > 0 {
        let k = n.min(ZEROS.len());
        out.push_str(&ZEROS[..k]);
        n -= k;
    }
}

/// Lays out a finite, non-zero number written as `[-]d[.ddd][e[+|-]n]` (the form `zmij`
/// writes, with at most 17 significant digits) the way `Display` does. `exact` is the number's
/// binary value, `mantissa × 2^exponent`.
///
/// Both `zmij` and `std` print the shortest digits that read back as the number, and of those
/// the closest to it. They differ on an exact tie (the number lies exactly halfway between two
/// shortest candidates, as `-1145807.25f32` does between `…7.2` and `…7.3`): `zmij` takes the
/// even one, `std` the one of larger magnitude. Such a tie is recognised exactly, in integer
/// arithmetic, and the digits are rounded up to agree with `std`.
fn plain(out: &mut String, s: &str, exact: (u64, i32)) {
    let b = s.as_bytes();
    let (neg, b) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let (mant, exp) = match b.iter().position(|&c| c == b'e') {
        Some(i) => (&b[..i], parse_exp(&b[i + 1..])),
        None => (b, 0),
    };
    // The significant digits, and where the decimal point goes among them: the value is
    // 0.DIGITS × 10^point.
    let mut digits = [0u8; 40];
    let mut n = 0;
    let mut point: i32 = 0;
    let mut seen_point = false;
    for &c in mant {
        if c == b'.' {
            seen_point = true;
            continue;
        }
        if n == 0 && c == b'0' {
            // A leading zero moves the point left if it stands after it.
            if seen_point {
                point -= 1;
            }
            continue;
        }
        if !seen_point {
            point += 1;
        }
        if n < digits.len() {
            digits[n] = c;
            n += 1;
        }
    }
    while n > 0 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let mut point = point + exp;
    if n > 0 && n <= 18 && tie_below(&digits[..n], point - n as i32, exact) {
        // Round the last digit up (a carry is impossible: the tied digits end in an even
        // digit, but it is handled anyway).
        let mut i = n;
        loop {
            if i == 0 {
                digits.copy_within(0..n, 1);
                digits[0] = b'1';
                n += 1;
                point += 1;
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
        while n > 0 && digits[n - 1] == b'0' {
            n -= 1;
        }
    }
    let digits = &digits[..n];
    if neg {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        zeros(out, point.unsigned_abs() as usize);
        out.push_str(text(digits));
    } else if (point as usize) < n {
        let (int, frac) = digits.split_at(point as usize);
        out.push_str(text(int));
        out.push('.');
        out.push_str(text(frac));
    } else {
        out.push_str(text(digits));
        zeros(out, point as usize - n);
    }
}

/// Whether the binary value `m × 2^q` (`exact`) equals `(D + ½) × 10^k` exactly, where `D` is
/// the integer the ASCII `digits` spell (at most 18 of them).
fn tie_below(digits: &[u8], k: i32, (m, q): (u64, i32)) -> bool {
    // Make `m` odd: then `m × 2^q = (2D + 1) × 5^k × 2^(k - 1)` with `2D + 1` odd holds only
    // if the powers of two agree, `q = k - 1`, and the odd parts do.
    let tz = m.trailing_zeros();
    let (m, q) = (m >> tz, q + tz as i32);
    if q != k - 1 {
        return false;
    }
    let d = digits
        .iter()
        .fold(0u128, |d, &c| d * 10 + u128::from(c - b'0'));
    let twice = 2 * d + 1;
    // 5^27 < 2^63 and both sides stay below 2^128; larger powers cannot match a 53-bit `m`
    // nor an 18-digit `2D + 1`.
    if k.unsigned_abs() > 27 {
        return false;
    }
    let p = 5u128.pow(k.unsigned_abs());
    if k >= 0 {
        u128::from(m) == twice * p
    } else {
        u128::from(m) * p == twice
    }
}

/// Digits are ASCII, so every slice of them is valid UTF-8.
fn text(d: &[u8]) -> &str {
    std::str::from_utf8(d).unwrap_or_default()
}

fn parse_exp(b: &[u8]) -> i32 {
    let (neg, b) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    let v = b
        .iter()
        .fold(0i32, |v, &c| v.saturating_mul(10) + i32::from(c - b'0'));
    if neg { -v } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64s(x: f64) -> String {
        let mut s = String::new();
        display_f64(&mut s, x);
        s
    }

    fn f32s(x: f32) -> String {
        let mut s = String::new();
        display_f32(&mut s, x);
        s
    }

    /// xorshift64*, seeded: the same values on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    fn long() -> bool {
        std::env::var_os("TACHYLOG_LONG").is_some_and(|v| v != "0")
    }

    #[test]
    fn special_and_edge_values_equal_std() {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1.0,
            -1.0,
            0.1,
            0.3,
            1.5,
            100.0,
            123_456.0,
            1e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e23,
            1e300,
            1e-4,
            1e-5,
            1e-7,
            1e-300,
            9_007_199_254_740_992.0,
            9_007_199_254_740_993.0,
            0.1 + 0.2,
            5e-324,
        ];
        for e in -330..=310 {
            xs.push(10f64.powi(e));
            xs.push(-(10f64.powi(e)) * 1.5);
            xs.push(2f64.powi(e * 3));
        }
        for x in xs {
            assert_eq!(f64s(x), format!("{x}"), "{x:e} ({:#x})", x.to_bits());
            let y = x as f32;
            assert_eq!(f32s(y), format!("{y}"), "{y:e} ({:#x})", y.to_bits());
        }
    }

    #[test]
    fn exact_ties_round_as_std_does() {
        // Halfway between two shortest candidates: `std` takes the larger magnitude.
        // -1145807.25 and 1394865425023536.25, exactly.
        let (a, b) = (
            f32::from_bits(0xc98b_de7a),
            f64::from_bits(0x4313_d27d_a8ac_08c1),
        );
        assert_eq!((a * 4.0, b * 4.0), (-4_583_229.0, 5_579_461_700_094_145.0));
        assert_eq!(f32s(a), "-1145807.3");
        assert_eq!(f64s(b), "1394865425023536.3");
        // Numbers with a short exact binary fraction near the precision limit, where ties
        // are common: quarters and eighths of large integers.
        for i in 0..20_000u64 {
            for (base, scale) in [(1u64 << 50, 0.25), (1 << 51, 0.125), (1 << 49, 0.5)] {
                let x = (base + i * 7919) as f64 * scale;
                assert_eq!(f64s(x), format!("{x}"), "{:#x}", x.to_bits());
                assert_eq!(f64s(-x), format!("{}", -x), "{:#x}", x.to_bits());
            }
            for (base, scale) in [(1u32 << 21, 0.25f32), (1 << 22, 0.125), (1 << 20, 0.5)] {
                let x = (base + i as u32 * 37) as f32 * scale;
                assert_eq!(f32s(x), format!("{x}"), "{:#x}", x.to_bits());
            }
        }
    }

    #[test]
    fn random_f64_bit_patterns_equal_std() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let n = if long() { 20_000_000 } else { 300_000 };
        let (mut a, mut b) = (String::new(), String::new());
        for _ in 0..n {
            let x = f64::from_bits(rng.next());
            a.clear();
            b.clear();
            display_f64(&mut a, x);
            std::fmt::Write::write_fmt(&mut b, format_args!("{x}")).unwrap();
            assert_eq!(a, b, "{:#x}", x.to_bits());
            // The renderers write numbers unescaped on the strength of this.
            assert!(crate::is_plain_text(&a), "{a}");
        }
    }

    #[test]
    fn random_decimal_like_f64_equal_std() {
        // Values people log: few digits, a range of magnitudes, results of arithmetic.
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let n = if long() { 10_000_000 } else { 200_000 };
        for _ in 0..n {
            let r = rng.next();
            let m = (r >> 20) % 10_000_000;
            let e = (r % 40) as i32 - 20;
            for x in [
                m as f64 * 10f64.powi(e),
                m as f64 / 1000.0,
                (r >> 11) as f64 * 0.25,
                (m as f64).sqrt(),
                -(m as f64) * 0.1,
            ] {
                assert_eq!(f64s(x), format!("{x}"), "{:#x}", x.to_bits());
            }
        }
    }

    #[test]
    fn f32_equals_std() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let (step, n) = if long() { (1, u32::MAX) } else { (0, 300_000) };
        if step == 1 {
            // Every f32 there is.
            for bits in 0..=u32::MAX {
                let x = f32::from_bits(bits);
                assert_eq!(f32s(x), format!("{x}"), "{bits:#x}");
            }
            return;
        }
        for _ in 0..n {
            let x = f32::from_bits(rng.next() as u32);
            assert_eq!(f32s(x), format!("{x}"), "{:#x}", x.to_bits());
        }
    }

    #[test]
    fn push_short_appends_exactly_what_push_str_does() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789-é€𝄞.";
        for start in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            for end in (start..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                let piece = &text[start..end];
                // Onto empty, short and long strings, at and beyond their capacity.
                for prefix in ["", "x", "0123456789abcdefg"] {
                    let mut a = String::from(prefix);
                    let mut b = a.clone();
                    a.shrink_to_fit();
                    crate::push_short(&mut a, piece);
                    b.push_str(piece);
                    assert_eq!(a, b, "{piece:?} after {prefix:?}");
                    crate::push_short(&mut a, piece);
                    b.push_str(piece);
                    assert_eq!(a, b);
                }
            }
        }
    }

    #[test]
    fn not_plain_mask_flags_exactly_the_words_with_a_byte_that_is_not_plain_text() {
        for filler in [b'a', b' ', b'~', b'!', b'#', b'[', b']'] {
            for b in 0..=255u8 {
                let special = b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f;
                for at in 0..8 {
                    let mut w = [filler; 8];
                    w[at] = b;
                    assert_eq!(
                        crate::not_plain_mask(u64::from_le_bytes(w)) != 0,
                        special,
                        "{b:#x} at {at}"
                    );
                }
            }
        }
        // Whole strings, across the eight-byte steps and the padded tail.
        let long = "0123456789abcdefghijklmnopqrstuvwxyz";
        for len in 0..=long.len() {
            assert!(crate::is_plain_text(&long[..len]));
            for at in 0..len {
                for bad in ["\"", "\\", "\n", "\u{7f}", "é"] {
                    let s = format!("{}{bad}{}", &long[..at], &long[at + 1..len]);
                    assert!(!crate::is_plain_text(&s), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn plain_text_is_printable_ascii_without_quote_or_backslash() {
        assert!(crate::is_plain_text("Logging int: , double: ~{}[]'`!"));
        assert!(crate::is_plain_text(""));
        for bad in [
            "a\"b", "a\\b", "tab\t", "nl\n", "del\x7f", "é", "\u{2028}", "\u{85}",
        ] {
            assert!(!crate::is_plain_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_value_kind_equals_std() {
        let vals = [
            (Value::U8(255), "255".to_string()),
            (Value::U128(u128::MAX), u128::MAX.to_string()),
            (Value::I8(-128), "-128".to_string()),
            (Value::I64(i64::MIN), i64::MIN.to_string()),
            (Value::I128(i128::MIN), i128::MIN.to_string()),
            (Value::U16(0), "0".to_string()),
            (Value::U32(4_000_000_000), "4000000000".to_string()),
            (Value::U64(u64::MAX), u64::MAX.to_string()),
            (Value::I16(-300), "-300".to_string()),
            (Value::I32(i32::MIN), i32::MIN.to_string()),
            (Value::Bool(false), "false".to_string()),
            (Value::Char('é'), "é".to_string()),
            (Value::Str("a\"b\n"), "a\"b\n".to_string()),
            (Value::Pre("pre"), "pre".to_string()),
            (Value::F32(0.1), format!("{}", 0.1f32)),
            (Value::F64(-2.5e-8), format!("{}", -2.5e-8f64)),
        ];
        for (v, want) in vals {
            let mut s = String::new();
            assert!(display(&mut s, &v), "{v:?}");
            assert_eq!(s, want);
            if crate::Plain::writes_plain_text(&v) {
                assert!(crate::is_plain_text(&s), "{v:?}");
            }
        }
        // Numbers and `bool` are plain text whatever their value; text when it is.
        assert!(crate::Plain::writes_plain_text(&Value::F64(f64::NAN)));
        assert!(crate::Plain::writes_plain_text(&Value::I128(i128::MIN)));
        assert!(crate::Plain::writes_plain_text(&Value::Str("GET /a?b=1")));
        assert!(crate::Plain::writes_plain_text(&Value::Char('a')));
        for text in ["a\"b", "a\\b", "tab\t", "é"] {
            assert!(
                !crate::Plain::writes_plain_text(&Value::Str(text)),
                "{text:?}"
            );
            assert!(
                !crate::Plain::writes_plain_text(&Value::Pre(text)),
                "{text:?}"
            );
        }
        for c in ['"', '\\', '\n', 'é', '\u{2028}', '\u{7f}'] {
            assert!(!crate::Plain::writes_plain_text(&Value::Char(c)), "{c:?}");
        }
        for x in [
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            -0.0,
            1e300,
            -1e-300,
        ] {
            assert!(crate::is_plain_text(&f64s(x)), "{x}");
        }
        let mut s = String::new();
        assert!(!display(&mut s, &Value::None));
        assert!(!display(&mut s, &Value::Some(Box::new(Value::U8(1)))));
        assert!(s.is_empty());
    }
}
