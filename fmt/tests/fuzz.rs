//! Deterministic garbage in, no panic out: `parse` and `render` on random format strings.

use std::panic::catch_unwind;

use tachylog_fmt::{Value, parse, render};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const CHARSET: &[char] = &[
    '{', '}', ':', '<', '>', '^', '#', '0', '+', '-', '.', '$', '*', 'x', 'X', '?', 'o', 'O', 'b',
    'e', 'E', '9', 'a', '_', ' ', 'é', '1', '2', '{', '}', ':', '日', '\n', '\0',
];

fn arg_sets() -> Vec<(Vec<&'static str>, Vec<Value<'static>>)> {
    vec![
        (vec![], vec![]),
        (
            vec!["", "", "", "a", "_a", "é", "x", "a9"],
            vec![
                Value::U64(3),
                Value::Str("é\"\n"),
                Value::F64(f64::NAN),
                Value::U8(2),
                Value::Some(Box::new(Value::Some(Box::new(Value::I8(-1))))),
                Value::None,
                Value::Pre("multi\nline"),
                Value::U128(u128::MAX),
            ],
        ),
        (vec!["", "a"], vec![Value::U64(65535), Value::U32(9)]),
        (
            // Names and args of different lengths.
            vec!["", "", "a", "b", "c", "d"],
            vec![
                Value::I128(i128::MIN),
                Value::Char('\''),
                Value::F32(-0.0),
                Value::Bool(true),
            ],
        ),
        (
            vec![],
            vec![
                Value::U16(12),
                Value::I64(-5),
                Value::U64(2),
                Value::F32(0.1),
                Value::Some(Box::new(Value::Pre("p"))),
                Value::Str(""),
                Value::U64(0),
                Value::U64(1),
                Value::U64(99),
                Value::Char('é'),
            ],
        ),
    ]
}

fn exercise(fmt: &str, sets: &[(Vec<&'static str>, Vec<Value<'static>>)]) -> usize {
    let mut rendered = 0;
    if let Ok(pieces) = parse(fmt) {
        for (names, args) in sets {
            let mut out = String::new();
            if render(&mut out, &pieces, names, args).is_ok() {
                rendered += 1;
            }
        }
    }
    rendered
}

#[test]
fn random_format_strings_never_panic() {
    let sets = arg_sets();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut parsed_ok = 0usize;
    let mut rendered_ok = 0usize;
    for i in 0..60_000 {
        let len = rng.below(if i % 10 == 0 { 40 } else { 12 });
        let mut fmt = String::new();
        // Bias towards placeholder-shaped strings so that specs get exercised.
        if i % 2 == 0 {
            fmt.push('{');
            if rng.below(2) == 0 {
                fmt.push(':');
            }
        }
        for _ in 0..len {
            fmt.push(CHARSET[rng.below(CHARSET.len())]);
        }
        if i % 2 == 0 {
            fmt.push('}');
        }
        let result = catch_unwind(|| (parse(&fmt).is_ok(), exercise(&fmt, &sets)));
        let Ok((ok, n)) = result else {
            panic!("panicked on {fmt:?}");
        };
        parsed_ok += usize::from(ok);
        rendered_ok += n;
    }
    eprintln!("parsed {parsed_ok}, rendered {rendered_ok}");
    // The loop is only useful if a fair share of the strings get through the parser.
    assert!(parsed_ok > 5_000, "only {parsed_ok} parsed");
    assert!(rendered_ok > 5_000, "only {rendered_ok} rendered");
}

#[test]
fn random_bytes_never_panic() {
    let sets = arg_sets();
    let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
    for _ in 0..20_000 {
        let len = rng.below(24);
        let bytes: Vec<u8> = (0..len)
            .map(|_| match rng.below(4) {
                0 => b"{}:.$*"[rng.below(6)],
                _ => rng.next() as u8,
            })
            .collect();
        let fmt = String::from_utf8_lossy(&bytes).into_owned();
        let result = catch_unwind(|| exercise(&fmt, &sets));
        assert!(result.is_ok(), "panicked on {fmt:?}");
    }
}

#[test]
fn every_spec_on_every_value_never_panics() {
    // All short specs over a small alphabet, on every kind of value.
    let sets = arg_sets();
    let alphabet = [
        '<', '^', '+', '#', '0', '5', '.', '*', '$', 'x', '?', 'e', 'b', 'é',
    ];
    let mut count = 0usize;
    let mut spec = String::new();
    for a in 0..alphabet.len() {
        for b in 0..=alphabet.len() {
            for c in 0..=alphabet.len() {
                spec.clear();
                spec.push_str("{:");
                spec.push(alphabet[a]);
                for k in [b, c] {
                    if let Some(ch) = alphabet.get(k) {
                        spec.push(*ch);
                    }
                }
                spec.push('}');
                for prefix in ["", "{0", "{a"] {
                    let fmt = if prefix.is_empty() {
                        spec.clone()
                    } else {
                        format!("{prefix}{}", &spec[1..])
                    };
                    let result = catch_unwind(|| exercise(&fmt, &sets));
                    assert!(result.is_ok(), "panicked on {fmt:?}");
                    count += 1;
                }
            }
        }
    }
    assert!(count > 1000);
}
