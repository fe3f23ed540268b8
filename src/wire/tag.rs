//! Value tags: one byte before each encoded argument or field (`docs/FORMAT.md`, "Values").
/// `None`
pub const NONE: u8 = 0;
/// `Some`, followed by the inner value
pub const SOME: u8 = 1;
/// `u8`
pub const U8: u8 = 2;
/// `u16`
pub const U16: u8 = 3;
/// `u32`
pub const U32: u8 = 4;
/// `u64`, `usize`
pub const U64: u8 = 5;
/// `u128`
pub const U128: u8 = 6;
/// `i8`
pub const I8: u8 = 7;
/// `i16`
pub const I16: u8 = 8;
/// `i32`
pub const I32: u8 = 9;
/// `i64`, `isize`
pub const I64: u8 = 10;
/// `i128`
pub const I128: u8 = 11;
/// `f32`
pub const F32: u8 = 12;
/// `f64`
pub const F64: u8 = 13;
/// `bool` (one byte, 0 or 1)
pub const BOOL: u8 = 14;
/// `char` (u32 scalar value)
pub const CHAR: u8 = 15;
/// string: u32 length, UTF-8 bytes
pub const STR: u8 = 16;
/// text preformatted on the call site: u32 length, UTF-8 bytes
pub const PRE: u8 = 17;
/// text formatted on the call site with its placeholder's whole spec, written as it is whatever
/// the spec: u32 length, UTF-8 bytes (format version 2)
pub const FORMATTED: u8 = 18;
