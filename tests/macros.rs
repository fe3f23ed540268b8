//! Every arm and form of the logging macros: each must compile and evaluate each argument
//! exactly once. (Round-trip assertions on what is recorded are in `roundtrip.rs`.)

use std::cell::Cell;

use tachylog::Level;

/// Counts evaluations: `n.hit(v)` returns `v` and counts one evaluation.
/// A logger at `Trace` for the whole test process, so every macro call is enabled.
fn logger() {
    static GUARD: std::sync::OnceLock<(tachylog::Guard, tempfile::TempDir)> =
        std::sync::OnceLock::new();
    GUARD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let g = tachylog::Builder::new()
            .dir(dir.path())
            .level(Level::Trace)
            .init()
            .unwrap();
        (g, dir)
    });
}

#[derive(Default)]
struct Counter(Cell<u32>);

impl Counter {
    fn hit<T>(&self, v: T) -> T {
        self.0.set(self.0.get() + 1);
        v
    }
    fn get(&self) -> u32 {
        self.0.get()
    }
}

#[test]
fn every_level_macro() {
    logger();
    tachylog::trace!("trace {}", 1);
    tachylog::debug!("debug {}", 2);
    tachylog::info!("info {}", 3);
    tachylog::warn!("warn {}", 4);
    tachylog::error!("error {}", 5);
}

#[test]
fn imported_macros() {
    logger();
    use tachylog::{debug, error, info, log, trace, warn};
    trace!("a");
    debug!("b");
    info!("c");
    warn!("d");
    error!("e");
    log!(Level::Info, "f");
}

#[test]
fn message_only_and_empty() {
    logger();
    tachylog::info!("plain message");
    tachylog::info!("plain message",);
    tachylog::info!("escaped {{braces}}");
    tachylog::info!(r"raw {} string", 1);
    tachylog::info!(r#"raw "quoted" {}"#, 1);
    tachylog::info!();
    tachylog::info!("");
}

#[test]
fn log_with_runtime_level() {
    logger();
    let n = Counter::default();
    for level in [
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ] {
        tachylog::log!(level, "level {:?} {}", tachylog::debug(level), n.hit(1u8));
        tachylog::log!(level, target: "rt", x = n.hit(2), "with {} and fields", n.hit(3));
        tachylog::log!(level, x = n.hit(4));
        tachylog::log!(level, "trailing",);
        tachylog::log!(level);
        tachylog::log!(level,);
    }
    assert_eq!(n.get(), 5 * 4);
    // Any expression of type `Level`, evaluated once.
    let levels = Counter::default();
    tachylog::log!(levels.hit(Level::Warn), "once");
    assert_eq!(levels.get(), 1);
}

const TARGET: &str = "const-target";

#[test]
fn targets() {
    logger();
    tachylog::info!(target: "net", "connected");
    tachylog::info!(target: "net", "connected to {}", "host",);
    tachylog::info!(target: TARGET, "from a const");
    tachylog::info!(target: concat!("a", "::", "b"), "from a const expression");
    tachylog::info!(target: "net", peer = 7u16, "with a field");
    tachylog::info!(target: "net", peer = 7u16);
    tachylog::info!(target: "net", peer = 7u16,);
    tachylog::info!(target: "net");
    tachylog::warn!(target: "net",);
}

#[test]
fn fields() {
    logger();
    let n = Counter::default();
    tachylog::info!(user = n.hit("ada"), qty = n.hit(3u32));
    tachylog::info!(user = n.hit("ada"), qty = n.hit(3u32),);
    tachylog::info!(user = n.hit("ada"), qty = n.hit(3u32), "order placed");
    tachylog::info!(user = n.hit("ada"), "order of {} placed", n.hit(3u32),);
    tachylog::info!(r#type = n.hit("kw"), "raw identifier field");
    assert_eq!(n.get(), 9);
}

#[test]
fn positional_and_named() {
    logger();
    let n = Counter::default();
    tachylog::info!("{} {}", n.hit(1), n.hit(2));
    tachylog::info!("{1} {0} {1}", n.hit(1), n.hit(2));
    tachylog::info!("{a} {b} {a}", a = n.hit(1), b = n.hit(2));
    tachylog::info!("{} {a} {}", n.hit(1), n.hit(2), a = n.hit(3),);
    tachylog::info!("{:>w$.p$}", n.hit(1.5), w = n.hit(8), p = n.hit(2));
    tachylog::info!("{:.*}", n.hit(3), n.hit(1.23456f64));
    tachylog::info!(
        "{:#010x} {:+e} {:o} {:b} {:X}",
        n.hit(255u32),
        n.hit(1e3),
        8,
        5u8,
        255i64
    );
    assert_eq!(n.get(), 16);
}

#[test]
fn inline_captures() {
    logger();
    let qty = 3u32;
    let user = "ada";
    let width = 10usize;
    let prec = 2usize;
    let price = 9.5f64;
    tachylog::info!("{user} bought {qty}");
    tachylog::info!("{qty:>width$}|{qty:<width$}|{qty:^width$}");
    tachylog::info!("{price:.prec$} {price:>width$.prec$} {:.prec$}", 1.0f32);
    tachylog::info!("{user} {} {named} {qty}", 1, named = 2,);
    // An explicit named argument wins over a local of the same name.
    tachylog::info!("{qty}", qty = 4u8);
    // Captures next to fields of the same name: fields are separate.
    tachylog::info!(qty = 5u8, "{qty}");
    // A keyword captures the raw identifier, as in `format_args!`.
    let r#type = "kw";
    tachylog::info!("{type}");
    // Unicode identifiers.
    let ünï = 1;
    tachylog::info!("{ünï}");
}

#[test]
#[allow(clippy::approx_constant)]
fn every_argument_type() {
    logger();
    let s = String::from("owned");
    let rs = &s;
    let some: Option<i32> = Some(1);
    let none: Option<i32> = None;
    let some_str: Option<&str> = Some("x");
    let path = std::path::Path::new("/tmp");
    tachylog::info!(
        "{} {} {} {} {} {} {} {} {} {} {} {}",
        1u8,
        2u16,
        3u32,
        4u64,
        5u128,
        6usize,
        -1i8,
        -2i16,
        -3i32,
        -4i64,
        -5i128,
        -6isize
    );
    tachylog::info!("{} {} {:?} {} {}", 1.5f32, 2.5f64, 3.14, true, 'c');
    tachylog::info!("{} {} {} {:?}", "str", s, rs, &s);
    tachylog::info!("{:?} {:?} {:?} {:?}", some, none, some_str, None::<&str>);
    tachylog::info!(
        "{:x} {:X} {:o} {:b}",
        u128::MAX,
        i128::MIN,
        usize::MAX,
        isize::MIN
    );
    // `display`/`debug` wrappers, under `{:?}` and `{}` alike.
    tachylog::info!(
        "{:?} {:?}",
        tachylog::display(path.display()),
        tachylog::debug(vec![1, 2])
    );
    tachylog::info!(
        f = tachylog::display(42),
        g = tachylog::debug(Some(1)),
        "wrapped fields"
    );
    // Every type as a field too.
    tachylog::info!(
        a = 1u8,
        b = -1i128,
        c = 1.0f32,
        d = false,
        e = 'x',
        f = "s",
        g = s.clone(),
        h = rs,
        i = some,
        j = some_str,
    );
    // Owned values are borrowed, not moved.
    tachylog::info!("{}", s);
    tachylog::info!("{s}");
    drop(s);
}

#[test]
fn side_effects_once() {
    logger();
    let n = Counter::default();
    let mut v = Vec::new();
    let mut push = |x: u32| {
        v.push(x);
        x
    };
    tachylog::info!(
        target: "fx",
        f0 = push(1),
        f1 = push(2),
        "{} {} {named}",
        push(3),
        push(4),
        named = push(5),
    );
    // Each once, in encoding order: format arguments, then fields.
    assert_eq!(v, [3, 4, 5, 1, 2]);
    tachylog::info!("{}", n.hit(String::from("temp")));
    tachylog::error!("{}", n.hit(1));
    assert_eq!(n.get(), 2);
}

#[test]
fn temporaries_live_through_the_call() {
    logger();
    // `&String::from(..)`'s temporary must live until the record is written.
    tachylog::info!("{} {}", String::from("a").as_str(), &format!("b{}", 1));
}

#[test]
fn as_expression_and_in_macro_rules() {
    logger();
    let ok = true;
    let r: () = tachylog::info!("unit");
    let () = r;
    if ok {
        tachylog::warn!("in if")
    } else {
        tachylog::error!("in else")
    }
    match 3u8 {
        0 => {}
        n => tachylog::debug!("arm {n}"),
    }
    macro_rules! my_log {
        ($fmt:literal, $e:expr) => {
            tachylog::info!($fmt, $e)
        };
        (expr $fmt:expr, $e:expr) => {
            tachylog::info!($fmt, $e)
        };
    }
    my_log!("via macro_rules {}", 1 + 1);
    my_log!(expr "via macro_rules expr {}", 2);
}

#[test]
fn in_a_generic_function() {
    logger();
    fn generic<T: tachylog::__private::Encode + std::fmt::Display>(x: T) {
        tachylog::info!("{}", x);
        tachylog::info!("{x}");
    }
    generic(1u8);
    generic("s");
}
