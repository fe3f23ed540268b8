//! Every argument type and format spec: the decoder's message equals `format!` on the same
//! values, through the whole pipeline (macro -> ring -> drain -> segment -> reader -> render).
mod common;

use std::net::Ipv4Addr;

macro_rules! check {
    ($exp:ident, $fmt:tt $(, $($arg:tt)*)?) => {{
        tachylog::info!($fmt $(, $($arg)*)?);
        $exp.push(format!($fmt $(, $($arg)*)?));
    }};
}

#[test]
fn decoded_messages_equal_format() {
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = tachylog::Builder::new().dir(dir.path()).init().unwrap();
    let mut exp: Vec<String> = Vec::new();

    // Integers of every width, at their extremes.
    check!(exp, "{}", 42u8);
    check!(exp, "{}", u16::MAX);
    check!(exp, "{}", u32::MAX);
    check!(exp, "{}", u64::MAX);
    check!(exp, "{}", u128::MAX);
    check!(exp, "{}", usize::MAX);
    check!(exp, "{}", i8::MIN);
    check!(exp, "{}", i16::MIN);
    check!(exp, "{}", i32::MIN);
    check!(exp, "{}", i64::MIN);
    check!(exp, "{}", i128::MIN);
    check!(exp, "{}", isize::MIN);
    // Radix, flags, width, fill, alignment.
    check!(exp, "{:x}", -1i8);
    check!(exp, "{:x}", -1i64);
    check!(exp, "{:#010b}", 5u8);
    check!(exp, "{:o}", 64u32);
    check!(exp, "{:X}", 0xdead_beefu32);
    check!(exp, "{:#x}", 255u64);
    check!(exp, "{:#X}", i128::MIN);
    check!(exp, "{:+}", 5i32);
    check!(exp, "{:+05}", -3i64);
    check!(exp, "{:^9}|", 42i32);
    check!(exp, "{:*^9}", 42i32);
    check!(exp, "{:<5}|", 7u8);
    check!(exp, "{:>8}", -12i16);
    check!(exp, "{:e}", 1_234_567u64);
    check!(exp, "{:E}", 1500i32);
    check!(exp, "{:#x?}", 255u32);
    check!(exp, "{:x?}", 255u32);
    // Floats, including the awkward ones.
    check!(exp, "{:08.3}", -1.5f64);
    check!(exp, "{:?}", 0.1f32);
    check!(exp, "{:?}", 0.1f64);
    check!(exp, "{}", f64::NAN);
    check!(exp, "{:?}", f32::NAN);
    check!(exp, "{}", f64::INFINITY);
    check!(exp, "{}", f64::NEG_INFINITY);
    check!(exp, "{}", -0.0f64);
    check!(exp, "{:?}", -0.0f64);
    check!(exp, "{:+}", 0.0f64);
    check!(exp, "{:.3}", 1.23456f64);
    check!(exp, "{:10.3e}", 123_456.789f64);
    check!(exp, "{:?}", 1e20f64);
    check!(exp, "{:?}", 1e-7f64);
    check!(exp, "{}", 1e300f64);
    check!(exp, "{:e}", f32::MAX);
    check!(exp, "{}", f32::MIN_POSITIVE);
    check!(exp, "{:>12.1}", 2.25f32);
    // bool and char.
    check!(exp, "{}", true);
    check!(exp, "{:<6}|", false);
    check!(exp, "{:?}", 'x');
    check!(exp, "{:?}", '\'');
    check!(exp, "{}", 'é');
    check!(exp, "{:^5}|", 'z');
    check!(exp, "{:?}", '\u{0}');
    // Strings: empty, non-ASCII, escapes, truncation, width counted in chars.
    check!(exp, "[{}]", "");
    check!(exp, "{:?}", "");
    check!(exp, "{}", "héllo wörld ✓");
    check!(exp, "{:?}", "quote\" and \n newline\t tab \\");
    check!(exp, "{:.3}", "truncate");
    check!(exp, "{:>10}|", "日本語");
    check!(exp, "{:-^12}", "mid");
    check!(exp, "{:?}", "\u{1b}[31m red");
    check!(exp, "{}", String::from("owned string"));
    let s = String::from("borrowed String");
    check!(exp, "{}", &s);
    check!(exp, "{:?}", s);
    // Option.
    check!(exp, "{:?}", Some(5i32));
    check!(exp, "{:?}", None::<i32>);
    check!(exp, "{:?}", Some("s"));
    check!(exp, "{:5?}", Some(1u8));
    check!(exp, "{:#?}", Some(1u8));
    check!(exp, "{:?}", Some(Some(-2i64)));
    check!(exp, "{:?}", None::<&str>);
    // Positional, named, captured, counts from arguments.
    check!(exp, "{1} {0} {1}", "a", 2u8);
    check!(exp, "{a} and {b:?}", a = 1, b = "x");
    let (qty, price, width) = (3u32, 101.256f64, 9usize);
    check!(exp, "{qty} at {price:.2}");
    check!(exp, "[{qty:>width$}]");
    check!(exp, "[{:1$}]", 7, 5usize);
    check!(exp, "{:.*}", 2usize, 1.23456f64);
    check!(exp, "[{:>w$}]", "r", w = 6usize);
    check!(exp, "{{literal}} {}", 1);
    check!(exp, "no arguments at all");
    // Values formatted eagerly on the calling thread.
    let ip = Ipv4Addr::new(10, 1, 2, 3);
    tachylog::info!("{}", tachylog::display(ip));
    exp.push(format!("{}", ip));
    tachylog::info!("{:>16}|", tachylog::display(ip));
    exp.push(format!("{:>16}|", ip));
    tachylog::info!("{:?}", tachylog::debug(vec![1, 2, 3]));
    exp.push(format!("{:?}", vec![1, 2, 3]));

    tachylog::flush();
    drop(guard);
    let d = common::decode([dir.path()]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let got = d.messages();
    assert!(exp.len() >= 80, "{} pairs", exp.len());
    for (i, (g, e)) in got.iter().zip(&exp).enumerate() {
        assert_eq!(g, e, "pair {i}");
    }
    assert_eq!(got.len(), exp.len());
}

/// A type whose `Display` ignores width, fill and precision, as most hand-written ones do.
struct Order(u32);

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "order#{}", self.0)
    }
}

#[derive(Debug)]
#[allow(dead_code)] // read by `Debug` only
struct Fill {
    px: f64,
    venue: &'static str,
}

/// Counts given as literals and expressions (recorded as `usize`, as `format!` takes them),
/// and values formatted on the calling thread with their placeholder's whole spec.
#[test]
fn counts_and_eager_values_equal_format() {
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = tachylog::Builder::new().dir(dir.path()).init().unwrap();
    let mut exp: Vec<String> = Vec::new();

    // Counts as integer literals: inferred as `usize` by `format!`, so recorded as one.
    check!(exp, "[{:>w$}]", "x", w = 8);
    check!(exp, "[{:.*}]", 2, 1.005f64);
    check!(exp, "[{:>1$}]", "x", 8);
    check!(exp, "[{:>1$.2$}]", 2.5f64, 9, 3);
    check!(exp, "[{0:^0$}]", 7);
    let v = [1u8; 4];
    check!(
        exp,
        "[{:>w$}] [{:.*}]",
        "y",
        1 + 2,
        1.23456f32,
        w = v.len() * 2
    );
    let w = 6;
    check!(exp, "[{:<w$}] [{:>w$.p$}]", 'c', 0.5f64, p = 2);

    // `display()` / `debug()` honour the whole spec, as `format!` does on the value itself.
    let o = Order(7);
    tachylog::info!("[{:>20}]", tachylog::display(&o));
    exp.push(format!("[{:>20}]", o));
    tachylog::info!("[{:*<12.3}]", tachylog::display(&o));
    exp.push(format!("[{:*<12.3}]", o));
    let ip = Ipv4Addr::new(10, 1, 2, 3);
    tachylog::info!(
        "[{:^15}] [{:.4}]",
        tachylog::display(ip),
        tachylog::display(ip)
    );
    exp.push(format!("[{:^15}] [{:.4}]", ip, ip));
    tachylog::info!("[{:>w$}]", tachylog::display(ip), w = 17);
    exp.push(format!("[{:>w$}]", ip, w = 17));
    let fill = Fill {
        px: 101.25,
        venue: "XNAS",
    };
    tachylog::info!("{:#?}", tachylog::debug(&fill));
    exp.push(format!("{:#?}", fill));
    tachylog::info!(
        "{:?} {:.1?}",
        tachylog::debug(&fill),
        tachylog::debug(&fill)
    );
    exp.push(format!("{:?} {:.1?}", fill, fill));
    tachylog::info!("{:#?}", tachylog::debug(Some(vec![1, 2])));
    exp.push(format!("{:#?}", Some(vec![1, 2])));
    tachylog::info!("{:>8}|{:<6?}|", tachylog::debug("s"), tachylog::debug('c'));
    exp.push(format!("{:>8?}|{:<6?}|", "s", 'c'));
    // The same argument under one spec twice.
    tachylog::info!("{0:>9} {0:>9}", tachylog::display(&o));
    exp.push(format!("{0:>9} {0:>9}", o));
    // Captured, with a captured width.
    let (d, cw) = (tachylog::display(&o), 11usize);
    tachylog::info!("[{d:>cw$}]");
    exp.push(format!("[{:>cw$}]", o));

    drop(guard);
    let got = common::decode([dir.path()]).messages();
    assert_eq!(got, exp);
}

#[test]
fn structured_fields_keep_names_types_and_values() {
    use tachylog_fmt::Value;
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = tachylog::Builder::new().dir(dir.path()).init().unwrap();
    let user = String::from("ana");
    tachylog::warn!(
        target: "orders",
        user = user.as_str(),
        qty = 5u16,
        px = -1.25f64,
        ok = true,
        note = None::<&str>,
        "order {} placed",
        17u64
    );
    drop(guard);
    let d = common::decode([dir.path()]);
    let r = &d.records[0];
    assert_eq!(r.level, tachylog::Level::Warn);
    assert_eq!(&*r.callsite().target, "orders");
    assert_eq!(r.message(), "order 17 placed");
    assert_eq!(
        r.fields().unwrap(),
        vec![
            ("user", Value::Str("ana")),
            ("qty", Value::U16(5)),
            ("px", Value::F64(-1.25)),
            ("ok", Value::Bool(true)),
            ("note", Value::None),
        ]
    );
    assert_eq!(&*r.callsite().file, "tests/roundtrip.rs");
    assert!(r.callsite().line > 0);
}

/// Calls `$cb!($args concat!(..))` once for each combination of one option from each list, in
/// order: `product!(cb (args) () (["a" "b"] ["c"]))` calls `cb!((args) concat!("", "a", "c"))`
/// and `cb!((args) concat!("", "b", "c"))`.
macro_rules! product {
    (@each $cb:ident $args:tt $acc:tt $rest:tt) => {};
    (@each $cb:ident $args:tt ($($acc:tt)*) $rest:tt $opt:literal $($more:literal)*) => {
        product!($cb $args ($($acc)* , $opt) $rest);
        product!(@each $cb $args ($($acc)*) $rest $($more)*);
    };
    ($cb:ident $args:tt ($($acc:tt)*) ()) => {
        $cb!($args concat!("" $($acc)*));
    };
    ($cb:ident $args:tt $acc:tt ([$($opt:literal)*] $($rest:tt)*)) => {
        product!(@each $cb $args $acc ($($rest)*) $($opt)*);
    };
}

/// Every fill and alignment, sign, `#` and `0` flag: the part of a spec before the counts.
macro_rules! flags {
    ($cb:ident $args:tt $($rest:tt)*) => {
        product!($cb $args () (
            ["" "*<" "^" "_>"] ["" "+"] ["" "#"] ["" "0"] $($rest)*
        ))
    };
}

/// The values of one case of [`every_spec_equals_format`], shared by all of its specs.
#[derive(Debug)]
struct Case {
    w: usize,
    p: usize,
    u8: u8,
    i32: i32,
    i64: i64,
    u128: u128,
    f32: f32,
    f64: f64,
    s: String,
    c: char,
    b: bool,
    order: u32,
}

/// Logs `$spec` (a spec ending in `w$.p$`) applied to each integer type, and the same with
/// `format!`.
macro_rules! ints {
    (($exp:ident, $c:ident) $spec:expr) => {{
        let (w, p) = ($c.w, $c.p);
        tachylog::info!(
            concat!(
                "{0:", $spec, "}|{1:", $spec, "}|{2:", $spec, "}|{3:", $spec, "}"
            ),
            $c.u8,
            $c.i32,
            $c.i64,
            $c.u128,
            w = w,
            p = p
        );
        $exp.push(format!(
            concat!(
                "{0:", $spec, "}|{1:", $spec, "}|{2:", $spec, "}|{3:", $spec, "}"
            ),
            $c.u8,
            $c.i32,
            $c.i64,
            $c.u128,
            w = w,
            p = p
        ));
    }};
}

/// Floats, with a width and a precision, then with a width only.
macro_rules! floats {
    (($exp:ident, $c:ident) $spec:expr) => {{
        let (w, p) = ($c.w, $c.p);
        tachylog::info!(
            concat!("{0:", $spec, "}|{1:", $spec, "}"),
            $c.f32,
            $c.f64,
            w = w,
            p = p
        );
        $exp.push(format!(
            concat!("{0:", $spec, "}|{1:", $spec, "}"),
            $c.f32,
            $c.f64,
            w = w,
            p = p
        ));
    }};
}

macro_rules! floats_no_precision {
    (($exp:ident, $c:ident) $spec:expr) => {{
        let w = $c.w;
        tachylog::info!(
            concat!("{0:", $spec, "}|{1:", $spec, "}"),
            $c.f32,
            $c.f64,
            w = w
        );
        $exp.push(format!(
            concat!("{0:", $spec, "}|{1:", $spec, "}"),
            $c.f32,
            $c.f64,
            w = w
        ));
    }};
}

/// Text, `char`, `bool`, and values formatted on the calling thread (a `Display` that ignores
/// the spec, one that honours it, and a `Debug`), under `{}` and `{:?}`.
macro_rules! texts {
    (($exp:ident, $c:ident) $spec:expr) => {{
        let (w, p) = ($c.w, $c.p);
        let (order, ip) = (Order($c.order), Ipv4Addr::from($c.order));
        let fill = Fill {
            px: $c.f64,
            venue: "XNAS",
        };
        tachylog::info!(
            concat!(
                "{0:", $spec, "}|{1:", $spec, "}|{2:", $spec, "}|{3:", $spec, "}|{4:", $spec,
                "}|{5:", $spec, "}"
            ),
            $c.s.as_str(),
            $c.c,
            $c.b,
            tachylog::display(&order),
            tachylog::display(ip),
            tachylog::debug(&fill),
            w = w,
            p = p
        );
        $exp.push(format!(
            concat!(
                "{0:", $spec, "}|{1:", $spec, "}|{2:", $spec, "}|{3:", $spec, "}|{4:", $spec,
                "}|{5:", $spec, "}"
            ),
            $c.s.as_str(),
            $c.c,
            $c.b,
            tachylog::display(&order),
            tachylog::display(ip),
            tachylog::debug(&fill),
            w = w,
            p = p
        ));
    }};
}

macro_rules! texts_no_precision {
    (($exp:ident, $c:ident) $spec:expr) => {{
        let w = $c.w;
        let (order, ip) = (Order($c.order), Ipv4Addr::from($c.order));
        let fill = Fill {
            px: $c.f64,
            venue: "XNAS",
        };
        tachylog::info!(
            concat!(
                "{0:", $spec, "}|{1:", $spec, "}|{2:", $spec, "}|{3:", $spec, "}|{4:", $spec,
                "}|{5:", $spec, "}"
            ),
            $c.s.as_str(),
            $c.c,
            $c.b,
            tachylog::display(&order),
            tachylog::display(ip),
            tachylog::debug(&fill),
            w = w
        );
        $exp.push(format!(
            concat!(
                "{0:", $spec, "}|{1:", $spec, "}|{2:", $spec, "}|{3:", $spec, "}|{4:", $spec,
                "}|{5:", $spec, "}"
            ),
            $c.s.as_str(),
            $c.c,
            $c.b,
            tachylog::display(&order),
            tachylog::display(ip),
            tachylog::debug(&fill),
            w = w
        ));
    }};
}

fn case() -> impl proptest::strategy::Strategy<Value = Case> {
    use proptest::prelude::*;
    (
        (0usize..24, 0usize..12),
        (any::<u8>(), any::<i32>(), any::<i64>(), any::<u128>()),
        (any::<f32>(), any::<f64>()),
        (any::<String>(), any::<char>(), any::<bool>(), any::<u32>()),
    )
        .prop_map(
            |((w, p), (u8, i32, i64, u128), (f32, f64), (s, c, b, order))| Case {
                w,
                p,
                u8,
                i32,
                i64,
                u128,
                f32,
                f64,
                s,
                c,
                b,
                order,
            },
        )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Every combination of fill, alignment, sign, `#`, `0` and trait, with random widths,
    /// precisions and values: the decoded message equals `format!`'s.
    #[test]
    fn every_spec_equals_format(c in case()) {
        let _s = common::serial();
        let dir = tempfile::tempdir().unwrap();
        let guard = tachylog::Builder::new()
            .dir(dir.path())
            .segment_size(8 << 20)
            .overflow(tachylog::Overflow::Block)
            .init()
            .unwrap();
        let mut exp: Vec<String> = Vec::new();
        flags!(ints (exp, c) ["w$.p$"] ["" "?" "x" "b" "e" "X?"]);
        flags!(floats (exp, c) ["w$.p$"] ["" "?" "e"]);
        flags!(floats_no_precision (exp, c) ["w$"] ["" "?" "E"]);
        flags!(texts (exp, c) ["w$.p$"] ["" "?"]);
        flags!(texts_no_precision (exp, c) ["w$"] ["" "?"]);
        drop(guard);
        let got = common::decode([dir.path()]).messages();
        proptest::prop_assert_eq!(got.len(), exp.len());
        for (g, e) in got.iter().zip(&exp) {
            proptest::prop_assert_eq!(g, e);
        }
    }
}
