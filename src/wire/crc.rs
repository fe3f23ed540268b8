//! CRC-32C arithmetic without the bytes: shifting a checksum past `n` zero bytes in a few
//! multiplications, combining two checksums, and the checksum of any range of a buffer from
//! prefix values kept every [`RangeCrc::STRIDE`] bytes.
//!
//! A reader resynchronising after damage checks a candidate frame at every 8-byte offset, and
//! each claims a payload of its own: checking them byte by byte would cost the claimed length
//! each time, quadratic in the damage. With [`RangeCrc`] a candidate costs at most two partial
//! strides and four multiplications, whatever length it claims.
//!
//! The arithmetic is that of zlib's `crc32_combine`: a CRC register is a polynomial over GF(2)
//! of degree below 32, written reflected (bit 31 is the coefficient of `x^0`, bit 0 that of
//! `x^31`), and appending `n` zero bytes to a message multiplies its CRC by `x^(8n)` modulo the
//! generator (CRC-32C's, `0x1EDC6F41`, reflected `0x82F63B78`). The pre- and post-inversion of
//! the CRC cancel out, so `crc(A ‖ B) = crc(A)·x^(8|B|) ⊕ crc(B)` holds for the finished values.

/// CRC-32C's generator polynomial without its `x^32` term, reflected.
const POLY: u32 = 0x82F6_3B78;

/// The polynomial `1` (`x^0`), reflected.
const ONE: u32 = 1 << 31;

/// `a·b mod POLY`: the carry-less product of the two (63 bits), four bits of `a` at a time from
/// a table of `b`'s sixteen multiples, then its terms from `x^32` up reduced a byte at a time
/// with [`REDUCE`], as a CRC register is moved past zero bytes. Branch-free.
const fn mul(a: u32, b: u32) -> u32 {
    // Bit i of a reflected value is the coefficient of x^(31 - i): in the carry-less product
    // of two as integers, bit k is the coefficient of x^(62 - k).
    let b = b as u64;
    let mut multiples = [0u64; 16];
    let mut m = 1;
    while m < 16 {
        // m·b = (m/2)·b shifted, plus b if m is odd.
        multiples[m] = (multiples[m >> 1] << 1) ^ (b & 0u64.wrapping_sub((m & 1) as u64));
        m += 1;
    }
    let mut c = 0u64;
    let mut k = 0;
    while k < 8 {
        c ^= multiples[((a >> (4 * k)) & 15) as usize] << (4 * k);
        k += 1;
    }
    // Shifted left by one, bits 63..32 are x^0..x^31 (a reflected value as it stands) and
    // bits 31..0 are x^32..x^63: x^32 times the reflected value `low`, which four byte steps
    // of a CRC register reduce.
    let c = c << 1;
    let mut low = c as u32;
    let mut k = 0;
    while k < 4 {
        low = (low >> 8) ^ REDUCE[(low & 0xff) as usize];
        k += 1;
    }
    (c >> 32) as u32 ^ low
}

/// `REDUCE[i]`: eight steps of `r·x` from `r = i`, the table of a reflected CRC-32C register
/// (`(r >> 8) ^ REDUCE[r & 0xff]` is `r·x^8 mod POLY`).
static REDUCE: [u32; 256] = reduce_table();

const fn reduce_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = i as u32;
        let mut k = 0;
        while k < 8 {
            r = times_x(r);
            k += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
}

/// `r·x mod POLY`: the coefficient of x^31 (bit 0) becomes x^32, which is POLY modulo the
/// generator.
const fn times_x(r: u32) -> u32 {
    (r >> 1) ^ (POLY & 0u32.wrapping_sub(r & 1))
}

/// `SHIFT[j][d]` is `x^(8·d·256^j) mod POLY`: the factor that moves a CRC past `d·256^j` zero
/// bytes. A shift by `n` bytes multiplies by one entry per nonzero byte of `n` (at most four
/// for a frame's `u32` length). 8 KiB, computed at compile time.
static SHIFT: [[u32; 256]; 8] = shift_table();

const fn shift_table() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    // x^8: eight places from x^0, reflected.
    let mut step = ONE >> 8;
    let mut j = 0;
    while j < 8 {
        t[j][0] = ONE;
        let mut d = 1;
        while d < 256 {
            t[j][d] = mul(t[j][d - 1], step);
            d += 1;
        }
        // x^(8·256^(j+1)) = x^(8·255·256^j) · x^(8·256^j).
        step = mul(t[j][255], step);
        j += 1;
    }
    t
}

/// `crc·x^(8n) mod POLY`: from the CRC-32C of a message, the CRC-32C of that message followed
/// by `n` zero bytes, XOR the CRC-32C of those `n` zero bytes alone. Costs one multiplication
/// per nonzero byte of `n`.
#[inline]
pub fn shift(mut crc: u32, n: u64) -> u32 {
    let mut j = 0;
    let mut n = n;
    while n != 0 {
        let d = (n & 0xff) as usize;
        if d != 0 {
            crc = mul(SHIFT[j][d], crc);
        }
        n >>= 8;
        j += 1;
    }
    crc
}

/// The CRC-32C of `A ‖ B` from `crc1` = CRC-32C of `A`, `crc2` = CRC-32C of `B`, and `len2` =
/// the length of `B`, as [`crc32c::crc32c_combine`] computes it, in at most eight
/// multiplications and without building anything per call.
#[inline]
pub fn combine(crc1: u32, crc2: u32, len2: u64) -> u32 {
    shift(crc1, len2) ^ crc2
}

/// CRC-32C values of the prefixes of one buffer, every [`RangeCrc::STRIDE`] bytes: with them
/// the CRC-32C of any range of that buffer costs at most two partial strides of bytes and a
/// shift ([`shift`]), not the range's length. Holds `len / 64` bytes for a buffer of `len`
/// bytes; built in one pass over the buffer. Queries whose ranges start a few bytes after the
/// previous one's start (a scan) read only the bytes in between for the start.
///
/// It keeps no reference to the buffer: every query takes the same buffer again (other bytes
/// give wrong checksums, never undefined behaviour).
#[derive(Debug, Clone)]
pub struct RangeCrc {
    /// `prefix[k]` is the CRC-32C of `data[..k * STRIDE]`; `k` up to `len / STRIDE`.
    prefix: Vec<u32>,
    /// Length of the buffer it was built over.
    len: usize,
    /// The last range start queried and the CRC-32C of `data[..start]`: the next start at or
    /// after it, in the same stride or the next, continues from it.
    start: (usize, u32),
}

impl RangeCrc {
    /// Bytes between two stored prefix values.
    pub const STRIDE: usize = 256;

    /// Prefix values of `data`.
    pub fn new(data: &[u8]) -> RangeCrc {
        let mut prefix = Vec::with_capacity(data.len() / Self::STRIDE + 1);
        let mut crc = 0;
        prefix.push(crc);
        for chunk in data.chunks_exact(Self::STRIDE) {
            crc = crc32c::crc32c_append(crc, chunk);
            prefix.push(crc);
        }
        RangeCrc {
            prefix,
            len: data.len(),
            start: (0, 0),
        }
    }

    /// Length of the buffer it was built over.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it was built over an empty buffer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// CRC-32C of `data[..end]`, from the stored value at or below `end`.
    #[inline]
    fn prefix(&self, data: &[u8], end: usize) -> u32 {
        let k = end / Self::STRIDE;
        crc32c::crc32c_append(self.prefix[k], &data[k * Self::STRIDE..end])
    }

    /// [`RangeCrc::prefix`] for the start of a range, from the previous start if that is
    /// nearer; remembered for the next.
    #[inline]
    fn prefix_of_start(&mut self, data: &[u8], start: usize) -> u32 {
        let stored = start / Self::STRIDE * Self::STRIDE;
        let (from, crc) = match self.start {
            (at, crc) if at <= start && at >= stored => (at, crc),
            _ => (stored, self.prefix[start / Self::STRIDE]),
        };
        let crc = crc32c::crc32c_append(crc, &data[from..start]);
        self.start = (start, crc);
        crc
    }

    /// CRC-32C of `data[range]`, `data` being the buffer it was built over. Panics if the range
    /// is out of that buffer's bounds, as slicing would.
    #[inline]
    pub fn crc(&mut self, data: &[u8], range: std::ops::Range<usize>) -> u32 {
        self.append(0, data, range)
    }

    /// CRC-32C of the message whose CRC-32C is `crc`, followed by `data[range]`: what
    /// [`crc32c::crc32c_append`]`(crc, &data[range])` returns, without reading the range.
    /// `data` is the buffer it was built over; panics if the range is out of its bounds.
    #[inline]
    pub fn append(&mut self, crc: u32, data: &[u8], range: std::ops::Range<usize>) -> u32 {
        debug_assert_eq!(data.len(), self.len, "RangeCrc queried with another buffer");
        assert!(
            range.start <= range.end && range.end <= self.len,
            "range {range:?} out of a buffer of {} bytes",
            self.len
        );
        // crc(M ‖ data[a..b]) = crc(M)·x^(8(b-a)) ⊕ crc(data[a..b]), and
        // crc(data[..b]) = crc(data[..a])·x^(8(b-a)) ⊕ crc(data[a..b]); shifting is linear.
        let (a, b) = (range.start, range.end);
        shift(crc ^ self.prefix_of_start(data, a), (b - a) as u64) ^ self.prefix(data, b)
    }

    /// [`frame_crc`](super::frame_crc)`(header8, &data[payload])`, the payload's bytes read
    /// through the prefix checksums: `data` is the buffer it was built over; panics if the
    /// range is out of its bounds.
    #[inline]
    pub fn frame_crc(
        &mut self,
        data: &[u8],
        header8: &[u8],
        payload: std::ops::Range<usize>,
    ) -> u32 {
        self.append(crc32c::crc32c(header8), data, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes from a seed (xorshift), so a failing case can be rebuilt.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// `a·b mod POLY` the slow way: `b·x^i` for each coefficient of `a` that is set.
    fn mul_bit_by_bit(a: u32, mut b: u32) -> u32 {
        let mut p = 0;
        for i in 0..32 {
            if a & (ONE >> i) != 0 {
                p ^= b;
            }
            b = times_x(b);
        }
        p
    }

    #[test]
    fn mul_by_one_is_identity_and_x8_is_the_first_table_entry() {
        for v in [0, 1, ONE, POLY, 0xdead_beef, u32::MAX] {
            assert_eq!(mul(ONE, v), v);
            assert_eq!(mul(v, ONE), v);
        }
        // x^8 times itself 8 times over is x^64, as 64 single steps of x make it.
        let mut by_steps = ONE;
        for _ in 0..64 {
            by_steps = mul(by_steps, ONE >> 1);
        }
        let x8 = SHIFT[0][1];
        let mut by_x8 = ONE;
        for _ in 0..8 {
            by_x8 = mul(by_x8, x8);
        }
        assert_eq!(by_x8, by_steps);
        assert_eq!(SHIFT[0][8], by_steps);
    }

    #[test]
    fn shift_by_n_is_appending_n_zero_bytes_less_their_own_crc() {
        // Lengths of every byte position of the shift table, and their edges.
        let lens = [
            0usize,
            1,
            2,
            7,
            8,
            255,
            256,
            257,
            511,
            512,
            4095,
            65535,
            65536,
            65537,
            1 << 20,
        ];
        for (i, &n) in lens.iter().enumerate() {
            let a = bytes(i as u64 + 7, 1 + i * 13);
            let zeros = vec![0u8; n];
            let crc = crc32c::crc32c(&a);
            let want = crc32c::crc32c_append(crc, &zeros) ^ crc32c::crc32c(&zeros);
            assert_eq!(shift(crc, n as u64), want, "n = {n}");
        }
    }

    #[test]
    fn shift_handles_lengths_past_4_gib() {
        // Composition: shifting by m then by n is shifting by m + n.
        for &(m, n) in &[
            (1u64 << 32, 3u64),
            (u64::MAX / 3, 12345),
            ((1 << 40) + 17, (1 << 56) + 1),
        ] {
            let c = 0x1234_5678;
            assert_eq!(shift(shift(c, m), n), shift(c, m + n), "{m} + {n}");
            assert_eq!(
                shift(c, m),
                crc32c::crc32c_combine(c, 0, m as usize),
                "shift by {m}"
            );
        }
    }

    #[test]
    fn range_crc_of_an_empty_buffer() {
        let mut r = RangeCrc::new(&[]);
        assert!(r.is_empty());
        assert_eq!(r.crc(&[], 0..0), 0);
        assert_eq!(r.append(0xabcd, &[], 0..0), 0xabcd);
    }

    #[test]
    fn every_range_of_a_buffer_around_the_stride_edges() {
        // Every range whose ends lie near a stride boundary (or 0, or the end), over lengths
        // that end just before, on and after one.
        let s = RangeCrc::STRIDE;
        for len in [0, 1, s - 1, s, s + 1, 3 * s + 5] {
            let data = bytes(len as u64, len);
            let mut r = RangeCrc::new(&data);
            assert_eq!(r.len(), len);
            let mut points: Vec<usize> = [0, 1, s - 1, s, s + 1, 2 * s, len.saturating_sub(1), len]
                .into_iter()
                .filter(|&p| p <= len)
                .collect();
            points.dedup();
            for &a in &points {
                for &b in points.iter().filter(|&&b| b >= a) {
                    let want = crc32c::crc32c(&data[a..b]);
                    assert_eq!(r.crc(&data, a..b), want, "len {len}, {a}..{b}");
                    let want = crc32c::crc32c_append(0x5eed, &data[a..b]);
                    assert_eq!(r.append(0x5eed, &data, a..b), want, "len {len}, {a}..{b}");
                }
            }
        }
    }

    #[test]
    fn ranges_queried_forwards_backwards_and_at_random() {
        let data = bytes(99, 5000);
        let mut r = RangeCrc::new(&data);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut check = |a: usize, b: usize| {
            assert_eq!(r.crc(&data, a..b), crc32c::crc32c(&data[a..b]), "{a}..{b}");
        };
        // A scan in steps of 8 across stride edges, each range to a far end; then backwards.
        for a in (0..1200).step_by(8).chain((0..1200).step_by(8).rev()) {
            check(a, (a + 1000 + a * 7 % 2000).min(data.len()));
        }
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (a, b) = ((x % 5001) as usize, ((x >> 32) % 5001) as usize);
            check(a.min(b), a.max(b));
        }
    }

    proptest! {
        #[test]
        fn mul_is_the_product_bit_by_bit(a: u32, b: u32) {
            prop_assert_eq!(mul(a, b), mul_bit_by_bit(a, b));
            prop_assert_eq!(mul(a, b), mul(b, a));
        }

        #[test]
        fn shift_matches_crc32c_combine(crc1: u32, crc2: u32, len2 in 0usize..(1 << 26)) {
            prop_assert_eq!(
                combine(crc1, crc2, len2 as u64),
                crc32c::crc32c_combine(crc1, crc2, len2)
            );
        }

        #[test]
        fn combine_of_two_buffers_is_the_crc_of_both(
            a in proptest::collection::vec(any::<u8>(), 0..600),
            b in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let whole = crc32c::crc32c(&[a.as_slice(), &b].concat());
            prop_assert_eq!(
                combine(crc32c::crc32c(&a), crc32c::crc32c(&b), b.len() as u64),
                whole
            );
        }

        #[test]
        fn range_crc_matches_crc32c_on_the_range(
            seed: u64,
            len in 0usize..5000,
            x: usize,
            y: usize,
            start: u32,
        ) {
            let data = bytes(seed, len);
            let mut r = RangeCrc::new(&data);
            let (a, b) = (x % (len + 1), y % (len + 1));
            let (a, b) = (a.min(b), a.max(b));
            prop_assert_eq!(r.crc(&data, a..b), crc32c::crc32c(&data[a..b]));
            prop_assert_eq!(
                r.append(start, &data, a..b),
                crc32c::crc32c_append(start, &data[a..b])
            );
        }

        #[test]
        fn a_frame_checksum_from_range_crc_is_frame_crc(
            seed: u64,
            len in 16usize..3000,
            x: usize,
            y: usize,
        ) {
            // The header's first 8 bytes from one place, the payload from a range after it:
            // how the walker checks a candidate frame.
            let data = bytes(seed, len);
            let mut r = RangeCrc::new(&data);
            let off = x % (len - 15);
            let start = off + 16;
            let end = start + y % (len - start + 1);
            let head = &data[off..off + 8];
            prop_assert_eq!(
                r.frame_crc(&data, head, start..end),
                super::super::frame_crc(head, &data[start..end])
            );
        }
    }
}
