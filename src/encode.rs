/// Where a record's argument bytes go: the reserved space in the ring (possibly split in two).
pub struct Writer<'a> {
    _buf: &'a mut [u8],
}

/// A value the macros can record without formatting it.
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

/// A value formatted eagerly on the calling thread by [`display`] or [`debug`].
#[derive(Debug)]
pub struct Formatted {
    _start: u32,
    _len: u32,
}

/// Formats `x` with `Display` now, on the calling thread, for types that cannot be recorded raw.
pub fn display<T: std::fmt::Display>(x: T) -> Formatted {
    let _ = x;
    Formatted { _start: 0, _len: 0 }
}

/// Formats `x` with `Debug` now, on the calling thread, for types that cannot be recorded raw.
pub fn debug<T: std::fmt::Debug>(x: T) -> Formatted {
    let _ = x;
    Formatted { _start: 0, _len: 0 }
}

macro_rules! stub_encode { ($($t:ty),*) => { $(impl Encode for $t { fn size(&self) -> usize { 0 } fn encode(&self, _w: &mut Writer<'_>) {} })* } }
stub_encode!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, bool, char, str, String, Formatted);
impl<T: Encode> Encode for Option<T> { fn size(&self) -> usize { 0 } fn encode(&self, _w: &mut Writer<'_>) {} }
impl<T: Encode + ?Sized> Encode for &T { fn size(&self) -> usize { (**self).size() } fn encode(&self, w: &mut Writer<'_>) { (**self).encode(w) } }
