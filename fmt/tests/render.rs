//! `render` compared with `format!` on the same values and specs.

use std::fmt::{Binary, Debug, Display, LowerExp, LowerHex, Octal, UpperExp, UpperHex};

use tachylog_fmt::{RenderError, Ty, Value, parse, render, render_capped};

/// The recorded form of a call-site value.
trait ToValue {
    fn to_value(&self) -> Value<'_>;
}

macro_rules! to_value {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl ToValue for $t {
            fn to_value(&self) -> Value<'_> {
                Value::$v(*self)
            }
        })*
    };
}

to_value!(
    u8 => U8, u16 => U16, u32 => U32, u64 => U64, u128 => U128,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64, i128 => I128,
    f32 => F32, f64 => F64, bool => Bool, char => Char,
);

impl ToValue for usize {
    fn to_value(&self) -> Value<'_> {
        Value::U64(*self as u64)
    }
}

impl ToValue for isize {
    fn to_value(&self) -> Value<'_> {
        Value::I64(*self as i64)
    }
}

impl ToValue for &str {
    fn to_value(&self) -> Value<'_> {
        Value::Str(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value<'_> {
        Value::Str(self)
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value<'_> {
        match self {
            None => Value::None,
            Some(v) => Value::Some(Box::new(v.to_value())),
        }
    }
}

fn rendered(fmt: &str, names: &[&str], values: &[Value<'_>]) -> Result<String, RenderError> {
    let pieces = parse(fmt).map_err(RenderError::Parse)?;
    let mut out = String::from("prefix:");
    render(&mut out, &pieces, names, values)?;
    Ok(out["prefix:".len()..].to_owned())
}

fn check(fmt: &str, expected: &str, names: &[&str], values: &[Value<'_>]) {
    match rendered(fmt, names, values) {
        Ok(got) => assert_eq!(got, expected, "format {fmt:?} with {values:?}"),
        Err(e) => panic!("format {fmt:?} with {values:?}: {e} (expected {expected:?})"),
    }
    capped(fmt, expected, names, values);
}

/// `render_capped` at sizes around and below the whole rendering `expected`: cut exactly
/// where the cap (or the character boundary before it) is, and whole when it fits.
fn capped(fmt: &str, expected: &str, names: &[&str], values: &[Value<'_>]) {
    let pieces = parse(fmt).expect("parses");
    let n = expected.len();
    for max in [0, 1, 2, 3, n / 2, n.saturating_sub(1), n, n + 1] {
        let mut out = String::from("prefix:");
        let cut = render_capped(&mut out, &pieces, names, values, max)
            .unwrap_or_else(|e| panic!("format {fmt:?} capped at {max}: {e}"));
        let want = &expected[..expected.floor_char_boundary(max)];
        assert_eq!(
            cut,
            n > max,
            "format {fmt:?} with {values:?} capped at {max}"
        );
        assert_eq!(
            &out["prefix:".len()..],
            want,
            "format {fmt:?} capped at {max}"
        );
    }
}

/// `same!("fmt", positional...; name = value, ...)`: `render` equals `format!`.
macro_rules! same {
    ($fmt:literal $(, $a:expr)* $(; $($n:ident = $na:expr),* )?) => {{
        let expected = format!($fmt $(, $a)* $($(, $n = $na)*)?);
        let mut names: Vec<&str> = Vec::new();
        let mut values: Vec<Value<'_>> = Vec::new();
        $( names.push(""); let v = $a; values.push(v.to_value().to_owned_value()); )*
        $($( names.push(stringify!($n)); let v = $na; values.push(v.to_value().to_owned_value()); )*)?
        check($fmt, &expected, &names, &values);
    }};
}

/// Detaches a value from the temporary it was read from (strings are leaked: tests only).
trait Owned {
    fn to_owned_value(self) -> Value<'static>;
}

impl Owned for Value<'_> {
    fn to_owned_value(self) -> Value<'static> {
        match self {
            Value::U8(v) => Value::U8(v),
            Value::U16(v) => Value::U16(v),
            Value::U32(v) => Value::U32(v),
            Value::U64(v) => Value::U64(v),
            Value::U128(v) => Value::U128(v),
            Value::I8(v) => Value::I8(v),
            Value::I16(v) => Value::I16(v),
            Value::I32(v) => Value::I32(v),
            Value::I64(v) => Value::I64(v),
            Value::I128(v) => Value::I128(v),
            Value::F32(v) => Value::F32(v),
            Value::F64(v) => Value::F64(v),
            Value::Bool(v) => Value::Bool(v),
            Value::Char(v) => Value::Char(v),
            Value::Str(s) => Value::Str(Box::leak(s.to_owned().into_boxed_str())),
            Value::Pre(s) => Value::Pre(Box::leak(s.to_owned().into_boxed_str())),
            Value::Formatted(s) => Value::Formatted(Box::leak(s.to_owned().into_boxed_str())),
            Value::None => Value::None,
            Value::Some(b) => Value::Some(Box::new((*b).to_owned_value())),
        }
    }
}

/// Checks each spec literal against `format!` for one value `v`.
macro_rules! grid {
    ($v:ident; $($spec:literal),* $(,)?) => {
        $( check($spec, &format!($spec, $v), &[""], &[$v.to_value()]); )*
    };
}

/// Specs every `Display + Debug` type accepts.
fn common<T: Display + Debug + ToValue>(v: T) {
    grid!(v;
        "{}", "{:?}", "{:5}", "{:<5}", "{:^5}", "{:>5}", "{:^6}", "{:*<7}", "{:*^7}", "{:*>7}",
        "{:*^8}", "{:é^8}", "{:}>9}", "{:+}", "{:-}", "{:#}", "{:05}", "{:+08}", "{:<08}",
        "{:_^+09}", "{:x>08}", "{:0}", "{:.}", "{:.0}", "{:.1}", "{:.3}", "{:10.3}", "{:<10.3}",
        "{:*^10.3}", "{:+.2}", "{:=^30}", "{:1}", "{:#?}", "{:5?}", "{:<5?}", "{:^7?}",
        "{:*^9?}", "{:é>9?}", "{:+?}", "{:08?}", "{:+#012?}", "{:x?}", "{:X?}", "{:#x?}",
        "{:#X?}", "{:#010X?}", "{:x<010x?}", "{:.2?}", "{:.0?}", "{:*>12.1?}", "{:#12.4?}",
        "{:-^+#020.5?}",
    );
}

/// Specs only integers accept.
fn int<
    T: Display + Debug + LowerHex + UpperHex + Octal + Binary + LowerExp + UpperExp + ToValue + Copy,
>(
    v: T,
) {
    common(v);
    grid!(v;
        "{:x}", "{:X}", "{:o}", "{:b}", "{:#x}", "{:#X}", "{:#o}", "{:#b}", "{:#010b}",
        "{:010x}", "{:+x}", "{:*^12x}", "{:<#8o}", "{:é>#9X}", "{:.3x}", "{:e}", "{:E}",
        "{:.0e}", "{:.2e}", "{:.30e}", "{:12.3E}", "{:+e}", "{:010e}", "{:*<12e}", "{:#e}",
        "{:^+15.1E}",
    );
}

/// Specs only floats accept (besides the common ones).
fn float<T: Display + Debug + LowerExp + UpperExp + ToValue + Copy>(v: T) {
    common(v);
    grid!(v;
        "{:e}", "{:E}", "{:.0e}", "{:.2e}", "{:10.3e}", "{:+E}", "{:012e}", "{:*^14e}",
        "{:#e}", "{:.20}", "{:+.0}", "{:08.2}", "{:+010.3?}", "{:.17?}",
    );
}

/// Specs for `Option` (Debug only).
fn option<T: Debug + ToValue>(v: Option<T>) {
    grid!(v;
        "{:?}", "{:#?}", "{:5?}", "{:<5?}", "{:*^9?}", "{:+?}", "{:08?}", "{:x?}", "{:#X?}",
        "{:.1?}", "{:é>6.2?}", "{:#10?}", "{:*<#7?}",
    );
}

#[test]
fn grid_integers() {
    int(0u8);
    int(255u8);
    int(1234u16);
    int(u32::MAX);
    int(u64::MAX);
    int(usize::MAX);
    int(u128::MAX);
    int(0i8);
    int(-1i8);
    int(i8::MIN);
    int(-300i16);
    int(i32::MIN);
    int(42i32);
    int(i64::MIN);
    int(-7isize);
    int(i128::MIN);
    int(i128::MAX);
    int(1_000_000u32);
    int(1200u64);
}

#[test]
fn grid_floats() {
    for v in [
        0.0f64,
        -0.0,
        1.0,
        -1.5,
        0.1,
        1e20,
        1e21,
        1e-7,
        1e-5,
        123.456,
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        2.5,
        0.125,
    ] {
        float(v);
    }
    for v in [
        0.0f32,
        -0.0,
        0.1,
        1.0 / 3.0,
        16777217.0,
        1e20,
        1e-7,
        f32::NAN,
        f32::INFINITY,
        f32::MIN,
        f32::EPSILON,
    ] {
        float(v);
    }
}

#[test]
fn grid_bool_char_str() {
    common(true);
    common(false);
    for c in [
        'a', 'é', '\'', '"', '\n', '\0', '\u{7f}', '\u{200b}', '🦀', '\\', ' ', '*',
    ] {
        common(c);
    }
    for s in [
        "",
        "abc",
        "héllo wörld",
        "🦀🦀",
        "quote\"s and 'apos'",
        "new\nline\ttab\r",
        "\0\u{1b}[0m",
        "back\\slash",
        "\u{301}e",
        "\u{ffff}",
        "a longer string than the widths",
    ] {
        common(s);
    }
    common(String::from("owned"));
}

#[test]
fn grid_option() {
    option(None::<i32>);
    option(Some(1));
    option(Some(255u8));
    option(Some(-1i8));
    option(Some(-0.0f64));
    option(Some(0.1f32));
    option(Some(f64::NAN));
    option(Some("a\"b\nc"));
    option(Some('\''));
    option(Some(true));
    option(Some(None::<u8>));
    option(Some(Some(5u64)));
    option(Some(Some(Some("deep"))));
    option(Some(Some(None::<bool>)));
}

#[test]
fn edge_cases() {
    same!("{:?}", f64::NAN);
    same!("{}", f64::INFINITY);
    same!("{:+}", -0.0f64);
    same!("{:?}", -0.0f32);
    same!("{:?} {:?}", 0.1f32, 0.1f64);
    same!("{} {}", 0.1f32, 0.1f64);
    same!("{:?} {:?}", 1e20f64, 1e-7f64);
    same!("{} {}", 1e20f64, 1e-7f64);
    same!("{:?} {:?}", 1e16f64, 1e15f64);
    same!("{}", i128::MIN);
    same!("{}", u128::MAX);
    same!("{}", u64::MAX);
    same!("{:x} {:#010b} {:o}", -1i8, -1i8, -1i8);
    same!("{:x} {:X}", -1i128, i64::MIN);
    same!("{:+} {:+} {:+}", 5, -5, 0);
    same!("{:^9}|{:*^9}|{:*^9}", 1, "ab", 'c');
    same!("{:<5}|{:<5}|{:>5}", true, 'x', false);
    same!("{:.3}|{:.3}|{:.0}", "abcdef", 9.87654f64, "xyz");
    same!("{:.3}|{:6.3}|{:^6.2}", "héllo", "日本語の", "🦀🦀🦀");
    same!("{:10.3e}|{:<10.3E}|{:e}", 1234.5678f64, 0.00012f32, 0.0f64);
    same!("{:#x?} {:#X?} {:x?}", 255, 255u8, -1i16);
    same!("[{}] [{:5}] [{:?}] [{:5?}]", "", "", "", "");
    same!("{:5}|{:>5}|{:^5}", "é", "日本", "🦀");
    same!(
        "{:?}",
        "tab\t quote\" apos' nl\n cr\r nul\0 esc\u{1b} bell\u{7}"
    );
    same!("{:?} {:?} {:?}", '\'', '"', '\n');
    same!("{:?} {:?}", Some(1), None::<u8>);
    same!("{:5?}|{:5?}", Some(1), None::<u8>);
    same!("{:#?}", Some(1));
    same!("{:#?}", Some(Some("a")));
    same!("{1} {0} {1}", "a", "b");
    same!("{} {name} {}", 1, 2; name = "n");
    same!("{:1$}|", 7, 5usize);
    same!("{:.*}|", 2usize, 1.23456);
    same!("{:.*} {}", 3usize, "abcdef", 9);
    same!("{:>width$}|", "ab"; width = 6usize);
    same!("{x:*^width$.prec$}|"; x = 1.23456, width = 9usize, prec = 2usize);
    same!("{:0$}|{:1$}", 4usize, 5usize);
    same!("{:.1$}|{0:>1$}", 1.5f64, 3usize);
    same!("{2} {} {}", 1, 2, 3);
    same!("{:w$?}|{:w$?}", "ab", 'c'; w = 8usize);
    same!("{:x>w$?}|{:x>w$?}", "ab", 'c'; w = 8usize);
    same!("{:-} {:-?}", -0.0f64, 1.5);
    same!("{:e} {:E}", 1e20f32, i128::MIN);
    same!("{:.3e} {:.3e}", 123456u32, 999999u32);
    same!("{:+08?} {:08.3?}", f64::NAN, -0.0f64);
    same!("{:x^+08} {:x<08} {:^08}", 5, -5, true);
    same!("{{}} {{{}}} }}{{", 1);
    same!("é{}ü{:?}日本", 'ß', "ß");
}

/// Named arguments also have positions after the positional ones, as in `std` (where
/// `format!("{} {} {}", 1, 2, extra = 3)` prints `1 2 3`, with a lint warning).
#[test]
fn named_used_positionally() {
    let values = [Value::I32(1), Value::I32(2), Value::I32(3)];
    let names = ["", "", "extra"];
    assert_eq!(rendered("{} {} {}", &names, &values).unwrap(), "1 2 3");
    assert_eq!(
        rendered("{2} {0} {extra}", &names, &values).unwrap(),
        "3 1 3"
    );
    let values = [Value::I32(1), Value::I32(2), Value::U64(6)];
    let names = ["", "", "w"];
    assert_eq!(
        rendered("{:2$}|{}", &names, &values).unwrap(),
        format!("{:2$}|{}", 1, 2, 6)
    );
}

#[test]
fn counts_accept_unsigned_ints() {
    let pieces = parse("[{:1$}]").unwrap();
    for width in [
        Value::U8(5),
        Value::U16(5),
        Value::U32(5),
        Value::U64(5),
        Value::U128(5),
        // Records of releases that wrote an integer literal used as a count as an `i32`.
        Value::I8(5),
        Value::I16(5),
        Value::I32(5),
        Value::I64(5),
        Value::I128(5),
    ] {
        let mut out = String::new();
        render(&mut out, &pieces, &["", ""], &[Value::I32(1), width]).unwrap();
        assert_eq!(out, format!("[{:1$}]", 1, 5));
    }
    for bad in [
        Value::I64(-5),
        Value::I8(-1),
        Value::I32(70_000),
        Value::F64(5.0),
        Value::Str("5"),
        Value::Some(Box::new(Value::U64(5))),
        Value::U64(70_000),
        Value::U128(u128::MAX),
    ] {
        let mut out = String::new();
        let e = render(&mut out, &pieces, &["", ""], &[Value::I32(1), bad.clone()]);
        assert!(matches!(e, Err(RenderError::BadCount(_))), "{bad:?}: {e:?}");
    }
    // The largest count std accepts.
    assert_eq!(
        rendered("{:1$}", &[], &[Value::U8(1), Value::U64(65535)])
            .unwrap()
            .len(),
        65535
    );
}

#[test]
fn pre_formatted() {
    let pre = |s: &'static str| [Value::Pre(s)];
    for (fmt, s, expected) in [
        ("{}", "a\"b", "a\"b"),
        ("{:?}", "a\"b", "a\"b"),
        ("{:?}", "Point { x: 1 }", "Point { x: 1 }"),
        ("{:#?}", "x", "x"),
        ("{:>6}", "ab", "    ab"),
        ("{:6?}", "ab", "ab    "),
        ("{:*^6?}", "ab", "**ab**"),
        ("{:.1?}", "ab", "a"),
        ("{:x?}", "ab", "ab"),
    ] {
        assert_eq!(rendered(fmt, &[""], &pre(s)).unwrap(), expected, "{fmt}");
    }
    // Inside `Some`, pretty printing indents each line of the text.
    let v = [Value::Some(Box::new(Value::Pre("A {\n    x: 1,\n}")))];
    assert_eq!(
        rendered("{:#?}", &[""], &v).unwrap(),
        format!("{:#?}", Some(Multi))
    );
    assert_eq!(
        rendered("{:?}", &[""], &v).unwrap(),
        "Some(A {\n    x: 1,\n})"
    );
}

#[test]
fn formatted_on_the_call_site_is_written_as_is() {
    // The spec was applied where the value was formatted: padding, truncation or a trait the
    // text does not have would change it.
    let f = |s: &'static str| [Value::Formatted(s)];
    for (fmt, s) in [
        ("{}", "a\"b"),
        ("{:>20}", "short"),
        ("{:.1}", "1.00"),
        ("{:#?}", "Some(\n    1,\n)"),
        ("{:*^9?}", "ab"),
        ("{:x}", "ff"),
    ] {
        assert_eq!(rendered(fmt, &[""], &f(s)).unwrap(), s, "{fmt}");
    }
    // Its `.*` count is still taken, so the arguments after it line up.
    let v = [Value::U64(9), Value::Formatted("x"), Value::U8(7)];
    assert_eq!(rendered("[{:.*}] {}", &["", "", ""], &v).unwrap(), "[x] 7");
}

/// A type whose Debug is multi-line text, like `Pre("A {\n    x: 1,\n}")`.
struct Multi;

impl Debug for Multi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("A {\n    x: 1,\n}")
    }
}

#[test]
fn unsupported_and_missing() {
    let cases: Vec<(&str, Vec<&str>, Vec<Value<'_>>)> = vec![
        ("{:x}", vec![""], vec![Value::Str("a")]),
        ("{:b}", vec![""], vec![Value::F64(1.0)]),
        ("{:e}", vec![""], vec![Value::Bool(true)]),
        ("{:o}", vec![""], vec![Value::Char('a')]),
        ("{:X}", vec![""], vec![Value::Pre("a")]),
        ("{}", vec![""], vec![Value::None]),
        ("{}", vec![""], vec![Value::Some(Box::new(Value::U8(1)))]),
        ("{:x}", vec![""], vec![Value::Some(Box::new(Value::U8(1)))]),
    ];
    for (fmt, names, values) in &cases {
        let e = rendered(fmt, names, values).unwrap_err();
        assert!(matches!(e, RenderError::Unsupported { .. }), "{fmt}: {e:?}");
        assert!(!e.to_string().is_empty());
    }
    for (fmt, names, values) in [
        ("{}", vec![], vec![]),
        ("{} {}", vec![""], vec![Value::U8(1)]),
        ("{1}", vec![""], vec![Value::U8(1)]),
        ("{name}", vec![""], vec![Value::U8(1)]),
        ("{name}", vec!["other"], vec![Value::U8(1)]),
        ("{:.*}", vec![""], vec![Value::U8(1)]),
        ("{:w$}", vec![""], vec![Value::U8(1)]),
        ("{:5$}", vec![""], vec![Value::U8(1)]),
    ] {
        let e = rendered(fmt, &names, &values).unwrap_err();
        assert!(matches!(e, RenderError::MissingArg(_)), "{fmt}: {e:?}");
    }
}

#[test]
fn mismatched_names_do_not_panic() {
    let values = [Value::U8(1), Value::U8(2), Value::U8(3)];
    // Fewer names than args: the missing ones are positional.
    assert_eq!(rendered("{} {} {}", &["", ""], &values).unwrap(), "1 2 3");
    assert_eq!(rendered("{} {a}", &["", "a"], &values).unwrap(), "1 2");
    assert!(rendered("{b}", &["", "a"], &values).is_err());
    // More names than args.
    assert_eq!(rendered("{0}", &["", "a", "b", "c"], &values).unwrap(), "1");
    assert!(rendered("{c}", &["", "a", "b", "c"], &values).is_err());
    assert!(rendered("{}", &[], &[]).is_err());
}

#[test]
fn forged_pieces_do_not_panic() {
    use tachylog_fmt::{ArgRef, Count, Piece, Placeholder, Spec};
    let spec = Spec {
        fill: 'é',
        align: None,
        sign_plus: true,
        sign_minus: true,
        alternate: true,
        zero: true,
        width: Some(Count::Is(usize::MAX)),
        precision: Some(Count::Arg(ArgRef::Next)),
        ty: Ty::Octal,
    };
    let pieces = [Piece::Arg(Placeholder {
        arg: ArgRef::Name(""),
        spec,
    })];
    let mut out = String::new();
    assert!(render(&mut out, &pieces, &[""], &[Value::U8(1)]).is_err());
    let pieces = [Piece::Arg(Placeholder {
        arg: ArgRef::Index(usize::MAX),
        spec: Spec {
            width: Some(Count::Star),
            ..spec
        },
    })];
    assert!(render(&mut out, &pieces, &["", ""], &[Value::U8(1), Value::U8(2)]).is_err());
    // A deep chain of `Some` renders without recursion.
    let mut v = Value::U8(7);
    for _ in 0..100_000 {
        v = Value::Some(Box::new(v));
    }
    let mut out = String::new();
    let pieces = parse("{:?}").unwrap();
    render(&mut out, &pieces, &[""], std::slice::from_ref(&v)).unwrap();
    assert_eq!(out.len(), 100_000 * 6 + 1);
    // Dropping it iteratively, as the decoder should.
    while let Value::Some(inner) = v {
        v = *inner;
    }
}

#[test]
fn plain_form_only_for_in_order_plain_placeholders_using_every_argument() {
    use tachylog_fmt::{Plain, parse};
    fn plain<'a>(f: &'a str, names: &[&str]) -> Option<Vec<Option<&'a str>>> {
        Plain::new(&parse(f).unwrap(), names).map(|p| p.steps)
    }
    assert_eq!(
        plain("a {} b {x} c {2}{{", &["", "x", ""]),
        Some(vec![
            Some("a "),
            None,
            Some(" b "),
            None,
            Some(" c "),
            None,
            Some("{")
        ])
    );
    assert_eq!(plain("", &[]), Some(vec![]));
    assert_eq!(plain("{0}{1}", &["", ""]), Some(vec![None, None]));
    // Out of order, repeated, unused, missing, or not a plain `{}`.
    for (f, names) in [
        ("{1} {0}", &["", ""][..]),
        ("{x} {x}", &["x"]),
        ("{x}={}", &["x", ""]),
        ("{}", &["", ""]),
        ("{} {}", &[""]),
        ("{y}", &["x"]),
        ("{:5}", &[""]),
        ("{:.1}", &[""]),
        ("{:?}", &[""]),
        ("{:+}", &[""]),
        ("{:#}", &[""]),
        ("{:x}", &[""]),
    ] {
        assert_eq!(plain(f, names), None, "{f}");
    }
    // Fill and alignment without a width change nothing: still plain.
    assert!(plain("{:*<}", &[""]).is_some());
}

#[test]
fn a_cap_stops_huge_widths_where_it_is() {
    // 1.3 GB of padding asked for; the first MiB rendered, and nothing after it.
    let fmt = "{0:65535}".repeat(20_000);
    let pieces = parse(&fmt).expect("parses");
    let mut out = String::new();
    let cut = render_capped(&mut out, &pieces, &[""], &[Value::U32(7)], 1 << 20).expect("renders");
    assert!(cut);
    let whole = format!("{:65535}", 7).repeat((1 << 20) / 65535 + 1);
    assert_eq!(out.len(), 1 << 20);
    assert!(out == whole[..1 << 20]);
    // A format string that is all text is cut the same way, at a character boundary.
    let text = "é".repeat(1000);
    let mut out = String::new();
    let cut =
        render_capped(&mut out, &parse(&text).expect("parses"), &[], &[], 999).expect("renders");
    assert!(cut);
    assert_eq!(out, "é".repeat(499));
}
