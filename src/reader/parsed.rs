//! A call site's format string and argument names, parsed once and owned with their text.
//!
//! The parsed pieces borrow from the format string, so [`Parsed`] holds both: the text in an
//! `Arc<str>` (whose bytes never move or change while it lives) and the pieces with their
//! borrow stretched to `'static`. That lifetime never leaves this module: every accessor hands
//! the borrowed parts out for no longer than `&self`.
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tachylog_fmt::{ArgRef, Count, ParseError, Piece, Plain};

/// A format string, its parsed form, and the names of its arguments.
pub(super) struct Parsed {
    // These three borrow from `format` and `names`, and are declared first so that they are
    // dropped before them. (No borrow of them is kept outside a heap allocation: a reference
    // held in a field of this struct would be one that the struct passed by value asserts is
    // live, even while dropping the string it points into.)
    /// The parsed pieces, kept from the start when the format string has no plain form (the
    /// general path renders every message from them). A plain one keeps only its plain form
    /// and parses its pieces again the first time they are asked for, which only a record
    /// that does not fit the plain form (forged input) does: a plain `{}` costs a sixth of the
    /// memory it would with its pieces kept, which matters for forged segments made of them.
    pieces: OnceLock<Result<Vec<Piece<'static>>, ParseError>>,
    /// The plain form, if the format string has one (the message is then written as the values
    /// are decoded).
    plain: Option<Plain<'static>>,
    arg_names: Vec<&'static str>,
    format: Arc<str>,
    /// The argument names, one after the other (kept for `arg_names`, which borrow from it).
    _names: Arc<str>,
    /// What [`Parsed::heap_bytes`] says, fixed when made.
    heap: usize,
}

/// `format` parsed, with no spare capacity (it is kept as long as its call site), and each
/// reference to an argument by name (`{x}`, `x$`) made a reference by position to the first
/// argument of that name in `names`, as rendering would find it: once per call site, with a
/// table, instead of a search through the names for each placeholder of each message (forged
/// call sites with 20,000 named placeholders and arguments made that quadratic: 0.7 s a
/// record). A name no argument has is left as it is, for rendering to report.
fn parse<'a>(format: &'a str, names: &[&'a str]) -> Result<Vec<Piece<'a>>, ParseError> {
    let mut pieces = tachylog_fmt::parse(format)?;
    pieces.shrink_to_fit();
    let named = |p: &Piece<'_>| match p {
        Piece::Arg(ph) => {
            matches!(ph.arg, ArgRef::Name(_))
                || [ph.spec.width, ph.spec.precision]
                    .iter()
                    .any(|c| matches!(c, Some(Count::Arg(ArgRef::Name(_)))))
        }
        Piece::Lit(_) => false,
    };
    if !pieces.iter().any(named) {
        return Ok(pieces);
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if !n.is_empty() {
            index.entry(n).or_insert(i);
        }
    }
    let resolve = |r: &mut ArgRef<'_>| {
        if let ArgRef::Name(n) = *r
            && let Some(&i) = index.get(n)
        {
            *r = ArgRef::Index(i);
        }
    };
    for piece in &mut pieces {
        if let Piece::Arg(ph) = piece {
            resolve(&mut ph.arg);
            for count in [&mut ph.spec.width, &mut ph.spec.precision] {
                if let Some(Count::Arg(r)) = count {
                    resolve(r);
                }
            }
        }
    }
    Ok(pieces)
}

impl Parsed {
    /// Parses `format`, whose arguments are named `arg_names` (`""` for positional ones).
    pub(super) fn new(format: Arc<str>, arg_names: &[&str]) -> Parsed {
        let names: Arc<str> = Arc::from(arg_names.concat());
        // SAFETY: both strings are kept in `self` beside what borrows from them (the argument
        // names, and the pieces and plain form parsed from them, now or later), as
        // `Arc`s, whose bytes stay where they are and unchanged until the last `Arc` goes,
        // which is no sooner than `self` (the borrowing fields are dropped first). The
        // `'static` borrows are private and come out of the accessors below shortened to the
        // borrow of `self`.
        let (text, all_names): (&'static str, &'static str) =
            unsafe { (&*Arc::as_ptr(&format), &*Arc::as_ptr(&names)) };
        let mut at = 0;
        let mut split: Vec<&'static str> = Vec::with_capacity(arg_names.len());
        for n in arg_names {
            split.push(&all_names[at..at + n.len()]);
            at += n.len();
        }
        let pieces = parse(text, &split);
        let mut plain = pieces.as_ref().ok().and_then(|p| Plain::new(p, &split));
        if let Some(p) = &mut plain {
            p.steps.shrink_to_fit();
        }
        let kept = match (&pieces, &plain) {
            (Ok(p), None) => p.capacity(),
            _ => 0,
        };
        let heap = kept * size_of::<Piece<'_>>()
            + plain
                .as_ref()
                .map_or(0, |p| p.steps.capacity() * size_of::<Option<&str>>())
            + split.capacity() * size_of::<&str>()
            + format.len()
            + names.len();
        Parsed {
            pieces: match plain {
                Some(_) => OnceLock::new(),
                None => OnceLock::from(pieces),
            },
            plain,
            arg_names: split,
            format,
            _names: names,
            heap,
        }
    }

    /// The format string.
    pub(super) fn format(&self) -> &Arc<str> {
        &self.format
    }

    /// The parsed pieces, or why the format string does not parse.
    #[inline(always)]
    pub(super) fn pieces(&self) -> Result<&[Piece<'_>], &ParseError> {
        self.pieces.get_or_init(|| self.parse_again()).as_deref()
    }

    /// The pieces of a plain format string, parsed again (only forged records ask for them);
    /// out of line, as the message loop that asks for them should not grow by it.
    #[cold]
    #[inline(never)]
    fn parse_again(&self) -> Result<Vec<Piece<'static>>, ParseError> {
        // SAFETY: as in `new`: the pieces are kept in `self`, beside `format`.
        let text: &'static str = unsafe { &*Arc::as_ptr(&self.format) };
        parse(text, &self.arg_names)
    }

    /// The plain form, if there is one.
    #[inline(always)]
    pub(super) fn plain(&self) -> Option<&Plain<'_>> {
        self.plain.as_ref()
    }

    /// The argument names, in order.
    #[inline(always)]
    pub(super) fn arg_names(&self) -> &[&str] {
        &self.arg_names
    }

    /// Drops the plain form, so that messages take the general path (to compare the two).
    #[cfg(test)]
    pub(super) fn forget_plain(&mut self) {
        self.plain = None;
    }

    /// Bytes this takes on the heap when made: an estimate that counts what grows with the
    /// input. (Pieces parsed later for a plain format string, which only forged records ask
    /// for, are not counted: 88 bytes a piece, at most about sixty times the format string's
    /// length.)
    pub(super) fn heap_bytes(&self) -> usize {
        self.heap
    }
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parsed")
            .field("format", &self.format)
            .field("pieces", &self.pieces())
            .field("plain", &self.plain())
            .field("arg_names", &self.arg_names())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_and_names_borrow_from_what_it_owns() {
        let mut format = String::from("a {} b {x}");
        let p = Parsed::new(Arc::from(format.as_str()), &["", "x"]);
        // The caller's strings may go: nothing borrows from them.
        format.clear();
        drop(format);
        assert_eq!(p.arg_names(), ["", "x"]);
        assert_eq!(p.pieces().map(<[_]>::len), Ok(4));
        assert!(p.plain().is_some());
        assert_eq!(&**p.format(), "a {} b {x}");
        let moved = Box::new(p);
        assert_eq!(moved.plain().map(|p| p.steps.len()), Some(4));
        assert!(Parsed::new(Arc::from("{"), &[]).pieces().is_err());
        // Not plain: its pieces are kept from the start; plain: parsed again when asked for.
        let aligned = Parsed::new(Arc::from("<{:>5}>"), &[""]);
        assert!(aligned.plain().is_none() && aligned.pieces.get().is_some());
        let plain = Parsed::new(Arc::from("a {} b"), &[""]);
        assert!(plain.pieces.get().is_none());
        assert_eq!(plain.pieces(), tachylog_fmt::parse("a {} b").as_deref());
        // Counted as made.
        assert_eq!(
            plain.heap_bytes(),
            Parsed::new(Arc::from("a {} b"), &[""]).heap_bytes()
        );
        assert!(plain.heap_bytes() < aligned.heap_bytes());
    }

    #[test]
    fn names_become_positions_once_per_call_site() {
        let p = Parsed::new(
            Arc::from("{b}{a:>w$.p$}{a}{zz}{}"),
            &["", "a", "b", "a", "w", "p"],
        );
        fn args<'a>(pieces: &[Piece<'a>]) -> Vec<(ArgRef<'a>, Option<Count<'a>>)> {
            pieces
                .iter()
                .filter_map(|piece| match piece {
                    Piece::Arg(ph) => Some((ph.arg, ph.spec.width)),
                    Piece::Lit(_) => None,
                })
                .collect()
        }
        // The first argument of each name, as rendering finds it; a name no argument has
        // stays, for rendering to report.
        let pieces = p.pieces().expect("parses");
        assert_eq!(
            args(pieces),
            [
                (ArgRef::Index(2), None),
                (ArgRef::Index(1), Some(Count::Arg(ArgRef::Index(4)))),
                (ArgRef::Index(1), None),
                (ArgRef::Name("zz"), None),
                (ArgRef::Next, None),
            ]
        );
        let Piece::Arg(ph) = &pieces[1] else {
            panic!("a placeholder")
        };
        assert_eq!(ph.spec.precision, Some(Count::Arg(ArgRef::Index(5))));
        // Rendered as the names would have been.
        let names = ["", "a", "b", "a", "w", "p"];
        let values = [0u32, 1, 2, 3, 6, 2].map(tachylog_fmt::Value::U32);
        let fmt = "<{b}{a:>w$}{a:x}{0}>";
        let resolved = Parsed::new(Arc::from(fmt), &names);
        let (mut a, mut b) = (String::new(), String::new());
        tachylog_fmt::render(&mut a, resolved.pieces().expect("parses"), &names, &values)
            .expect("renders");
        let unresolved = tachylog_fmt::parse(fmt).expect("parses");
        tachylog_fmt::render(&mut b, &unresolved, &names, &values).expect("renders");
        assert_eq!(a, b);
        assert_eq!(a, "<2     110>");
        // A plain format string with names is still plain, its pieces parsed again alike.
        let plain = Parsed::new(Arc::from("{x} and {y}"), &["x", "y"]);
        assert!(plain.plain().is_some());
        assert_eq!(
            args(plain.pieces().expect("parses")),
            [(ArgRef::Index(0), None), (ArgRef::Index(1), None)]
        );
    }
}
