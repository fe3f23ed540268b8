//! Raw encoding of arguments on the hot path: a type tag, then the value's bytes.
use crate::wire::{RECORD_HEAD_LEN, RecordHead, tag};
use std::mem::MaybeUninit;

/// Where a record's bytes go: the space reserved in the ring, possibly split in two at the
/// ring's end. Writes past the reservation are discarded (and flagged), never out of bounds.
pub struct Writer<'a> {
    first: &'a mut [MaybeUninit<u8>],
    second: &'a mut [MaybeUninit<u8>],
    pos: usize,
    arena: &'a [u8],
}

impl<'a> Writer<'a> {
    pub(crate) fn new(
        first: &'a mut [MaybeUninit<u8>],
        second: &'a mut [MaybeUninit<u8>],
        arena: &'a [u8],
    ) -> Self {
        Writer {
            first,
            second,
            pos: 0,
            arena,
        }
    }

    /// Appends bytes.
    #[inline(always)]
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if end <= self.first.len() {
            self.first[self.pos..end].write_copy_of_slice(bytes);
            self.pos = end;
        } else {
            self.pos = put_split(self.first, self.second, self.pos, bytes);
        }
    }

    #[inline(always)]
    pub(crate) fn put_u8(&mut self, v: u8) {
        self.put(&[v]);
    }

    /// Appends a record head field by field, for the reason given at [`Writer::put_tagged`]
    /// (the head is built in registers; copying it as one 16-byte block would stall).
    #[inline(always)]
    pub(crate) fn put_head(&mut self, h: &RecordHead) {
        const { assert!(RECORD_HEAD_LEN == 16) };
        let end = self.pos + RECORD_HEAD_LEN;
        if end <= self.first.len() {
            let dst = &mut self.first[self.pos..end];
            dst[0..4].write_copy_of_slice(&h.len.to_le_bytes());
            dst[4..8].write_copy_of_slice(&h.callsite.to_le_bytes());
            dst[8..16].write_copy_of_slice(&h.ticks.to_le_bytes());
            self.pos = end;
        } else {
            self.pos = put_split(self.first, self.second, self.pos, bytemuck::bytes_of(h));
        }
    }

    /// Appends a type tag and a value. The two are stored straight into the ring: assembling
    /// them in a stack buffer first and copying that would load bytes from two separate stores
    /// at once, which the processor cannot forward from its store buffer (a stall of a dozen
    /// cycles per value on x86-64, measured as most of the hot path's cost).
    #[inline(always)]
    pub(crate) fn put_tagged<const N: usize>(&mut self, tag: u8, v: [u8; N]) {
        let end = self.pos + 1 + N;
        if end <= self.first.len() {
            let dst = &mut self.first[self.pos..end];
            dst[0].write(tag);
            dst[1..].write_copy_of_slice(&v);
            self.pos = end;
        } else {
            self.pos = put_split(self.first, self.second, self.pos, &[tag]);
            self.pos = put_split(self.first, self.second, self.pos, &v);
        }
    }

    /// Zero-fills whatever was reserved but not written (so every committed byte is
    /// initialised) and says whether exactly the reservation was written.
    #[inline(always)]
    pub(crate) fn finish(self) -> bool {
        let total = self.first.len() + self.second.len();
        if self.pos == total {
            return true;
        }
        for (i, slot) in self
            .first
            .iter_mut()
            .chain(self.second.iter_mut())
            .enumerate()
        {
            if i >= self.pos.min(total) {
                slot.write(0);
            }
        }
        false
    }
}

/// Writes `bytes` at `pos` of the two slices of a reservation that wraps around the ring's end,
/// and returns the position after them. A free function, not a method: the writer's fields then
/// stay in registers on the hot path instead of being spilled for a call that takes its address.
#[cold]
#[inline(never)]
fn put_split(
    first: &mut [MaybeUninit<u8>],
    second: &mut [MaybeUninit<u8>],
    mut pos: usize,
    bytes: &[u8],
) -> usize {
    for &b in bytes {
        if pos < first.len() {
            first[pos].write(b);
        } else if let Some(slot) = second.get_mut(pos - first.len()) {
            slot.write(b);
        } else {
            // An `Encode` impl wrote more than it announced; the surplus is discarded and
            // `finish` reports the record as malformed.
            return usize::MAX / 2;
        }
        pos += 1;
    }
    pos
}

/// A value the macros can record without formatting it: a one-byte type tag and raw bytes.
///
/// Implemented for all integer and float types, `bool`, `char`, `str`, `String`, `Option<T>` of
/// these, references to them, and [`Formatted`] (the text of `display()` / `debug()`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as a raw value",
    label = "not a tachylog argument type",
    note = "wrap it in `tachylog::display(..)` or `tachylog::debug(..)` to format it on the calling thread"
)]
pub trait Encode {
    /// Encoded size in bytes (type tag included).
    fn size(&self) -> usize;
    /// Writes exactly `size()` bytes.
    fn encode(&self, w: &mut Writer<'_>);
}

macro_rules! encode_pod {
    ($($t:ty => $tag:expr, $as:ty);* $(;)?) => {$(
        impl Encode for $t {
            #[inline(always)]
            fn size(&self) -> usize {
                1 + size_of::<$as>()
            }
            #[inline(always)]
            fn encode(&self, w: &mut Writer<'_>) {
                w.put_tagged($tag, (*self as $as).to_le_bytes());
            }
        }
    )*};
}

encode_pod! {
    u8 => tag::U8, u8;
    u16 => tag::U16, u16;
    u32 => tag::U32, u32;
    u64 => tag::U64, u64;
    usize => tag::U64, u64;
    u128 => tag::U128, u128;
    i8 => tag::I8, i8;
    i16 => tag::I16, i16;
    i32 => tag::I32, i32;
    i64 => tag::I64, i64;
    isize => tag::I64, i64;
    i128 => tag::I128, i128;
    f32 => tag::F32, f32;
    f64 => tag::F64, f64;
}

impl Encode for bool {
    #[inline(always)]
    fn size(&self) -> usize {
        2
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        w.put_tagged(tag::BOOL, [*self as u8]);
    }
}

impl Encode for char {
    #[inline(always)]
    fn size(&self) -> usize {
        5
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        w.put_tagged(tag::CHAR, (*self as u32).to_le_bytes());
    }
}

#[inline(always)]
fn put_bytes(w: &mut Writer<'_>, tag: u8, bytes: &[u8]) {
    w.put_tagged(tag, (bytes.len() as u32).to_le_bytes());
    w.put(bytes);
}

impl Encode for str {
    #[inline(always)]
    fn size(&self) -> usize {
        5 + self.len()
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        put_bytes(w, tag::STR, self.as_bytes());
    }
}

impl Encode for String {
    #[inline(always)]
    fn size(&self) -> usize {
        self.as_str().size()
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        self.as_str().encode(w)
    }
}

impl<T: Encode> Encode for Option<T> {
    #[inline(always)]
    fn size(&self) -> usize {
        1 + self.as_ref().map_or(0, Encode::size)
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        match self {
            None => w.put_u8(tag::NONE),
            Some(v) => {
                w.put_u8(tag::SOME);
                v.encode(w);
            }
        }
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    #[inline(always)]
    fn size(&self) -> usize {
        (**self).size()
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        (**self).encode(w)
    }
}

impl<T: Encode + ?Sized> Encode for &mut T {
    #[inline(always)]
    fn size(&self) -> usize {
        (**self).size()
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        (**self).encode(w)
    }
}

/// Text formatted on the calling thread (by `display()` / `debug()` or a bridge), recorded with
/// its tag: `PRE` (formatted with a plain `{}` / `{:?}`) or `FORMATTED` (with its placeholder's
/// whole spec).
///
/// The text lives in a per-thread scratch buffer (reused, so no allocation once it has grown)
/// until the record that carries it is written: only the macros and the bridges make one,
/// right before they write the record.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Formatted {
    /// Offset of the text in the thread's arena.
    pub(crate) start: u32,
    /// Its length in bytes.
    pub(crate) len: u32,
    /// `tag::PRE` or `tag::FORMATTED`.
    pub(crate) tag: u8,
}

impl Encode for Formatted {
    #[inline(always)]
    fn size(&self) -> usize {
        5 + self.len as usize
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        let (s, n) = (self.start as usize, self.len as usize);
        let arena = w.arena;
        // Never out of bounds: a handle that points past the arena (none should) encodes as
        // empty text padded with spaces, keeping the announced size.
        match arena.get(s..s + n) {
            Some(bytes) => put_bytes(w, self.tag, bytes),
            None => {
                put_bytes(w, self.tag, &[]);
                for _ in 0..n {
                    w.put_u8(b' ');
                }
            }
        }
    }
}

impl std::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("pos", &self.pos).finish()
    }
}

/// Text written into the thread's scratch arena and recorded as a plain string (tag `STR`),
/// like a `&str` argument. For the bridges, whose string values do not outlive the call that
/// hands them over (`tracing`'s `Visit::record_str`), so they are copied before the record is
/// reserved. Same lifetime rule as [`Formatted`].
#[cfg(feature = "tracing")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArenaStr(pub(crate) Formatted);

#[cfg(feature = "tracing")]
impl Encode for ArenaStr {
    #[inline(always)]
    fn size(&self) -> usize {
        self.0.size()
    }
    #[inline(always)]
    fn encode(&self, w: &mut Writer<'_>) {
        let (s, n) = (self.0.start as usize, self.0.len as usize);
        let arena = w.arena;
        match arena.get(s..s + n) {
            Some(bytes) => put_bytes(w, tag::STR, bytes),
            // As for `Formatted`: never read out of bounds, keep the announced size.
            None => {
                put_bytes(w, tag::STR, &[]);
                for _ in 0..n {
                    w.put_u8(b' ');
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record split by the ring's end at every possible point holds the same bytes as one
    /// written in one piece (the fast paths write in place, the split path byte by byte).
    #[test]
    fn heads_and_tagged_values_survive_every_split() {
        let head = RecordHead {
            len: 0x0102_0304,
            callsite: 7,
            ticks: 0x1122_3344_5566_7788,
        };
        let mut expect = bytemuck::bytes_of(&head).to_vec();
        expect.push(tag::U32);
        expect.extend(9u32.to_le_bytes());
        expect.push(tag::F64);
        expect.extend(2.5f64.to_le_bytes());
        expect.push(tag::STR);
        expect.extend(3u32.to_le_bytes());
        expect.extend(b"abc");
        expect.extend([tag::BOOL, 1]);
        for cut in 0..=expect.len() {
            let mut buf = vec![MaybeUninit::new(0xAAu8); expect.len()];
            let (a, b) = buf.split_at_mut(cut);
            let mut w = Writer::new(a, b, &[]);
            w.put_head(&head);
            9u32.encode(&mut w);
            2.5f64.encode(&mut w);
            "abc".encode(&mut w);
            true.encode(&mut w);
            assert!(w.finish(), "cut at {cut}: size mismatch");
            // SAFETY: every element was initialised by `MaybeUninit::new` above.
            let got: Vec<u8> = buf.iter().map(|x| unsafe { x.assume_init() }).collect();
            assert_eq!(got, expect, "cut at {cut}");
        }
    }

    /// An `Encode` that writes more than it announced, split or not, is caught by `finish`:
    /// nothing is written past the reservation.
    #[test]
    fn writing_past_the_reservation_is_reported_and_stays_inside_it() {
        for cut in [0, 3, 8] {
            let mut buf = [MaybeUninit::new(0xAAu8); 8];
            let (a, b) = buf.split_at_mut(cut);
            let mut w = Writer::new(a, b, &[]);
            7u64.encode(&mut w);
            assert!(!w.finish(), "cut at {cut}: 9 bytes into 8 must be reported");
        }
    }
}
