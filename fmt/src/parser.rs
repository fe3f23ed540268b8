//! The format-string parser (`std::fmt` grammar, kept strict about whitespace).
//!
//! Works on byte offsets into the original string; every slice it takes starts and ends at a
//! char boundary (either next to an ASCII byte or at a position returned by `char_indices`), so
//! it cannot panic on any `&str`.

use crate::{Align, ArgRef, Count, ParseError, Piece, Placeholder, Spec, Ty};

/// Largest literal width / precision `std` accepts (it stores them as `u16`).
pub(crate) const MAX_COUNT: usize = u16::MAX as usize;

pub(crate) fn parse(fmt: &str) -> Result<Vec<Piece<'_>>, ParseError> {
    let bytes = fmt.as_bytes();
    let mut pieces = Vec::new();
    let mut lit_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                if bytes.get(i + 1) == Some(&b'{') {
                    // Keep the first brace of the escape as literal text.
                    push_lit(&mut pieces, &fmt[lit_start..=i]);
                    i += 2;
                    lit_start = i;
                    continue;
                }
                push_lit(&mut pieces, &fmt[lit_start..i]);
                let mut cur = Cursor { s: fmt, pos: i + 1 };
                let ph = placeholder(&mut cur, i)?;
                pieces.push(Piece::Arg(ph));
                i = cur.pos;
                lit_start = i;
            }
            b'}' => {
                if bytes.get(i + 1) == Some(&b'}') {
                    push_lit(&mut pieces, &fmt[lit_start..=i]);
                    i += 2;
                    lit_start = i;
                    continue;
                }
                return Err(err(
                    i,
                    "unmatched `}` found (use `}}` for a literal `}`)".into(),
                ));
            }
            _ => i += 1,
        }
    }
    push_lit(&mut pieces, &fmt[lit_start..]);
    Ok(pieces)
}

fn push_lit<'a>(pieces: &mut Vec<Piece<'a>>, s: &'a str) {
    if !s.is_empty() {
        pieces.push(Piece::Lit(s));
    }
}

fn err(offset: usize, message: String) -> ParseError {
    ParseError { offset, message }
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.rest().chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// An error about the current character (or about the end of the string).
    fn unexpected(&self, expected: &str) -> ParseError {
        match self.peek() {
            Some(c) => err(self.pos, format!("expected {expected}, found `{c}`")),
            None => err(
                self.pos,
                format!("expected {expected} but the format string ended"),
            ),
        }
    }

    /// A decimal integer (the cursor is on an ASCII digit). Overflow is an error.
    fn integer(&mut self) -> Result<usize, ParseError> {
        let start = self.pos;
        let mut n: usize = 0;
        let mut overflow = false;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            // `to_digit(10)` only accepts ASCII digits: one byte each.
            self.pos += 1;
            match n.checked_mul(10).and_then(|n| n.checked_add(d as usize)) {
                Some(v) => n = v,
                None => overflow = true,
            }
        }
        if overflow {
            return Err(err(
                start,
                format!(
                    "integer `{}` does not fit into a usize",
                    &self.s[start..self.pos]
                ),
            ));
        }
        Ok(n)
    }

    /// An identifier (the cursor is on an identifier start).
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        if let Some(c) = self.peek()
            && is_id_start(c)
        {
            self.pos += c.len_utf8();
            while let Some(c) = self.peek() {
                if !is_id_continue(c) {
                    break;
                }
                self.pos += c.len_utf8();
            }
        }
        &self.s[start..self.pos]
    }

    fn at_digit(&self) -> bool {
        self.peek().is_some_and(|c| c.is_ascii_digit())
    }

    fn at_id_start(&self) -> bool {
        self.peek().is_some_and(is_id_start)
    }
}

/// Approximates `XID_Start` (plus `_`) without a Unicode table dependency.
fn is_id_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

/// Approximates `XID_Continue` without a Unicode table dependency.
fn is_id_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn align_of(c: char) -> Option<Align> {
    match c {
        '<' => Some(Align::Left),
        '^' => Some(Align::Center),
        '>' => Some(Align::Right),
        _ => None,
    }
}

/// Parses what follows a `{` (at byte `open`) up to and including its `}`.
fn placeholder<'a>(cur: &mut Cursor<'a>, open: usize) -> Result<Placeholder<'a>, ParseError> {
    let arg = if cur.at_digit() {
        ArgRef::Index(cur.integer()?)
    } else if cur.at_id_start() {
        let start = cur.pos;
        let w = cur.word();
        if w == "_" {
            return Err(err(start, "invalid argument name `_`".into()));
        }
        ArgRef::Name(w)
    } else {
        ArgRef::Next
    };
    let spec = if cur.eat(':') {
        spec(cur)?
    } else {
        Spec::bare(Ty::Display)
    };
    if cur.eat('}') {
        return Ok(Placeholder { arg, spec });
    }
    match cur.peek() {
        None => Err(err(
            open,
            "unterminated placeholder: expected `}` but the format string ended (use `{{` for a literal `{`)"
                .into(),
        )),
        Some(_) => Err(cur.unexpected("`}`")),
    }
}

fn spec<'a>(cur: &mut Cursor<'a>) -> Result<Spec<'a>, ParseError> {
    let mut spec = Spec::bare(Ty::Display);
    // [[fill]align]
    if let (Some(fill), Some(a)) = (cur.peek(), cur.peek2().and_then(align_of)) {
        spec.fill = fill;
        spec.align = Some(a);
        cur.bump();
        cur.bump();
    } else if let Some(a) = cur.peek().and_then(align_of) {
        spec.align = Some(a);
        cur.bump();
    }
    // [sign]
    if cur.eat('+') {
        spec.sign_plus = true;
    } else if cur.eat('-') {
        spec.sign_minus = true;
    }
    // ['#']
    if cur.eat('#') {
        spec.alternate = true;
    }
    // ['0'], where `0$` is a width taken from argument 0 instead
    if cur.peek() == Some('0') {
        if cur.peek2() == Some('$') {
            cur.pos += 2;
            spec.width = Some(Count::Arg(ArgRef::Index(0)));
        } else {
            cur.pos += 1;
            spec.zero = true;
        }
    }
    // [width]
    if spec.width.is_none() {
        spec.width = count(cur)?;
    }
    // ['.' precision]; a `.` followed by nothing is accepted and ignored, as in `std`.
    if cur.eat('.') {
        spec.precision = if cur.eat('*') {
            Some(Count::Star)
        } else {
            count(cur)?
        };
    }
    // [type]
    let ty_start = cur.pos;
    spec.ty = if cur.eat('?') {
        Ty::Debug
    } else if cur.eat('x') {
        if cur.eat('?') {
            Ty::DebugLowerHex
        } else {
            Ty::LowerHex
        }
    } else if cur.eat('X') {
        if cur.eat('?') {
            Ty::DebugUpperHex
        } else {
            Ty::UpperHex
        }
    } else if cur.at_id_start() {
        match cur.word() {
            "o" => Ty::Octal,
            "b" => Ty::Binary,
            "e" => Ty::LowerExp,
            "E" => Ty::UpperExp,
            w => {
                return Err(err(
                    ty_start,
                    format!(
                        "unknown format trait `{w}` (expected one of `?`, `x?`, `X?`, `x`, `X`, `o`, `b`, `e`, `E`)"
                    ),
                ));
            }
        }
    } else {
        Ty::Display
    };
    Ok(spec)
}

/// `integer`, `integer$` or `name$`; `None` (cursor unmoved) when there is none.
fn count<'a>(cur: &mut Cursor<'a>) -> Result<Option<Count<'a>>, ParseError> {
    if cur.at_digit() {
        let start = cur.pos;
        let n = cur.integer()?;
        if cur.eat('$') {
            return Ok(Some(Count::Arg(ArgRef::Index(n))));
        }
        if n > MAX_COUNT {
            return Err(err(
                start,
                format!(
                    "integer `{n}` does not fit into the type `u16` (width and precision are at most {MAX_COUNT})"
                ),
            ));
        }
        return Ok(Some(Count::Is(n)));
    }
    if cur.at_id_start() {
        let start = cur.pos;
        let w = cur.word();
        if cur.eat('$') {
            if w == "_" {
                return Err(err(start, "invalid argument name `_`".into()));
            }
            return Ok(Some(Count::Arg(ArgRef::Name(w))));
        }
        // Not a count: it is the type (e.g. `x`); let the caller read it again.
        cur.pos = start;
    }
    Ok(None)
}
