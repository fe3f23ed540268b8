//! TEMPORARY: a minimal stand-in for `tachylog_format::parse` while that crate's body is being
//! written on another branch. Removed once `wip-format` is merged.
use tachylog_format::{Align, ArgRef, Count, ParseError, Piece, Placeholder, Spec, Ty};

fn err(offset: usize, message: &str) -> ParseError {
    ParseError {
        offset,
        message: message.to_string(),
    }
}

pub(crate) fn parse(fmt: &str) -> Result<Vec<Piece<'_>>, ParseError> {
    let b = fmt.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit = 0;
    while i < b.len() {
        match b[i] {
            b'{' if b.get(i + 1) == Some(&b'{') => {
                out.push(Piece::Lit(&fmt[lit..=i]));
                i += 2;
                lit = i;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => {
                out.push(Piece::Lit(&fmt[lit..=i]));
                i += 2;
                lit = i;
            }
            b'}' => return Err(err(i, "unmatched `}`")),
            b'{' => {
                if lit < i {
                    out.push(Piece::Lit(&fmt[lit..i]));
                }
                let end = fmt[i..].find('}').ok_or_else(|| err(i, "unclosed `{`"))? + i;
                let inner = &fmt[i + 1..end];
                let (arg, spec) = match inner.find(':') {
                    Some(c) => (&inner[..c], Some(&inner[c + 1..])),
                    None => (inner, None),
                };
                let arg = arg_ref(arg.trim(), i)?;
                let spec = parse_spec(spec.unwrap_or(""), i)?;
                out.push(Piece::Arg(Placeholder { arg, spec }));
                i = end + 1;
                lit = i;
            }
            _ => i += 1,
        }
    }
    if lit < b.len() {
        out.push(Piece::Lit(&fmt[lit..]));
    }
    Ok(out)
}

fn arg_ref(s: &str, at: usize) -> Result<ArgRef<'_>, ParseError> {
    if s.is_empty() {
        Ok(ArgRef::Next)
    } else if s.bytes().all(|c| c.is_ascii_digit()) {
        Ok(ArgRef::Index(s.parse().map_err(|_| err(at, "bad index"))?))
    } else if s
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_alphabetic())
        && s.chars().all(|c| c == '_' || c.is_alphanumeric())
    {
        Ok(ArgRef::Name(s))
    } else {
        Err(err(at, "invalid argument name"))
    }
}

fn count<'a>(s: &'a str, at: usize) -> Result<(Option<Count<'a>>, &'a str), ParseError> {
    let n = s
        .find(|c: char| !(c == '_' || c.is_alphanumeric()))
        .unwrap_or(s.len());
    if n == 0 {
        return Ok((None, s));
    }
    if s[n..].starts_with('$') {
        return Ok((Some(Count::Arg(arg_ref(&s[..n], at)?)), &s[n + 1..]));
    }
    let d = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if d == 0 {
        return Ok((None, s));
    }
    Ok((
        Some(Count::Is(s[..d].parse().map_err(|_| err(at, "bad count"))?)),
        &s[d..],
    ))
}

fn parse_spec(mut s: &str, at: usize) -> Result<Spec<'_>, ParseError> {
    let mut spec = Spec {
        fill: ' ',
        align: None,
        sign_plus: false,
        sign_minus: false,
        alternate: false,
        zero: false,
        width: None,
        precision: None,
        ty: Ty::Display,
    };
    let al = |c| match c {
        '<' => Some(Align::Left),
        '^' => Some(Align::Center),
        '>' => Some(Align::Right),
        _ => None,
    };
    let mut cs = s.chars();
    if let (Some(f), Some(a)) = (cs.next(), cs.next()) {
        if let Some(a) = al(a) {
            spec.fill = f;
            spec.align = Some(a);
            s = &s[f.len_utf8() + 1..];
        }
    }
    if spec.align.is_none() {
        if let Some(a) = s.chars().next().and_then(al) {
            spec.align = Some(a);
            s = &s[1..];
        }
    }
    if let Some(r) = s.strip_prefix('+') {
        spec.sign_plus = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('-') {
        spec.sign_minus = true;
        s = r;
    }
    if let Some(r) = s.strip_prefix('#') {
        spec.alternate = true;
        s = r;
    }
    if s.starts_with('0') && !s[1..].starts_with('$') {
        spec.zero = true;
        s = &s[1..];
    }
    let (w, r) = count(s, at)?;
    spec.width = w;
    s = r;
    if let Some(r) = s.strip_prefix('.') {
        if let Some(r) = r.strip_prefix('*') {
            spec.precision = Some(Count::Star);
            s = r;
        } else {
            let (p, r) = count(r, at)?;
            spec.precision = Some(p.ok_or_else(|| err(at, "missing precision"))?);
            s = r;
        }
    }
    spec.ty = match s {
        "" => Ty::Display,
        "?" => Ty::Debug,
        "x?" => Ty::DebugLowerHex,
        "X?" => Ty::DebugUpperHex,
        "x" => Ty::LowerHex,
        "X" => Ty::UpperHex,
        "o" => Ty::Octal,
        "b" => Ty::Binary,
        "e" => Ty::LowerExp,
        "E" => Ty::UpperExp,
        _ => return Err(err(at, "unknown format trait")),
    };
    Ok(spec)
}
