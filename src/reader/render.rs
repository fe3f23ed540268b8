//! Rendering a record's message and fields.
use super::event::Record;
use super::value::{Cursor, ValueError, Values};
use tachylog_fmt::{Plain, Value};

/// Longest message the reader renders, in bytes: 1 MiB. A longer one is cut at the last
/// character boundary at or before this length and [`TRUNCATED`] is appended. That is the one
/// way a message can differ from what `format!` made on the call site: a program's messages
/// are far shorter (log pipelines commonly cut lines at tens or hundreds of KiB), while a
/// forged call site can ask for gigabytes (20,000 placeholders of width 65,535 make 1.3 GB
/// from 180 KB). Rendering stops at the cut, so a message costs time and memory in proportion
/// to at most this (plus its longest value), whatever its format string asks for. Widths and
/// precisions keep `std`'s own limit of 65,535, as the grammar does: each placeholder is at
/// most that many characters of padding, and no message is more than this in all.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// What ends a message cut at [`MAX_MESSAGE_BYTES`].
pub const TRUNCATED: &str = "…[truncated]";

/// Cuts what was written to `out` after `start` to [`MAX_MESSAGE_BYTES`] and marks it, if it
/// is longer; returns whether it was.
#[inline]
fn cap(out: &mut String, start: usize) -> bool {
    if out.len() - start <= MAX_MESSAGE_BYTES {
        return false;
    }
    cut(out, start);
    true
}

#[cold]
#[inline(never)]
fn cut(out: &mut String, start: usize) {
    out.truncate(out.floor_char_boundary(start + MAX_MESSAGE_BYTES));
    out.push_str(TRUNCATED);
}

impl Record {
    /// Appends the formatted message to `out`, as `format!` would have produced it, up to
    /// [`MAX_MESSAGE_BYTES`] (a longer one is cut there and ends with [`TRUNCATED`]).
    pub fn write_message(&self, out: &mut String) -> Result<(), ValueError> {
        self.write_message_ascii(out).map(drop)
    }

    /// Appends the formatted message to `out`, as [`Record::write_message`] does, and says
    /// whether it is known to be [plain text](tachylog_fmt::is_plain_text) (printable ASCII
    /// without `"` or `\`), which an output format can then copy without looking for
    /// characters to escape. It is known when the format string is plain and its literal text
    /// and every argument are plain text (numbers and `bool` always are; text is looked at);
    /// `false` means only that it was not shown.
    #[inline]
    pub fn write_message_ascii(&self, out: &mut String) -> Result<bool, ValueError> {
        let cs = self.callsite();
        let start = out.len();
        if let Some(plain) = cs.parsed.plain()
            && let Some(ascii) = self.write_plain(out, plain, None)
        {
            return Ok(!cap(out, start) && ascii);
        }
        let pieces = cs.parsed.pieces().map_err(|e| ValueError(e.to_string()))?;
        let names = cs.parsed.arg_names();
        let cut = self
            .with_values(|args, _| {
                tachylog_fmt::render_capped(out, pieces, names, args, MAX_MESSAGE_BYTES)
            })?
            .map_err(|e| ValueError(e.to_string()))?;
        if cut {
            out.push_str(TRUNCATED);
        }
        Ok(false)
    }

    /// Does what [`Record::write_message_ascii`] does and what [`Record::visit_fields`] does,
    /// decoding the values once: the message goes to `out`, and each structured field to
    /// `field`, in order, when every value decodes (whether or not the message renders).
    #[inline]
    pub fn write_message_and_fields<'a>(
        &'a self,
        out: &mut String,
        mut field: impl FnMut(&'a str, Value<'a>),
    ) -> Result<bool, ValueError> {
        let cs = self.callsite();
        let start = out.len();
        // Most call sites have no fields: then there is no buffer to make and drop.
        let mut fields = (!cs.field_names.is_empty()).then(Values::new);
        let message = if let Some(plain) = cs.parsed.plain()
            && let Some(ascii) = self.write_plain(out, plain, fields.as_mut())
        {
            Ok(!cap(out, start) && ascii)
        } else {
            let (mut args, fields) = (Values::new(), fields.get_or_insert_with(Values::new));
            let decoded = self.values_into(&mut args, fields);
            if decoded.is_err() {
                fields.clear();
            }
            // A format string that does not parse is the first thing to report, as before.
            match (cs.parsed.pieces(), decoded) {
                (Err(e), _) => Err(ValueError(e.to_string())),
                (Ok(_), Err(e)) => Err(e),
                (Ok(pieces), Ok(())) => {
                    let names = cs.parsed.arg_names();
                    match tachylog_fmt::render_capped(out, pieces, names, &args, MAX_MESSAGE_BYTES)
                    {
                        Ok(cut) => {
                            if cut {
                                out.push_str(TRUNCATED);
                            }
                            Ok(false)
                        }
                        Err(e) => Err(ValueError(e.to_string())),
                    }
                }
            }
        };
        if let Some(fields) = &mut fields {
            // Drained in place: moving the vector into an iterator would copy its buffer.
            for (name, v) in cs.field_names.iter().zip(fields.drain(..)) {
                field(name, v);
            }
        }
        message
    }

    /// Writes the message of a plain format string, each argument as it is decoded, checks
    /// the rest of the values (keeping the fields in `fields` if given), and returns whether
    /// the message is plain text (see
    /// [`Record::write_message_ascii`]). Anything unusual (a value `{}` does not apply to,
    /// bytes that do not decode) undoes what it wrote and returns `None`, for the general
    /// path to render or explain.
    #[inline]
    fn write_plain<'a>(
        &'a self,
        out: &mut String,
        plain: &Plain<'_>,
        mut fields: Option<&mut Values<'a>>,
    ) -> Option<bool> {
        let start = out.len();
        let mut cur = Cursor {
            buf: self.args(),
            pos: 0,
        };
        let mut ok = true;
        let mut ascii = plain.literals_plain;
        for step in &plain.steps {
            match step {
                Some(lit) => tachylog_fmt::push_short(out, lit),
                None => match cur.plain_arg(out) {
                    Some(a) => ascii &= a,
                    None => {
                        ok = false;
                        break;
                    }
                },
            }
        }
        if ok {
            for _ in 0..self.callsite().field_names.len() {
                match (cur.value(0), fields.as_mut()) {
                    (Ok(v), Some(fields)) => fields.push(v),
                    (Ok(_), None) => {}
                    (Err(_), _) => {
                        ok = false;
                        break;
                    }
                }
            }
        }
        if ok && cur.pos == cur.buf.len() {
            return Some(ascii);
        }
        out.truncate(start);
        if let Some(fields) = fields {
            fields.clear();
        }
        None
    }

    /// The formatted message. If the record cannot be rendered (only possible with forged
    /// input), the format string followed by a bracketed explanation.
    pub fn message(&self) -> String {
        let mut s = String::new();
        if let Err(e) = self.write_message(&mut s) {
            s.clear();
            self.write_undecodable(&mut s, &e);
        }
        s
    }

    /// Appends the stand-in for a message that cannot be rendered because of `e` (what
    /// [`Record::message`] gives then): the format string followed by a bracketed explanation.
    pub fn write_undecodable(&self, out: &mut String, e: &ValueError) {
        let start = out.len();
        out.push_str(&self.callsite().format);
        cap(out, start);
        out.push_str(" [undecodable arguments: ");
        out.push_str(&e.0);
        out.push(']');
    }

    /// Calls `f` with each structured field's name and value, in order, without allocating.
    pub fn visit_fields(&self, mut f: impl FnMut(&str, &Value<'_>)) -> Result<(), ValueError> {
        if self.callsite().field_names.is_empty() {
            return Ok(());
        }
        self.with_values(|_, fields| {
            for (name, v) in self.callsite().field_names.iter().zip(fields) {
                f(name, v);
            }
        })
    }

    /// The structured fields, by name.
    pub fn fields(&self) -> Result<Vec<(&str, Value<'_>)>, ValueError> {
        let (_, fields) = self.values()?;
        Ok(self
            .callsite()
            .field_names
            .iter()
            .map(|n| &**n)
            .zip(fields)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::walk::parse_callsite;
    use super::super::walk::testing::{build_callsite, record, with_callsite};
    use super::*;
    use crate::wire::tag;

    #[test]
    fn plain_path_writes_what_the_general_path_writes_and_fails_where_it_fails() {
        let f64b = |x: f64| [&[tag::F64][..], &x.to_le_bytes()].concat();
        let i32b = |x: i32| [&[tag::I32][..], &x.to_le_bytes()].concat();
        let cases: Vec<(&'static str, Vec<&'static str>, usize, Vec<u8>)> = vec![
            ("a {} b {}", vec!["", ""], 0, [i32b(-5), f64b(0.5)].concat()),
            (
                "{}={x}",
                vec!["", "x"],
                1,
                [i32b(1), i32b(2), i32b(3)].concat(),
            ),
            // A value `{}` does not apply to (only forged input has one).
            (
                "a {} b {}",
                vec!["", ""],
                0,
                [i32b(1), vec![tag::SOME, tag::U8, 7]].concat(),
            ),
            // The same with a field: the message fails, the field is still there.
            (
                "a {} b {}",
                vec!["", ""],
                1,
                [i32b(1), vec![tag::SOME, tag::U8, 7], i32b(9)].concat(),
            ),
            // Stray bytes, a field that does not decode, a value cut short, a bad tag.
            ("a {}", vec![""], 0, [i32b(1), vec![0xff]].concat()),
            ("a {}", vec![""], 1, [i32b(1), vec![200]].concat()),
            ("a {} b", vec![""], 0, vec![tag::I32, 1, 2]),
            ("{}", vec![""], 0, vec![99]),
        ];
        let mut cases = cases;
        // Each tag read in place, whole and cut short.
        for (t, n) in [
            (tag::I32, 4),
            (tag::I64, 8),
            (tag::U32, 4),
            (tag::U64, 8),
            (tag::F64, 8),
        ] {
            let whole: Vec<u8> = std::iter::once(t)
                .chain((1..=n).map(|i: u8| i.wrapping_mul(37)))
                .collect();
            cases.push(("<{}>", vec![""], 0, whole.clone()));
            cases.push(("<{}>", vec![""], 0, whole[..n as usize].to_vec()));
        }
        // Not plain: `{}` after `{x}` takes argument 0 again (only `{}` advances).
        assert!(
            record("{x}={}", &["x", ""], 0, &[])
                .callsite()
                .parsed
                .plain()
                .is_none()
        );
        for (fmt, names, fields, bytes) in cases {
            let r = record(fmt, &names, fields, &bytes);
            assert!(r.callsite().parsed.plain().is_some(), "{fmt}");
            // The same call site without its plain form.
            let (_, mut cs) = parse_callsite(&build_callsite(fmt, &names, fields)).unwrap();
            cs.parsed.forget_plain();
            let general = with_callsite(std::sync::Arc::new(cs), &bytes);
            let (mut a, mut b) = ("prefix ".to_string(), "prefix ".to_string());
            let (ra, rb) = (r.write_message_ascii(&mut a), general.write_message(&mut b));
            assert_eq!(ra.is_ok(), rb.is_ok(), "{fmt} {bytes:?}");
            if let Ok(ascii) = ra {
                assert_eq!(a, b, "{fmt} {bytes:?}");
                assert!(!ascii || tachylog_fmt::is_plain_text(&a), "{fmt} {a:?}");
            }
            assert_eq!(r.message(), general.message());
            // Message and fields in one decoding, on either path: the same message, and the
            // fields `fields` gives (none where it fails).
            for rec in [&r, &general] {
                let (mut m, mut got) = ("prefix ".to_string(), Vec::new());
                let res = rec.write_message_and_fields(&mut m, |n, v| got.push((n, v)));
                assert_eq!(res.clone().map(drop), rb.clone(), "{fmt} {bytes:?}");
                if res.is_ok() {
                    assert_eq!(m, b);
                }
                match rec.fields() {
                    Ok(f) => assert_eq!(got, f, "{fmt} {bytes:?}"),
                    Err(_) => assert!(got.is_empty(), "{fmt} {bytes:?}"),
                }
            }
        }
        let ok = record("a {} b {}", &["", ""], 0, &[i32b(-5), f64b(0.5)].concat());
        assert_eq!(ok.message(), "a -5 b 0.5");
        let forged = [i32b(1), vec![tag::SOME, tag::U8, 7], i32b(9)].concat();
        let r = record("a {} b {}", &["", ""], 1, &forged);
        let mut got = Vec::new();
        assert!(
            r.write_message_and_fields(&mut String::new(), |n, v| got.push((n, v)))
                .is_err()
        );
        assert_eq!(got, [("f0", Value::I32(9))]);
        // Which messages are known to be plain text.
        let ascii = |fmt: &'static str, bytes: &[u8]| {
            let r = record(fmt, &[""], 0, bytes);
            let mut s = String::new();
            let known = r.write_message_ascii(&mut s).expect("renders");
            assert_eq!(s, r.message());
            known
        };
        let str_b = |x: &str| {
            let mut b = vec![tag::STR];
            b.extend_from_slice(&(x.len() as u32).to_le_bytes());
            b.extend_from_slice(x.as_bytes());
            b
        };
        assert!(ascii("n={}", &f64b(f64::NAN)));
        assert!(ascii("n={}", &i32b(i32::MIN)));
        // Text arguments are plain text when they are; literals that need escaping never.
        assert!(ascii("s={}", &str_b("plain")));
        assert!(!ascii("s={}", &str_b("say \"hi\"")));
        assert!(!ascii("s={}", &str_b("line\nbreak")));
        assert!(!ascii("s=\"{}\"", &i32b(1)));
        assert!(!ascii("tab\t{}", &i32b(1)));
        // Not a plain format string: rendered the general way, not known.
        assert!(!ascii("{:>5}", &i32b(1)));
    }

    #[test]
    fn messages_longer_than_the_cap_are_cut_and_marked() {
        let str_b = |x: &str| {
            let mut b = vec![tag::STR];
            b.extend_from_slice(&(x.len() as u32).to_le_bytes());
            b.extend_from_slice(x.as_bytes());
            b
        };
        // Every way a message is written gives the same text.
        let check = |r: &Record, want: &str| {
            assert!(r.message() == want);
            let mut s = String::from("prefix ");
            let ascii = r.write_message_ascii(&mut s).expect("renders");
            assert!(s.strip_prefix("prefix ") == Some(want));
            assert!(!ascii || !want.ends_with(TRUNCATED));
            let mut s = String::from("prefix ");
            r.write_message_and_fields(&mut s, |_, _| {})
                .expect("renders");
            assert!(s.strip_prefix("prefix ") == Some(want));
        };
        // A plain `{}` of a long string: cut after the cap's first bytes, and marked.
        let long = "ab".repeat(MAX_MESSAGE_BYTES);
        let r = record("m {}", &[""], 0, &str_b(&long));
        assert!(r.callsite().parsed.plain().is_some());
        let want = format!("m {}", &long[..MAX_MESSAGE_BYTES - 2]) + TRUNCATED;
        check(&r, &want);
        // Exactly the cap: whole, and known to be plain text.
        let r = record("m {}", &[""], 0, &str_b(&long[..MAX_MESSAGE_BYTES - 2]));
        check(&r, &format!("m {}", &long[..MAX_MESSAGE_BYTES - 2]));
        assert!(r.write_message_ascii(&mut String::new()).expect("renders"));
        // Placeholders that pad to 65,535 characters, on the general path; cut at a character
        // boundary when the fill takes two bytes.
        for (fmt, unit) in [("{0:65535}", ' '), ("{0:é>65535}", 'é')] {
            let r = record(
                Box::leak(fmt.repeat(40).into_boxed_str()),
                &[""],
                0,
                &[tag::U8, 7],
            );
            assert!(r.callsite().parsed.plain().is_none());
            let one: String = std::iter::repeat_n(unit, 65534).chain(['7']).collect();
            let whole = one.repeat(40);
            let cut = whole.floor_char_boundary(MAX_MESSAGE_BYTES);
            check(&r, &(whole[..cut].to_owned() + TRUNCATED));
        }
        // The stand-in for an undecodable message is cut too.
        let r = record(
            Box::leak("{}".repeat(MAX_MESSAGE_BYTES).into_boxed_str()),
            &[""],
            0,
            &[],
        );
        let m = r.message();
        assert!(m.starts_with("{}{}"));
        assert!(m.contains(&format!("{TRUNCATED} [undecodable arguments: ")));
        assert!(m.len() < MAX_MESSAGE_BYTES + 200);
    }
}
