//! The workload: the message shapes every logger logs.

/// (b): a 20-byte string.
pub const STR20: &str = "twenty-byte-message!";
/// (c): a 200-byte string.
pub const STR200: &str = concat!(
    "This string is exactly two hundred bytes long, which is what the large-string message shape ",
    "of the benchmark logs on every call; it is copied whole by every logger under test, no matter",
    " how it is done"
);
const _: () = assert!(STR20.len() == 20 && STR200.len() == 200);

/// The message shapes of the benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `"Logging int: {}, int: {}, double: {}"` with two integers and an `f64`.
    IntIntDouble,
    /// A 20-byte `&str` and an integer.
    Str20Int,
    /// A 200-byte string.
    Str200,
    /// Five structured fields.
    Fields5,
}

impl Shape {
    /// All shapes, in table order.
    pub const ALL: [Shape; 4] = [
        Shape::IntIntDouble,
        Shape::Str20Int,
        Shape::Str200,
        Shape::Fields5,
    ];
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Shape::IntIntDouble => "(a) int,int,f64",
            Shape::Str20Int => "(b) str20,int",
            Shape::Str200 => "(c) str200",
            Shape::Fields5 => "(d) 5 fields",
        }
    }
}
