//! The format-string grammar of tachylog, shared by its two users: the logging macros parse a
//! format string at compile time (to find captured identifiers and check arity), and the decoder
//! parses the same string at run time and renders recorded values with it, so that its output
//! equals what `format!` would have produced on the call site.
//!
//! One grammar, two users: both sides call [`parse`].
// One function copies short strings with unaligned loads and stores (`push_short`), where a
// library `memcpy` call cost the decoder 5% of its time; everything else is safe code.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod fast;
mod parser;
mod render;

/// One piece of a parsed format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Literal text, with `{{` and `}}` already unescaped (so it may be split into several pieces).
    Lit(&'a str),
    /// A `{...}` placeholder.
    Arg(Placeholder<'a>),
}

/// A `{arg:spec}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    /// Which argument it formats.
    pub arg: ArgRef<'a>,
    /// How it formats it.
    pub spec: Spec<'a>,
}

/// How a placeholder (or a `width$` / `precision$` count) names its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgRef<'a> {
    /// `{}`: the next implicit positional argument.
    Next,
    /// `{3}`: an explicit position.
    Index(usize),
    /// `{name}`: a named argument or a captured identifier.
    Name(&'a str),
}

/// Alignment within a width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// `<`
    Left,
    /// `^`
    Center,
    /// `>`
    Right,
}

/// A width or precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count<'a> {
    /// A literal number.
    Is(usize),
    /// `N$` or `name$`: taken from an argument (which must be a `usize`).
    Arg(ArgRef<'a>),
    /// `.*`: precision taken from the next implicit positional argument (precision only).
    Star,
}

/// The formatting trait a placeholder asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `{}`
    Display,
    /// `{:?}`
    Debug,
    /// `{:x?}`
    DebugLowerHex,
    /// `{:X?}`
    DebugUpperHex,
    /// `{:x}`
    LowerHex,
    /// `{:X}`
    UpperHex,
    /// `{:o}`
    Octal,
    /// `{:b}`
    Binary,
    /// `{:e}`
    LowerExp,
    /// `{:E}`
    UpperExp,
}

/// The part of a placeholder after the colon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec<'a> {
    /// Fill character (default `' '`).
    pub fill: char,
    /// Alignment, if given.
    pub align: Option<Align>,
    /// `+` given.
    pub sign_plus: bool,
    /// `-` given (accepted, has no effect, as in `std`).
    pub sign_minus: bool,
    /// `#` given.
    pub alternate: bool,
    /// `0` given.
    pub zero: bool,
    /// Width, if given.
    pub width: Option<Count<'a>>,
    /// Precision, if given.
    pub precision: Option<Count<'a>>,
    /// The trait.
    pub ty: Ty,
}

impl Spec<'_> {
    /// A bare `{}` (or `{:?}` with `Ty::Debug`): no fill, alignment, flags, width or precision.
    pub const fn bare(ty: Ty) -> Self {
        Spec {
            fill: ' ',
            align: None,
            sign_plus: false,
            sign_minus: false,
            alternate: false,
            zero: false,
            width: None,
            precision: None,
            ty,
        }
    }
}

/// A format string that does not follow the grammar, with the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the format string.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid format string at byte {}: {}",
            self.offset, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses a format string with the grammar of `std::fmt`.
///
/// Literal text is returned as borrowed slices (an escape `{{` / `}}` ends a `Lit` with its
/// first brace). Never panics, whatever the input.
///
/// Differences from `rustc` (all of them reject strings that `format!` would accept, never the
/// other way round, so the macros and the decoder stay consistent):
/// - no whitespace inside a placeholder (`rustc` accepts `{ }`, `{0 }` and `{:x }`); a space
///   is only accepted as a fill character;
/// - identifiers are Unicode alphabetic (or `_`) followed by alphanumerics or `_`, an
///   approximation of `XID_Start` / `XID_Continue` (e.g. combining marks are not accepted).
///
/// Like `rustc`, a literal width or precision above `u16::MAX` is an error, `{:.}` means no
/// precision, and `{:0$}` is a width taken from argument 0, not the `0` flag.
///
/// The error offset is the byte offset of the offending character: the lone `}`, the
/// unexpected character, the start of a bad name, trait or number, or the opening `{` of a
/// placeholder the string ends in.
pub fn parse(fmt: &str) -> Result<Vec<Piece<'_>>, ParseError> {
    parser::parse(fmt)
}

/// A recorded argument value, as the decoder reads it back.
///
/// Integer variants keep their width because `{:x}`, `{:o}` and `{:b}` of negative numbers
/// depend on it (`format!("{:x}", -1i8)` is `ff`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `u8`
    U8(u8),
    /// `u16`
    U16(u16),
    /// `u32`
    U32(u32),
    /// `u64` and `usize`
    U64(u64),
    /// `u128`
    U128(u128),
    /// `i8`
    I8(i8),
    /// `i16`
    I16(i16),
    /// `i32`
    I32(i32),
    /// `i64` and `isize`
    I64(i64),
    /// `i128`
    I128(i128),
    /// `f32`
    F32(f32),
    /// `f64`
    F64(f64),
    /// `bool`
    Bool(bool),
    /// `char`
    Char(char),
    /// `&str` / `String`
    Str(&'a str),
    /// Text formatted on the call site with `{}` or `{:?}` alone (what `tachylog::display(x)`
    /// and `tachylog::debug(x)` recorded before format version 2, and the bridges' text).
    /// Renders as the text itself under both `{}` and `{:?}` (width, fill, alignment and
    /// precision apply as they do to a `&str` under `{}`).
    Pre(&'a str),
    /// Text formatted on the call site with its placeholder's whole spec (width, precision,
    /// fill, alignment, flags and trait), as `format!` formats the value itself: what
    /// `tachylog::display(x)` and `tachylog::debug(x)` record since format version 2. Written
    /// as it is, whatever the placeholder's spec.
    Formatted(&'a str),
    /// `Option::None` (any `T`).
    None,
    /// `Option::Some(v)`.
    Some(Box<Value<'a>>),
}

/// Why a value could not be rendered (only possible with a corrupt or forged record: the macros
/// reject these combinations at compile time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The format string did not parse.
    Parse(ParseError),
    /// A placeholder refers to an argument that is not there.
    MissingArg(String),
    /// A placeholder asks a value for a trait its type does not implement (e.g. `{:x}` on a string).
    Unsupported {
        /// The trait asked for.
        ty: Ty,
        /// The kind of value (e.g. `"str"`).
        value: &'static str,
    },
    /// A `width$` / `precision$` argument is not a non-negative integer of at most `u16::MAX`.
    BadCount(String),
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Parse(e) => write!(f, "{e}"),
            RenderError::MissingArg(a) => write!(f, "missing argument {a}"),
            RenderError::Unsupported { ty, value } => {
                write!(f, "{ty:?} is not implemented for {value}")
            }
            RenderError::BadCount(a) => write!(f, "argument {a} used as a count is not a usize"),
        }
    }
}

impl std::error::Error for RenderError {}

/// Renders parsed pieces with recorded values, appending to `out`.
///
/// `args` holds the positional arguments first, then the named ones; `names[i]` is the name of
/// `args[i]` (`""` for a positional argument). Named references (`{name}`, `name$`) resolve
/// through `names`; `{}` / `.*` take the next implicit positional argument as `std` does.
/// The result equals `format!` on the same values, for every spec `std` accepts for that type.
/// On error `out` may hold a partial rendering; the caller decides what to show.
///
/// Details that follow `std`:
/// - `{}` counts over all of `args` (`{}` past the positional ones reaches the named ones, as
///   `format!` allows with a lint warning), and `{3}` indexes `args` overall;
/// - a count (`N$`, `name$`, `.*`) must be an integer of at most `u16::MAX` (`std` panics
///   above that): `U64` for `usize`, and any other integer whose value is in range, as
///   tachylog 0.1.0 recorded an integer literal used as a count as an `i32`; otherwise
///   [`RenderError::BadCount`];
/// - [`Value::Formatted`] is written as it is: the spec was applied on the call site;
/// - `None` ignores width, fill and precision (derived `Debug` uses `write_str`), and so do
///   `str` and `char` under `{:?}`; `Some(v)` applies all options to `v` (`{:5?}` of `Some(1)`
///   is `Some(    1)`), and `{:#?}` gives the indented pretty form.
///
/// Never panics; names missing from a `names` shorter than `args` count as positional.
pub fn render(
    out: &mut String,
    pieces: &[Piece<'_>],
    names: &[&str],
    args: &[Value<'_>],
) -> Result<(), RenderError> {
    render::render(out, pieces, names, args, usize::MAX).map(drop)
}

/// [`render`], writing at most `max` bytes: returns `Ok(true)` when the rendering was longer
/// and was cut, `Ok(false)` when it is whole (and then equal to what [`render`] writes).
///
/// A cut rendering is the first `max` bytes of the whole one, or fewer to end on a character
/// boundary; the cut stops the rendering there, so its time and memory are bounded by `max`
/// (plus the longest single value), whatever the format string asks for: a renderer of
/// untrusted format strings needs that, as 20,000 placeholders of width 65,535 make 1.3 GB of
/// text. Nothing after the cut is rendered or checked: an error there (a missing argument) is
/// not reported. Never panics.
pub fn render_capped(
    out: &mut String,
    pieces: &[Piece<'_>],
    names: &[&str],
    args: &[Value<'_>],
    max: usize,
) -> Result<bool, RenderError> {
    render::render(out, pieces, names, args, max)
}

/// A format string whose placeholders are all a plain `{}` (no width, precision, sign, `#` or
/// `0`, `Display`) taking the arguments in order, each once, as `"a {} b {x} c {2}"` does with
/// three arguments: its literal text and argument slots, in order. Such a string renders by
/// writing each argument as it is decoded ([`Plain::write_arg`]), with no table of values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plain<'a> {
    /// `Some(text)` for literal text, `None` for the next argument.
    pub steps: Vec<Option<&'a str>>,
    /// Every literal is [plain text](is_plain_text).
    pub literals_plain: bool,
}

/// `out.push_str(s)`, with the copy written inline when `s` is short. A call to the C library's
/// `memcpy` costs more than copying a dozen bytes, and the decoder makes about ten such copies
/// a record (literal text, digits); here a short copy is two loads and two stores.
#[inline(always)]
#[allow(unsafe_code)]
pub fn push_short(out: &mut String, s: &str) {
    let n = s.len();
    if n > 16 {
        return out.push_str(s);
    }
    out.reserve(16);
    let src = s.as_ptr();
    // SAFETY: `reserve` leaves room for 16 more bytes, so every store below (all within the
    // first `n <= 16` bytes past the end) is inside the allocation; every load is within `s`
    // (the two words of 8 or 4 bytes, which may overlap, start at 0 and at `n - 8` or
    // `n - 4`, and the single bytes are at 0, `n / 2` and `n - 1`); together the stores
    // cover exactly bytes `0..n`, so `set_len` exposes only initialised bytes; and they are
    // the bytes of a `str`, appended whole, so the `String` stays valid UTF-8.
    unsafe {
        let v = out.as_mut_vec();
        let dst = v.as_mut_ptr().add(v.len());
        if n >= 8 {
            let (a, b) = (
                src.cast::<u64>().read_unaligned(),
                src.add(n - 8).cast::<u64>().read_unaligned(),
            );
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let (a, b) = (
                src.cast::<u32>().read_unaligned(),
                src.add(n - 4).cast::<u32>().read_unaligned(),
            );
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            *dst = *src;
            *dst.add(n / 2) = *src.add(n / 2);
            *dst.add(n - 1) = *src.add(n - 1);
        }
        v.set_len(v.len() + n);
    }
}

/// Whether `s` is *plain text*: printable ASCII (`' '` to `'~'`) without `"` or `\`. Such text
/// goes into a JSON string, a quoted logfmt value or a terminal as it is, with nothing to
/// escape. Looks at eight bytes at a time.
pub fn is_plain_text(s: &str) -> bool {
    let mut words = s.as_bytes().chunks_exact(8);
    let words_plain = words
        .by_ref()
        .all(|w| not_plain_mask(u64::from_le_bytes(w.try_into().unwrap_or_default())) == 0);
    // The last few bytes, padded with spaces (which are plain).
    let mut last = [b' '; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    words_plain && not_plain_mask(u64::from_le_bytes(last)) == 0
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Nonzero exactly when one of the 8 bytes of `w` is not [plain text](is_plain_text): a
/// control character, `"`, `\`, or a byte of 0x7F or above (DEL and every byte of a
/// non-ASCII character). JSON escaping uses it to pass over eight bytes at a time.
#[inline(always)]
pub fn not_plain_mask(w: u64) -> u64 {
    // In `x - ONES * n`, a byte's high bit ends up set with its own high bit clear exactly when
    // it is below `n` (for n <= 0x80), or when a borrow came from a lower byte that was, so
    // nothing is flagged in a word that has no such byte. `"` and `\` are the zero bytes of
    // `w ^ ONES * c` (and `c` has its high bit clear, so `!w` serves for those too); bytes of
    // 0x7F and above have their high bit set in `w + ONES` or in `w`.
    let below_space = w.wrapping_sub(ONES * 0x20);
    let quote = (w ^ (ONES * b'"' as u64)).wrapping_sub(ONES);
    let backslash = (w ^ (ONES * b'\\' as u64)).wrapping_sub(ONES);
    (((below_space | quote | backslash) & !w) | w.wrapping_add(ONES) | w) & HIGH
}

impl<'a> Plain<'a> {
    /// The plain form of `pieces` with arguments named `names` (as for [`render`]), or `None`
    /// if some placeholder is not a plain `{}` of the next argument, or an argument is unused.
    pub fn new(pieces: &[Piece<'a>], names: &[&str]) -> Option<Plain<'a>> {
        let mut steps = Vec::with_capacity(pieces.len());
        // `slot`: the argument the next placeholder must take; `implicit`: the one `{}`
        // takes (only `{}` advances it, as in `std`).
        let (mut slot, mut implicit) = (0usize, 0usize);
        for piece in pieces {
            match piece {
                Piece::Lit(s) => steps.push(Some(*s)),
                Piece::Arg(ph) => {
                    let s = &ph.spec;
                    let plain = s.width.is_none()
                        && s.precision.is_none()
                        && s.ty == Ty::Display
                        && !(s.sign_plus || s.alternate || s.zero);
                    let index = match ph.arg {
                        ArgRef::Next => {
                            implicit += 1;
                            implicit - 1
                        }
                        ArgRef::Index(i) => i,
                        ArgRef::Name(n) => names.iter().position(|&m| !n.is_empty() && m == n)?,
                    };
                    if !plain || index != slot {
                        return None;
                    }
                    slot += 1;
                    steps.push(None);
                }
            }
        }
        let literals_plain = steps.iter().flatten().all(|s| is_plain_text(s));
        (slot == names.len()).then_some(Plain {
            steps,
            literals_plain,
        })
    }

    /// Appends `v` as a plain `{}` writes it and returns true; false (writing nothing) for a
    /// value `{}` does not apply to (`None`, `Some`): the caller then renders the whole string
    /// with [`render`], which reports the error.
    #[inline]
    pub fn write_arg(out: &mut String, v: &Value<'_>) -> bool {
        fast::display(out, v)
    }

    /// Whether what [`Plain::write_arg`] writes for `v` is [plain text](is_plain_text): always
    /// for numbers and `bool` (digits, `.`, `-`, `inf`, `NaN`, `true`, `false`, not looked
    /// at), and for text when it is plain text itself (a scan of the argument alone, shorter
    /// than one of the whole message).
    #[inline]
    pub fn writes_plain_text(v: &Value<'_>) -> bool {
        match v {
            Value::Str(s) | Value::Pre(s) | Value::Formatted(s) => is_plain_text(s),
            Value::Char(c) => c.is_ascii() && is_plain_text(c.encode_utf8(&mut [0; 4])),
            Value::None | Value::Some(_) => false,
            _ => true,
        }
    }
}
