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
    exp.push(format!("{:>16}|", ip.to_string()));
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

#[test]
fn structured_fields_keep_names_types_and_values() {
    use tachylog_format::Value;
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
