//! Deferred formatting: renders recorded values exactly as `format!` would have.
//!
//! Every value is formatted by `std`'s own trait implementations: a `Via` wrapper forwards the
//! formatter (and so all of its options) to the implementation of the requested trait, and
//! `native` builds that formatter with a `write!` whose static flags (alignment, sign, `#`,
//! `0`, debug-hex) are picked from a macro-generated match, with width and precision passed at
//! run time. The two things `write!` cannot take at run time are handled by hand, replicating
//! `std`:
//! - a fill character other than `' '` (measure, then pad like `Formatter::padding`);
//! - `Some(..)` (written like the derived `Debug`, i.e. `debug_tuple("Some")`, including the
//!   `{:#?}` pretty form with `PadAdapter` indentation), iteratively so that deep nesting from a
//!   forged record cannot overflow the stack.
//!
//! A plain `{}` of a number, `bool`, `char` or string skips `std::fmt` (see `fast`), with the
//! same output.
//!
//! Nothing here allocates except the growth of the output `String`.

use std::fmt::{self, Write};

use crate::parser::MAX_COUNT;
use crate::{Align, ArgRef, Count, Piece, RenderError, Ty, Value};

/// Renders `pieces` into `out`, stopping once it would grow by more than `max` bytes: returns
/// whether it stopped there (having written the first `max` bytes or fewer, cut at a character
/// boundary). Nothing after the cut is rendered or checked.
pub(crate) fn render(
    out: &mut String,
    pieces: &[Piece<'_>],
    names: &[&str],
    args: &[Value<'_>],
    max: usize,
) -> Result<bool, RenderError> {
    let limit = out.len().saturating_add(max);
    let mut next = 0usize;
    for piece in pieces {
        match piece {
            Piece::Lit(s) => {
                if push_within(out, s, limit) {
                    return Ok(true);
                }
            }
            Piece::Arg(ph) => {
                let spec = &ph.spec;
                // Same order as `std`: the width (never implicit), then a `.*` precision (takes the
                // next implicit argument), then the value itself.
                let width = match spec.width {
                    None => None,
                    Some(c) => Some(count(c, names, args, &mut next)?),
                };
                let precision = match spec.precision {
                    None => None,
                    Some(c) => Some(count(c, names, args, &mut next)?),
                };
                let value = resolve(ph.arg, names, args, &mut next)?;
                // Formatted on the call site with this very spec.
                if let Value::Formatted(s) = value {
                    if push_within(out, s, limit) {
                        return Ok(true);
                    }
                    continue;
                }
                // A plain `{}` (fill and alignment mean nothing without a width) of a number,
                // `bool`, `char` or string is written without `std::fmt`, identically.
                if width.is_none()
                    && precision.is_none()
                    && spec.ty == Ty::Display
                    && !(spec.sign_plus || spec.alternate || spec.zero)
                    && crate::fast::display(out, value)
                {
                    if out.len() > limit {
                        out.truncate(out.floor_char_boundary(limit));
                        return Ok(true);
                    }
                    continue;
                }
                let opts = Opts {
                    fill: spec.fill,
                    align: spec.align,
                    plus: spec.sign_plus,
                    alt: spec.alternate,
                    zero: spec.zero,
                    width,
                    precision,
                    ty: spec.ty,
                };
                if render_value(out, value, &opts, limit)? {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// Appends `s`, or as much of it as keeps `out` within `limit` bytes (whole characters);
/// returns whether it had to cut.
fn push_within(out: &mut String, s: &str, limit: usize) -> bool {
    let room = limit.saturating_sub(out.len());
    if s.len() <= room {
        out.push_str(s);
        return false;
    }
    out.push_str(&s[..s.floor_char_boundary(room)]);
    true
}

/// A `String` that takes at most `limit` bytes in all: a write that would pass it writes the
/// whole characters that fit, notes the cut, and fails, which stops `std`'s formatting.
struct Capped<'s> {
    out: &'s mut String,
    limit: usize,
    cut: bool,
}

impl Write for Capped<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if push_within(self.out, s, self.limit) {
            self.cut = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// Finds the argument a reference names, advancing the implicit counter for `ArgRef::Next`.
fn resolve<'v, 'a>(
    arg: ArgRef<'_>,
    names: &[&str],
    args: &'v [Value<'a>],
    next: &mut usize,
) -> Result<&'v Value<'a>, RenderError> {
    let idx = match arg {
        ArgRef::Next => {
            let i = *next;
            *next = next.saturating_add(1);
            i
        }
        ArgRef::Index(i) => i,
        ArgRef::Name(name) => {
            let found = if name.is_empty() {
                None
            } else {
                (0..args.len()).find(|&i| names.get(i).copied() == Some(name))
            };
            match found {
                Some(i) => i,
                None => return Err(RenderError::MissingArg(describe(arg, *next))),
            }
        }
    };
    args.get(idx)
        .ok_or_else(|| RenderError::MissingArg(describe(arg, idx)))
}

/// A human-readable name for an argument reference (`implicit` is the index `Next` took).
fn describe(arg: ArgRef<'_>, implicit: usize) -> String {
    match arg {
        ArgRef::Next => format!("{implicit} (implicit)"),
        ArgRef::Index(i) => i.to_string(),
        ArgRef::Name(n) => format!("`{n}`"),
    }
}

/// Resolves a width or precision.
fn count(
    c: Count<'_>,
    names: &[&str],
    args: &[Value<'_>],
    next: &mut usize,
) -> Result<usize, RenderError> {
    let (arg, label) = match c {
        Count::Is(n) if n <= MAX_COUNT => return Ok(n),
        Count::Is(n) => {
            return Err(RenderError::BadCount(format!(
                "{n} (literal count larger than {MAX_COUNT})"
            )));
        }
        Count::Star | Count::Arg(ArgRef::Next) => {
            let label = describe(ArgRef::Next, *next);
            (resolve(ArgRef::Next, names, args, next)?, label)
        }
        Count::Arg(r) => (resolve(r, names, args, next)?, describe(r, 0)),
    };
    // `format!` takes only a `usize`; the macros record one. Other integers come from
    // records written before they did (an integer literal was recorded as an `i32`).
    let n = match *arg {
        Value::U8(v) => Some(usize::from(v)),
        Value::U16(v) => Some(usize::from(v)),
        Value::U32(v) => usize::try_from(v).ok(),
        Value::U64(v) => usize::try_from(v).ok(),
        Value::U128(v) => usize::try_from(v).ok(),
        Value::I8(v) => usize::try_from(v).ok(),
        Value::I16(v) => usize::try_from(v).ok(),
        Value::I32(v) => usize::try_from(v).ok(),
        Value::I64(v) => usize::try_from(v).ok(),
        Value::I128(v) => usize::try_from(v).ok(),
        _ => return Err(RenderError::BadCount(label)),
    };
    match n {
        // `std` panics ("Formatting argument out of range") on counts over `u16::MAX`.
        Some(n) if n <= MAX_COUNT => Ok(n),
        _ => Err(RenderError::BadCount(format!(
            "{label} (value larger than {MAX_COUNT})"
        ))),
    }
}

/// The resolved options of one placeholder.
#[derive(Clone, Copy)]
struct Opts {
    fill: char,
    align: Option<Align>,
    plus: bool,
    alt: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
    ty: Ty,
}

fn is_int(v: &Value<'_>) -> bool {
    matches!(
        v,
        Value::U8(_)
            | Value::U16(_)
            | Value::U32(_)
            | Value::U64(_)
            | Value::U128(_)
            | Value::I8(_)
            | Value::I16(_)
            | Value::I32(_)
            | Value::I64(_)
            | Value::I128(_)
    )
}

fn is_numeric(v: &Value<'_>) -> bool {
    is_int(v) || matches!(v, Value::F32(_) | Value::F64(_))
}

/// Whether `std` implements trait `ty` for the value's type.
fn supports(v: &Value<'_>, ty: Ty) -> bool {
    match ty {
        _ if matches!(v, Value::Formatted(_)) => true,
        Ty::Display => !matches!(v, Value::None | Value::Some(_)),
        Ty::Debug | Ty::DebugLowerHex | Ty::DebugUpperHex => true,
        Ty::LowerHex | Ty::UpperHex | Ty::Octal | Ty::Binary => is_int(v),
        Ty::LowerExp | Ty::UpperExp => is_numeric(v),
    }
}

/// The value's type, for error messages.
fn kind(v: &Value<'_>) -> &'static str {
    match v {
        Value::U8(_) => "u8",
        Value::U16(_) => "u16",
        Value::U32(_) => "u32",
        Value::U64(_) => "u64",
        Value::U128(_) => "u128",
        Value::I8(_) => "i8",
        Value::I16(_) => "i16",
        Value::I32(_) => "i32",
        Value::I64(_) => "i64",
        Value::I128(_) => "i128",
        Value::F32(_) => "f32",
        Value::F64(_) => "f64",
        Value::Bool(_) => "bool",
        Value::Char(_) => "char",
        Value::Str(_) => "str",
        Value::Pre(_) | Value::Formatted(_) => "pre-formatted text",
        Value::None | Value::Some(_) => "Option",
    }
}

/// Renders `v` with `o`, keeping `out` within `limit` bytes: returns whether it was cut.
fn render_value(
    out: &mut String,
    v: &Value<'_>,
    o: &Opts,
    limit: usize,
) -> Result<bool, RenderError> {
    let unsupported = || RenderError::Unsupported {
        ty: o.ty,
        value: kind(v),
    };
    if !supports(v, o.ty) {
        return Err(unsupported());
    }
    let mut w = Capped {
        out,
        limit,
        cut: false,
    };
    let res = if let Value::Some(_) = v {
        some_chain(&mut w, v, o)
    } else {
        leaf(&mut w, v, o)
    };
    // Writing to a `String` fails only at the cap; any other error can only come from a trait
    // `Via` lacks, which `supports` already ruled out.
    match res {
        Ok(()) => Ok(false),
        Err(_) if w.cut => Ok(true),
        Err(_) => Err(unsupported()),
    }
}

/// `Some(Some(..(v)..))` as the derived `Debug` (`debug_tuple("Some").field(v)`) writes it: the
/// formatter's options apply to the innermost value only.
fn some_chain(w: &mut dyn Write, v: &Value<'_>, o: &Opts) -> fmt::Result {
    let mut depth = 0usize;
    let mut inner = v;
    while let Value::Some(b) = inner {
        depth += 1;
        inner = b;
    }
    if !o.alt {
        for _ in 0..depth {
            w.write_str("Some(")?;
        }
        leaf(w, inner, o)?;
        for _ in 0..depth {
            w.write_str(")")?;
        }
        return Ok(());
    }
    // Pretty form: each level's field goes through a `PadAdapter`; nested adapters created right
    // after a newline are equivalent to one writer indenting by 4 spaces per level.
    let mut ind = Indent {
        out: w,
        level: 0,
        on_newline: true,
    };
    for level in 0..depth {
        ind.level = level;
        ind.write_str("Some(\n")?;
    }
    ind.level = depth;
    leaf(&mut ind, inner, o)?;
    for level in (0..depth).rev() {
        ind.level = level + 1;
        ind.write_str(",\n")?;
        ind.level = level;
        ind.write_str(")")?;
    }
    Ok(())
}

/// `std`'s `PadAdapter`, flattened: indents every line by 4 spaces per level.
struct Indent<'w> {
    out: &'w mut dyn Write,
    level: usize,
    on_newline: bool,
}

impl Write for Indent<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for line in s.split_inclusive('\n') {
            if self.on_newline {
                for _ in 0..self.level {
                    self.out.write_str("    ")?;
                }
            }
            self.on_newline = line.ends_with('\n');
            self.out.write_str(line)?;
        }
        Ok(())
    }
}

/// Forwards to `out`, counting the chars written (as `Formatter::pad` counts them).
struct Counting<'w> {
    out: &'w mut dyn Write,
    chars: usize,
}

impl Write for Counting<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.chars += s.chars().count();
        self.out.write_str(s)
    }
}

/// Counts the chars written to it.
struct CharCount(usize);

impl Write for CharCount {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.chars().count();
        Ok(())
    }
}

/// The width in chars of `v` formatted with `o`.
fn measure(v: &Via<'_, '_>, o: &Opts) -> Result<usize, fmt::Error> {
    let mut count = CharCount(0);
    native(&mut count, v, o)?;
    Ok(count.0)
}

fn fill(w: &mut dyn Write, c: char, n: usize) -> fmt::Result {
    for _ in 0..n {
        w.write_char(c)?;
    }
    Ok(())
}

/// Whether `std`'s implementation of the trait pads to the width. `str` and `char` `Debug`
/// write their quoted form directly and ignore it (checked against `format!` by the tests);
/// `None` (handled before) ignores it too; everything else goes through `Formatter::pad`,
/// `pad_integral` or `pad_formatted_parts`.
fn honors_width(v: &Value<'_>, ty: Ty) -> bool {
    let debug = matches!(ty, Ty::Debug | Ty::DebugLowerHex | Ty::DebugUpperHex);
    !(debug && matches!(v, Value::Str(_) | Value::Char(_) | Value::None))
}

/// A value that is not `Some`.
fn leaf(w: &mut dyn Write, v: &Value<'_>, o: &Opts) -> fmt::Result {
    if let Value::None = v {
        // Derived `Debug` of a unit variant is `f.write_str("None")`: no padding at all.
        return w.write_str("None");
    }
    let via = Via { v, ty: o.ty };
    let numeric = is_numeric(v);
    match o.width {
        // `0` on a number pads with zeros after the sign and ignores fill and alignment, which
        // `std` does natively; otherwise a custom fill is applied by hand.
        Some(width) if o.fill != ' ' && width > 0 && !(o.zero && numeric) => {
            let bare = Opts { width: None, ..*o };
            if !honors_width(v, o.ty) {
                return native(w, &via, &bare);
            }
            let default = if numeric { Align::Right } else { Align::Left };
            let (pre, post) = match o.align.unwrap_or(default) {
                Align::Left => {
                    // One pass: write and count, then pad after.
                    let mut counting = Counting { out: w, chars: 0 };
                    native(&mut counting, &via, &bare)?;
                    let pad = width.saturating_sub(counting.chars);
                    return fill(w, o.fill, pad);
                }
                Align::Right => {
                    let pad = width.saturating_sub(measure(&via, &bare)?);
                    (pad, 0)
                }
                Align::Center => {
                    let pad = width.saturating_sub(measure(&via, &bare)?);
                    (pad / 2, pad.div_ceil(2))
                }
            };
            fill(w, o.fill, pre)?;
            native(w, &via, &bare)?;
            fill(w, o.fill, post)
        }
        _ => native(w, &via, o),
    }
}

/// Writes `v` with a real `std` formatter carrying every option of `o` except the fill.
fn native(w: &mut dyn Write, v: &Via<'_, '_>, o: &Opts) -> fmt::Result {
    macro_rules! fin {
        ([$($p:literal)*] $ty:literal) => {
            match (o.width, o.precision) {
                (None, None) => write!(w, concat!("{0:", $($p,)* $ty, "}"), v),
                (Some(a), None) => write!(w, concat!("{0:", $($p,)* "1$", $ty, "}"), v, a),
                (None, Some(b)) => write!(w, concat!("{0:", $($p,)* ".1$", $ty, "}"), v, b),
                (Some(a), Some(b)) => {
                    write!(w, concat!("{0:", $($p,)* "1$.2$", $ty, "}"), v, a, b)
                }
            }
        };
    }
    macro_rules! by_ty {
        ([$($p:literal)*]) => {
            match o.ty {
                Ty::Debug => fin!([$($p)*] "?"),
                Ty::DebugLowerHex => fin!([$($p)*] "x?"),
                Ty::DebugUpperHex => fin!([$($p)*] "X?"),
                // `Via`'s `Display` dispatches to the requested trait.
                _ => fin!([$($p)*] ""),
            }
        };
    }
    macro_rules! by_zero {
        ([$($p:literal)*]) => {
            if o.zero { by_ty!([$($p)* "0"]) } else { by_ty!([$($p)*]) }
        };
    }
    macro_rules! by_alt {
        ([$($p:literal)*]) => {
            if o.alt { by_zero!([$($p)* "#"]) } else { by_zero!([$($p)*]) }
        };
    }
    macro_rules! by_sign {
        ([$($p:literal)*]) => {
            if o.plus { by_alt!([$($p)* "+"]) } else { by_alt!([$($p)*]) }
        };
    }
    match o.align {
        None => by_sign!([]),
        Some(Align::Left) => by_sign!(["<"]),
        Some(Align::Center) => by_sign!(["^"]),
        Some(Align::Right) => by_sign!([">"]),
    }
}

/// Forwards a formatter to the implementation of trait `ty` for the recorded value.
struct Via<'v, 'a> {
    v: &'v Value<'a>,
    ty: Ty,
}

macro_rules! dispatch {
    ($v:expr, $f:expr, $tr:ident: $($var:ident)*) => {
        match $v {
            $(Value::$var(x) => fmt::$tr::fmt(x, $f),)*
            _ => Err(fmt::Error),
        }
    };
}

impl fmt::Display for Via<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ty {
            Ty::Display => match self.v {
                Value::Str(s) | Value::Pre(s) | Value::Formatted(s) => fmt::Display::fmt(*s, f),
                v => dispatch!(v, f, Display:
                    U8 U16 U32 U64 U128 I8 I16 I32 I64 I128 F32 F64 Bool Char),
            },
            Ty::Debug | Ty::DebugLowerHex | Ty::DebugUpperHex => fmt::Debug::fmt(self, f),
            Ty::LowerHex => {
                dispatch!(self.v, f, LowerHex: U8 U16 U32 U64 U128 I8 I16 I32 I64 I128)
            }
            Ty::UpperHex => {
                dispatch!(self.v, f, UpperHex: U8 U16 U32 U64 U128 I8 I16 I32 I64 I128)
            }
            Ty::Octal => dispatch!(self.v, f, Octal: U8 U16 U32 U64 U128 I8 I16 I32 I64 I128),
            Ty::Binary => dispatch!(self.v, f, Binary: U8 U16 U32 U64 U128 I8 I16 I32 I64 I128),
            Ty::LowerExp => {
                dispatch!(self.v, f, LowerExp: U8 U16 U32 U64 U128 I8 I16 I32 I64 I128 F32 F64)
            }
            Ty::UpperExp => {
                dispatch!(self.v, f, UpperExp: U8 U16 U32 U64 U128 I8 I16 I32 I64 I128 F32 F64)
            }
        }
    }
}

impl fmt::Debug for Via<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.v {
            Value::Str(s) => fmt::Debug::fmt(*s, f),
            // Pre-formatted text renders as itself, padded like a `&str` under `{}`.
            Value::Pre(s) | Value::Formatted(s) => fmt::Display::fmt(*s, f),
            Value::None => f.write_str("None"),
            // Not reached (`some_chain` unwraps `Some`), but exact anyway.
            Value::Some(inner) => f
                .debug_tuple("Some")
                .field(&Via {
                    v: inner,
                    ty: self.ty,
                })
                .finish(),
            v => dispatch!(v, f, Debug:
                U8 U16 U32 U64 U128 I8 I16 I32 I64 I128 F32 F64 Bool Char),
        }
    }
}
