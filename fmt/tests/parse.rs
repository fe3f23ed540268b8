//! Parser tests: pieces, escapes, specs and error offsets.

use tachylog_fmt::{Align, ArgRef, Count, ParseError, Piece, Placeholder, Spec, Ty, parse};

const DEFAULT: Spec<'static> = Spec::bare(Ty::Display);

fn ph<'a>(arg: ArgRef<'a>, spec: Spec<'a>) -> Piece<'a> {
    Piece::Arg(Placeholder { arg, spec })
}

fn only_spec(fmt: &str) -> Spec<'_> {
    match parse(fmt).unwrap().as_slice() {
        [Piece::Arg(p)] => p.spec,
        other => panic!("{fmt:?} parsed to {other:?}"),
    }
}

fn err_at(fmt: &str) -> usize {
    match parse(fmt) {
        Err(ParseError { offset, message }) => {
            assert!(!message.is_empty());
            offset
        }
        Ok(p) => panic!("{fmt:?} parsed to {p:?}"),
    }
}

#[test]
fn literals_and_escapes() {
    assert_eq!(parse("").unwrap(), vec![]);
    assert_eq!(parse("hello").unwrap(), vec![Piece::Lit("hello")]);
    assert_eq!(
        parse("{{}}").unwrap(),
        vec![Piece::Lit("{"), Piece::Lit("}")]
    );
    assert_eq!(
        parse("a{{b}}c").unwrap(),
        vec![Piece::Lit("a{"), Piece::Lit("b}"), Piece::Lit("c")]
    );
    assert_eq!(
        parse("é{{ü").unwrap(),
        vec![Piece::Lit("é{"), Piece::Lit("ü")]
    );
    assert_eq!(
        parse("x {} y").unwrap(),
        vec![
            Piece::Lit("x "),
            ph(ArgRef::Next, DEFAULT),
            Piece::Lit(" y")
        ]
    );
    assert_eq!(
        parse("{{{}}}").unwrap(),
        vec![Piece::Lit("{"), ph(ArgRef::Next, DEFAULT), Piece::Lit("}")]
    );
}

#[test]
fn arguments() {
    assert_eq!(
        parse("{}{0}{12}{name}{_x}{é}{x1}").unwrap(),
        vec![
            ph(ArgRef::Next, DEFAULT),
            ph(ArgRef::Index(0), DEFAULT),
            ph(ArgRef::Index(12), DEFAULT),
            ph(ArgRef::Name("name"), DEFAULT),
            ph(ArgRef::Name("_x"), DEFAULT),
            ph(ArgRef::Name("é"), DEFAULT),
            ph(ArgRef::Name("x1"), DEFAULT),
        ]
    );
    assert_eq!(parse("{:}").unwrap(), vec![ph(ArgRef::Next, DEFAULT)]);
    assert_eq!(parse("{0:}").unwrap(), vec![ph(ArgRef::Index(0), DEFAULT)]);
    assert_eq!(parse("{007}").unwrap(), vec![ph(ArgRef::Index(7), DEFAULT)]);
}

#[test]
fn types() {
    for (s, ty) in [
        ("{}", Ty::Display),
        ("{:?}", Ty::Debug),
        ("{:x?}", Ty::DebugLowerHex),
        ("{:X?}", Ty::DebugUpperHex),
        ("{:x}", Ty::LowerHex),
        ("{:X}", Ty::UpperHex),
        ("{:o}", Ty::Octal),
        ("{:b}", Ty::Binary),
        ("{:e}", Ty::LowerExp),
        ("{:E}", Ty::UpperExp),
    ] {
        assert_eq!(only_spec(s).ty, ty, "{s}");
    }
}

#[test]
fn full_spec() {
    assert_eq!(
        only_spec("{:*>+#010.3e}"),
        Spec {
            fill: '*',
            align: Some(Align::Right),
            sign_plus: true,
            sign_minus: false,
            alternate: true,
            zero: true,
            width: Some(Count::Is(10)),
            precision: Some(Count::Is(3)),
            ty: Ty::LowerExp,
        }
    );
    let s = only_spec("{:-}");
    assert!(s.sign_minus && !s.sign_plus);
    assert_eq!(only_spec("{:<}").align, Some(Align::Left));
    assert_eq!(only_spec("{:^}").align, Some(Align::Center));
    assert_eq!(only_spec("{:>}").align, Some(Align::Right));
    // Fill is any char, but only in front of an alignment.
    let s = only_spec("{:é^9}");
    assert_eq!(
        (s.fill, s.align, s.width),
        ('é', Some(Align::Center), Some(Count::Is(9)))
    );
    let s = only_spec("{:}>5}");
    assert_eq!((s.fill, s.align), ('}', Some(Align::Right)));
    let s = only_spec("{:{<5}");
    assert_eq!((s.fill, s.align), ('{', Some(Align::Left)));
    let s = only_spec("{:<<}");
    assert_eq!((s.fill, s.align), ('<', Some(Align::Left)));
    let s = only_spec("{:0>5}");
    assert_eq!((s.fill, s.align, s.zero), ('0', Some(Align::Right), false));
    // `0` flag vs `0$` width.
    let s = only_spec("{:05}");
    assert_eq!((s.zero, s.width), (true, Some(Count::Is(5))));
    let s = only_spec("{:0}");
    assert_eq!((s.zero, s.width), (true, None));
    let s = only_spec("{:0$}");
    assert_eq!(
        (s.zero, s.width),
        (false, Some(Count::Arg(ArgRef::Index(0))))
    );
    let s = only_spec("{:00$}");
    assert_eq!(
        (s.zero, s.width),
        (true, Some(Count::Arg(ArgRef::Index(0))))
    );
    let s = only_spec("{:00}");
    assert_eq!((s.zero, s.width), (true, Some(Count::Is(0))));
    // Counts.
    let s = only_spec("{:1$.2$}");
    assert_eq!(
        (s.width, s.precision),
        (
            Some(Count::Arg(ArgRef::Index(1))),
            Some(Count::Arg(ArgRef::Index(2)))
        )
    );
    let s = only_spec("{:w$.p$?}");
    assert_eq!(
        (s.width, s.precision, s.ty),
        (
            Some(Count::Arg(ArgRef::Name("w"))),
            Some(Count::Arg(ArgRef::Name("p"))),
            Ty::Debug
        )
    );
    let s = only_spec("{:é$}");
    assert_eq!(s.width, Some(Count::Arg(ArgRef::Name("é"))));
    let s = only_spec("{:.*}");
    assert_eq!(s.precision, Some(Count::Star));
    let s = only_spec("{:5.*e}");
    assert_eq!(
        (s.width, s.precision, s.ty),
        (Some(Count::Is(5)), Some(Count::Star), Ty::LowerExp)
    );
    // A width word without `$` is the type.
    let s = only_spec("{:a$b}");
    assert_eq!(
        (s.width, s.ty),
        (Some(Count::Arg(ArgRef::Name("a"))), Ty::Binary)
    );
    let s = only_spec("{:x$x}");
    assert_eq!(
        (s.width, s.ty),
        (Some(Count::Arg(ArgRef::Name("x"))), Ty::LowerHex)
    );
    // `.` with nothing after it is accepted and means no precision, as in std.
    assert_eq!(only_spec("{:.}").precision, None);
    assert_eq!(only_spec("{:65535}").width, Some(Count::Is(65535)));
    assert_eq!(only_spec("{:.0}").precision, Some(Count::Is(0)));
}

#[test]
fn placeholder_in_context() {
    assert_eq!(
        parse("{1:>w$} and {name:#?}!").unwrap(),
        vec![
            ph(
                ArgRef::Index(1),
                Spec {
                    align: Some(Align::Right),
                    width: Some(Count::Arg(ArgRef::Name("w"))),
                    ..DEFAULT
                }
            ),
            Piece::Lit(" and "),
            ph(
                ArgRef::Name("name"),
                Spec {
                    alternate: true,
                    ty: Ty::Debug,
                    ..DEFAULT
                }
            ),
            Piece::Lit("!"),
        ]
    );
}

#[test]
fn error_offsets() {
    // Unmatched `}` points at it.
    assert_eq!(err_at("}"), 0);
    assert_eq!(err_at("a}b"), 1);
    assert_eq!(err_at("é}"), 2);
    assert_eq!(err_at("{}}"), 2);
    assert_eq!(err_at("{:}}"), 3);
    // Unterminated `{` points at the `{`.
    assert_eq!(err_at("{"), 0);
    assert_eq!(err_at("ab{"), 2);
    assert_eq!(err_at("ab{0"), 2);
    assert_eq!(err_at("ab{:x"), 2);
    assert_eq!(err_at("ab{:é>"), 2);
    assert_eq!(err_at("{:.*"), 0);
    // Unexpected characters point at themselves.
    assert_eq!(err_at("{ }"), 1);
    assert_eq!(err_at("{0 }"), 2);
    assert_eq!(err_at("{:x }"), 3);
    assert_eq!(err_at("{a b}"), 2);
    assert_eq!(err_at("{:<<<}"), 4);
    assert_eq!(err_at("{:+-}"), 3);
    assert_eq!(err_at("{:?x}"), 3);
    assert_eq!(err_at("{:1.2.3}"), 5);
    assert_eq!(err_at("{a$}"), 2);
    assert_eq!(err_at("{:x?$}"), 4);
    assert_eq!(err_at("{0{}"), 2);
    assert_eq!(err_at("é{é:é}"), 6);
    // Bad names, traits and numbers point at their start.
    assert_eq!(err_at("{_}"), 1);
    assert_eq!(err_at("{:_$}"), 2);
    assert_eq!(err_at("{:ee}"), 2);
    assert_eq!(err_at("{:5y}"), 3);
    assert_eq!(err_at("{:é}"), 2);
    assert_eq!(err_at("{:70000}"), 2);
    assert_eq!(err_at("{:.70000}"), 3);
    assert_eq!(err_at("{:99999999999999999999999}"), 2);
    assert_eq!(err_at("xx{99999999999999999999999}"), 3);
    assert_eq!(err_at("{:99999999999999999999999$}"), 2);
}

#[test]
fn error_display() {
    let e = parse("a}").unwrap_err();
    assert!(e.to_string().contains("byte 1"), "{e}");
}
