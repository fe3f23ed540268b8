//! Procedural macros for tachylog.
//!
//! The public `trace!` .. `error!` / `log!` wrappers in `tachylog` forward to [`__log!`] as
//! `__log!($crate, Level, <user tokens>)`. This crate parses the user tokens, parses the format
//! string with [`tachylog_fmt::parse`] (the same grammar the decoder uses at run time) to find
//! inline-captured identifiers, and emits one static call site plus the encoding code.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, LitStr, Token};
use tachylog_fmt::{Align, ArgRef, Count, ParseError, Piece, Ty};

/// Internal: expands one logging call. Use `tachylog::info!` and friends.
#[doc(hidden)]
#[proc_macro]
pub fn __log(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand(input.into()).into()
}

/// The levels `__log!` accepts as its second token, as spelled in `tachylog::Level`.
const LEVELS: [&str; 5] = ["Error", "Warn", "Info", "Debug", "Trace"];

/// The grammar's parser: one grammar, two users (these macros and the decoder).
fn parse_format(fmt: &str) -> Result<Vec<Piece<'_>>, ParseError> {
    tachylog_fmt::parse(fmt)
}

/// Expands `K, Level, <user tokens>` into the logging block, or into `compile_error!`s.
fn expand(input: TokenStream) -> TokenStream {
    match Parser::parse2(LogInput::parse, input).and_then(|i| i.expand()) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

/// A `name = expr` pair (a structured field or a named format argument).
struct Pair {
    ident: Ident,
    /// `ident` without its `r#` prefix.
    name: String,
    expr: Expr,
}

/// `sample = N` or `limit = N/s`.
enum Sampling {
    Every(u64),
    PerSec(u64),
}

/// `sample = <int>` or `limit = <int> / s` ahead: sampling, not a field. Anything else (a raw
/// `r#sample`, a non-literal value) is an ordinary field.
fn parse_sampling(input: ParseStream) -> syn::Result<Option<Sampling>> {
    let fork = input.fork();
    let Ok(ident) = fork.call(Ident::parse_any) else {
        return Ok(None);
    };
    let kind = ident.to_string();
    if (kind != "sample" && kind != "limit") || !peek_pair(input) {
        return Ok(None);
    }
    fork.parse::<Token![=]>()?;
    let Ok(n) = fork.parse::<syn::LitInt>() else {
        return Ok(None);
    };
    let per_sec = kind == "limit";
    if per_sec {
        if !fork.peek(Token![/]) {
            return Ok(None);
        }
        fork.parse::<Token![/]>()?;
        let unit: Ident = fork.parse()?;
        if unit != "s" {
            return Err(syn::Error::new(
                unit.span(),
                "the rate limit unit is `/s`: `limit = 1000/s`",
            ));
        }
    }
    if !fork.is_empty() && !fork.peek(Token![,]) {
        return Ok(None);
    }
    let v: u64 = n.base10_parse()?;
    if v == 0 {
        return Err(syn::Error::new(n.span(), "must be at least 1"));
    }
    use syn::parse::discouraged::Speculative;
    input.advance_to(&fork);
    Ok(Some(if per_sec {
        Sampling::PerSec(v)
    } else {
        Sampling::Every(v)
    }))
}

/// The parsed input of one `__log!` call.
struct LogInput {
    /// The path of the `tachylog` crate (`$crate` from the wrappers).
    krate: TokenStream,
    level: Ident,
    target: Option<Expr>,
    fields: Vec<Pair>,
    fmt: Option<LitStr>,
    positional: Vec<Expr>,
    named: Vec<Pair>,
    sampling: Option<Sampling>,
}

/// What the format string and the arguments resolve to.
#[derive(Debug, PartialEq, Eq)]
struct Analysis {
    /// One per encoded format argument: `""` per positional one, then named ones, then captures.
    arg_names: Vec<String>,
    /// Identifiers captured inline by the format string (also the tail of `arg_names`).
    captures: Vec<String>,
    /// Names of the structured fields.
    field_names: Vec<String>,
    /// Per encoded format argument: whether a placeholder takes it as a width or precision
    /// (then it is recorded as a `usize`, the only type `format!` takes there).
    counts: Vec<bool>,
    /// Per encoded format argument: the distinct specs of the placeholders that format it, in
    /// order of first use (empty for one only used as a count).
    specs: Vec<Vec<ArgSpec>>,
}

/// How a placeholder formats its argument, as a `write!` format string for the value alone:
/// `{0:...}`, its counts taken from arguments `{1}`, `{2}` given by `counts`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ArgSpec {
    format: String,
    /// Encoded argument index of each count, in the order `1$`, `2$` name them.
    counts: Vec<usize>,
}

impl ArgSpec {
    /// The spec of `{...:spec}`, with each count that names an argument resolved by `index`.
    fn new(spec: &tachylog_fmt::Spec<'_>, mut index: impl FnMut(Count<'_>) -> usize) -> Self {
        use std::fmt::Write;
        let mut format = String::from("{0:");
        let mut counts = Vec::new();
        if let Some(a) = spec.align {
            format.push(spec.fill);
            format.push(match a {
                Align::Left => '<',
                Align::Center => '^',
                Align::Right => '>',
            });
        }
        if spec.sign_plus {
            format.push('+');
        }
        if spec.sign_minus {
            format.push('-');
        }
        if spec.alternate {
            format.push('#');
        }
        if spec.zero {
            format.push('0');
        }
        let mut count = |c: Count<'_>, out: &mut String| match c {
            Count::Is(n) => {
                let _ = write!(out, "{n}");
            }
            c => {
                counts.push(index(c));
                let _ = write!(out, "{}$", counts.len());
            }
        };
        if let Some(w) = spec.width {
            count(w, &mut format);
        }
        if let Some(p) = spec.precision {
            format.push('.');
            count(p, &mut format);
        }
        format.push_str(match spec.ty {
            Ty::Display => "",
            Ty::Debug => "?",
            Ty::DebugLowerHex => "x?",
            Ty::DebugUpperHex => "X?",
            Ty::LowerHex => "x",
            Ty::UpperHex => "X",
            Ty::Octal => "o",
            Ty::Binary => "b",
            Ty::LowerExp => "e",
            Ty::UpperExp => "E",
        });
        format.push('}');
        ArgSpec { format, counts }
    }
}

/// `ident = ...` ahead (and not `ident == ...` / `ident => ...`).
fn peek_pair(input: ParseStream) -> bool {
    input.peek(Ident::peek_any)
        && input.peek2(Token![=])
        && !input.peek2(Token![==])
        && !input.peek2(Token![=>])
}

/// `target: ...` ahead (and not `target::path`).
fn peek_target(input: ParseStream) -> bool {
    input.peek(Ident::peek_any)
        && input.peek2(Token![:])
        && !input.peek2(Token![::])
        && input
            .fork()
            .call(Ident::parse_any)
            .is_ok_and(|i| i == "target")
}

fn parse_pair(input: ParseStream) -> syn::Result<Pair> {
    let ident = input.call(Ident::parse_any)?;
    input.parse::<Token![=]>()?;
    let expr: Expr = input.parse()?;
    let name = ident.unraw().to_string();
    Ok(Pair { ident, name, expr })
}

/// Consumes the `,` after an item, unless the input ends there.
fn parse_sep(input: ParseStream) -> syn::Result<bool> {
    if input.is_empty() {
        return Ok(false);
    }
    input.parse::<Token![,]>()?;
    Ok(!input.is_empty())
}

/// The argument a width or precision names, if it names one.
fn count_ref(c: Option<Count<'_>>) -> Option<ArgRef<'_>> {
    match c {
        Some(Count::Arg(r)) => Some(r),
        _ => None,
    }
}

/// A string literal given through a `$x:expr` / `$x:literal` (wrapped in an invisible group),
/// or `concat!` of string and char literals, as `format_args!` takes them.
fn as_lit_str(expr: Expr) -> Option<LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s),
            attrs,
        }) if attrs.is_empty() => Some(s),
        Expr::Group(g) => as_lit_str(*g.expr),
        Expr::Macro(m) if m.attrs.is_empty() && m.mac.path.is_ident("concat") => concat(&m.mac),
        Expr::Macro(m)
            if m.attrs.is_empty()
                && m.mac.path.leading_colon.is_some()
                && m.mac.path.segments.len() == 2
                && ["core", "std"]
                    .iter()
                    .any(|c| m.mac.path.segments[0].ident == c)
                && m.mac.path.segments[1].ident == "concat" =>
        {
            concat(&m.mac)
        }
        _ => None,
    }
}

/// `concat!("a", 'b', ..)` of string and char literals, as one string literal.
fn concat(mac: &syn::Macro) -> Option<LitStr> {
    let parts = mac
        .parse_body_with(syn::punctuated::Punctuated::<Expr, Token![,]>::parse_terminated)
        .ok()?;
    let mut value = String::new();
    for part in parts {
        match part {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Char(c),
                attrs,
            }) if attrs.is_empty() => value.push(c.value()),
            part => value.push_str(&as_lit_str(part)?.value()),
        }
    }
    Some(LitStr::new(&value, mac.span()))
}

impl LogInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `$crate` (or any path) up to the first comma.
        let mut krate = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            krate.extend([input.parse::<TokenTree>()?]);
        }
        if krate.is_empty() {
            return Err(input.error("expected the tachylog crate path"));
        }
        input.parse::<Token![,]>()?;
        let level: Ident = input.parse()?;
        if !LEVELS.iter().any(|l| level == l) {
            return Err(syn::Error::new(
                level.span(),
                "expected one of `Error`, `Warn`, `Info`, `Debug`, `Trace`",
            ));
        }
        let mut this = LogInput {
            krate,
            level,
            target: None,
            fields: Vec::new(),
            fmt: None,
            positional: Vec::new(),
            named: Vec::new(),
            sampling: None,
        };
        if !parse_sep(input)? {
            return Ok(this);
        }
        // [target: expr,]
        if peek_target(input) {
            input.call(Ident::parse_any)?;
            input.parse::<Token![:]>()?;
            this.target = Some(input.parse()?);
            if !parse_sep(input)? {
                return Ok(this);
            }
        }
        // [sample = N, | limit = N/s,]
        if let Some(s) = parse_sampling(input)? {
            this.sampling = Some(s);
            if !parse_sep(input)? {
                return Ok(this);
            }
            if parse_sampling(input)?.is_some() {
                return Err(input.error("only one of `sample =` and `limit =` per call"));
            }
        }
        // [ident = expr,]* ["format string"]
        loop {
            if peek_target(input) {
                return Err(input.error("`target:` must come first, before any field"));
            }
            if peek_pair(input) {
                let pair = parse_pair(input)?;
                if this.fields.iter().any(|f| f.name == pair.name) {
                    return Err(syn::Error::new(
                        pair.ident.span(),
                        format!("duplicate field `{}`", pair.name),
                    ));
                }
                this.fields.push(pair);
                if !parse_sep(input)? {
                    return Ok(this);
                }
                continue;
            }
            let lit = if input.peek(LitStr) {
                input.parse::<LitStr>()?
            } else {
                let expr: Expr = input.parse()?;
                let span = expr.span();
                as_lit_str(expr).ok_or_else(|| {
                    syn::Error::new(
                        span,
                        "format string must be a string literal (or fields must be written \
                         `name = value`); to log a value, write `\"{}\", value`",
                    )
                })?
            };
            if !lit.suffix().is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    "a format string literal cannot have a suffix",
                ));
            }
            this.fmt = Some(lit);
            break;
        }
        // [, expr]* [, ident = expr]* [,]
        while parse_sep(input)? {
            if peek_target(input) {
                return Err(input.error("`target:` must come first, before the format string"));
            }
            if peek_pair(input) {
                let pair = parse_pair(input)?;
                if this.named.iter().any(|f| f.name == pair.name) {
                    return Err(syn::Error::new(
                        pair.ident.span(),
                        format!("duplicate named argument `{}`", pair.name),
                    ));
                }
                this.named.push(pair);
            } else {
                let expr: Expr = input.parse()?;
                if let Some(first) = this.named.first() {
                    let mut e = syn::Error::new(
                        expr.span(),
                        "positional arguments cannot follow named arguments",
                    );
                    e.combine(syn::Error::new(
                        first.ident.span(),
                        "named arguments start here",
                    ));
                    return Err(e);
                }
                this.positional.push(expr);
            }
        }
        Ok(this)
    }

    /// Resolves the format string's references: captured identifiers, unused named arguments,
    /// which arguments are counts, and the specs each argument is formatted with.
    fn analyze(&self) -> syn::Result<Analysis> {
        let mut arg_names: Vec<String> = vec![String::new(); self.positional.len()];
        arg_names.extend(self.named.iter().map(|p| p.name.clone()));
        let mut captures: Vec<String> = Vec::new();
        // Placeholders as (value index, spec), and count indices, resolved; captured names are
        // numbered after the named arguments.
        let mut uses: Vec<(usize, ArgSpec)> = Vec::new();
        let mut count_uses: Vec<usize> = Vec::new();
        if let Some(lit) = &self.fmt {
            let value = lit.value();
            let pieces =
                parse_format(&value).map_err(|e| syn::Error::new(lit.span(), e.to_string()))?;
            let npos = self.positional.len();
            let nexplicit = npos + self.named.len();
            let mut next = 0usize;
            let mut refer = |r: ArgRef<'_>| -> usize {
                match r {
                    ArgRef::Next => {
                        next += 1;
                        next - 1
                    }
                    ArgRef::Index(i) => i,
                    ArgRef::Name(n) => match self.named.iter().position(|p| p.name == n) {
                        Some(j) => npos + j,
                        None => {
                            let c = match captures.iter().position(|c| c == n) {
                                Some(c) => c,
                                None => {
                                    captures.push(n.to_string());
                                    captures.len() - 1
                                }
                            };
                            nexplicit + c
                        }
                    },
                }
            };
            for piece in &pieces {
                let Piece::Arg(p) = piece else { continue };
                // Captured identifiers are numbered in textual order: value, width, precision.
                for r in [
                    Some(p.arg),
                    count_ref(p.spec.width),
                    count_ref(p.spec.precision),
                ] {
                    if let Some(ArgRef::Name(n)) = r {
                        refer(ArgRef::Name(n));
                    }
                }
                // `std`'s order: the width, then the precision (`.*` takes the next implicit
                // argument), then the value.
                let mut counts_here = Vec::new();
                let spec = ArgSpec::new(&p.spec, |c| {
                    let i = match c {
                        Count::Star => refer(ArgRef::Next),
                        Count::Arg(r) => refer(r),
                        Count::Is(_) => unreachable!("literal counts are written as they are"),
                    };
                    counts_here.push(i);
                    i
                });
                let value = refer(p.arg);
                count_uses.extend(counts_here);
                uses.push((value, spec));
            }
            let used = |i: usize| uses.iter().any(|u| u.0 == i) || count_uses.contains(&i);
            if let Some((pair, _)) = self
                .named
                .iter()
                .enumerate()
                .map(|(j, p)| (p, npos + j))
                .find(|(_, i)| !used(*i))
            {
                return Err(syn::Error::new(
                    pair.ident.span(),
                    format!(
                        "named argument `{0}` is not used by the format string; to record it as \
                         a structured field, put `{0} = ...` before the format string",
                        pair.name
                    ),
                ));
            }
        }
        arg_names.extend(captures.iter().cloned());
        let n = arg_names.len();
        let mut specs: Vec<Vec<ArgSpec>> = vec![Vec::new(); n];
        for (i, spec) in uses {
            // An index past the arguments is `format_args!`'s error to report.
            if let Some(s) = specs.get_mut(i)
                && !s.contains(&spec)
            {
                s.push(spec);
            }
        }
        let mut counts = vec![false; n];
        for i in count_uses {
            if let Some(c) = counts.get_mut(i) {
                *c = true;
            }
        }
        Ok(Analysis {
            arg_names,
            captures,
            field_names: self.fields.iter().map(|p| p.name.clone()).collect(),
            counts,
            specs,
        })
    }

    fn expand(&self) -> syn::Result<TokenStream> {
        let a = self.analyze()?;
        let k = &self.krate;
        let level = &self.level;
        let target = match &self.target {
            Some(t) => quote!(#t),
            None => quote!(::core::module_path!()),
        };
        let fmt_span = self.fmt.as_ref().map_or_else(Span::call_site, LitStr::span);
        let format = match &self.fmt {
            Some(l) => quote!(#l),
            None => quote!(""),
        };
        let arg_names = &a.arg_names;
        let field_names = &a.field_names;
        let cs = Ident::new("__TACHYLOG_CALLSITE", Span::mixed_site());
        // Never for `warn!` / `error!`: those records are always kept.
        let always = level == "Warn" || level == "Error";
        let sample = match &self.sampling {
            _ if always => None,
            Some(Sampling::Every(n)) => Some(quote!(&& #k::__private::sample_every(&#cs, #n))),
            Some(Sampling::PerSec(n)) => Some(quote!(&& #k::__private::limit_per_sec(&#cs, #n))),
            None => None,
        };

        // The compile-time check of the specs against the types: never run.
        let check = self.fmt.as_ref().map(|l| {
            let pos = &self.positional;
            let named = self.named.iter().map(|p| {
                let (i, e) = (&p.ident, &p.expr);
                quote!(#i = #e)
            });
            quote! {
                if false {
                    let _ = ::core::format_args!(#l #(, #pos)* #(, #named)*);
                }
            }
        });

        // Values in encoding order: positional, named, captured, then fields.
        let mut values: Vec<(TokenStream, Span)> = Vec::new();
        values.extend(self.positional.iter().map(|e| (quote!(#e), e.span())));
        for p in &self.named {
            let e = &p.expr;
            values.push((quote!(#e), e.span()));
        }
        for c in &a.captures {
            let ident = capture_ident(c, fmt_span)?;
            values.push((quote!(#ident), fmt_span));
        }
        let nargs = values.len();
        for p in &self.fields {
            let e = &p.expr;
            values.push((quote!(#e), e.span()));
        }
        // The bindings carry their value's span (location and hygiene), so that a type error
        // (`Arg` not implemented) points at the user's expression: rustc moves a span whose
        // context differs from its call's up to the macro call. Only our code sees them: the
        // user's expressions are all in the scrutinee, outside the arm.
        let binds: Vec<Ident> = (0..values.len())
            .map(|i| {
                let span = values[i].1;
                if i < nargs {
                    format_ident!("__a{}", i, span = span)
                } else {
                    format_ident!("__f{}", i - nargs, span = span)
                }
            })
            .collect();
        // A count is a `usize`, as `format_args!` requires (it also infers an integer literal
        // as one there, where `Encode` alone would take an `i32`).
        let scrutinee = values.iter().enumerate().map(|(i, (v, span))| {
            if a.counts.get(i).copied().unwrap_or(false) {
                quote_spanned!(*span=> &::core::convert::identity::<usize>(#v))
            } else {
                quote!(&(#v))
            }
        });
        // Each argument as recorded: a raw value as it is, one formatted on the calling thread
        // (`display()`, `debug()`) as its text, formatted with its placeholder's spec.
        let prepared: Vec<Ident> = (0..values.len())
            .map(|i| format_ident!("__p{}", i, span = Span::mixed_site()))
            .collect();
        let (x, o) = (
            Ident::new("__x", Span::mixed_site()),
            Ident::new("__o", Span::mixed_site()),
        );
        let prepares = values.iter().enumerate().map(|(i, (_, span))| {
            let (b, p) = (&binds[i], &prepared[i]);
            if i >= nargs {
                return quote_spanned!(*span=> let #p = #k::__private::Arg::field(#b););
            }
            let specs = &a.specs[i];
            // Only a count (a `usize`), or a count past the arguments (`format_args!` reports
            // it): recorded as it is.
            let Some(spec) = specs
                .first()
                .filter(|s| s.counts.iter().all(|&c| c < nargs))
            else {
                return quote!(let #p = #b;);
            };
            // A plain `{}` or `{:?}`: `display()` and `debug()` values write the same text under
            // both, so they are formatted as fields are, with no closure to compile.
            if specs.len() == 1 && (spec.format == "{0:}" || spec.format == "{0:?}") {
                return quote_spanned!(*span=> let #p = #k::__private::Arg::field(#b););
            }
            let several = (specs.len() > 1)
                .then(|| quote_spanned!(*span=> #k::__private::several_specs(#b);));
            let format = LitStr::new(&spec.format, Span::mixed_site());
            let counts = spec.counts.iter().map(|&c| &binds[c]);
            quote_spanned! {*span=>
                #several
                let #p = #k::__private::Arg::prepare(#b, |#x, #o| {
                    ::core::write!(#o, #format, #x #(, *#counts)*)
                });
            }
        });
        let sizes = values
            .iter()
            .zip(&prepared)
            .map(|((_, span), p)| quote_spanned!(*span=> + #k::__private::Encode::size(&#p)));
        let size = Ident::new("__size", Span::mixed_site());
        let w = Ident::new("__w", Span::mixed_site());
        let encodes = values
            .iter()
            .zip(&prepared)
            .map(|((_, span), p)| quote_spanned!(*span=> #k::__private::Encode::encode(&#p, #w);));

        Ok(quote! {
            {
                if #k::__private::enabled(#k::Level::#level) {
                    static #cs: #k::__private::Callsite =
                        #k::__private::Callsite::new(#k::__private::Metadata {
                            level: #k::Level::#level,
                            target: #target,
                            module_path: ::core::module_path!(),
                            file: ::core::file!(),
                            line: ::core::line!(),
                            format: #format,
                            arg_names: &[#(#arg_names),*],
                            field_names: &[#(#field_names),*],
                        });
                    #check
                    if #cs.enabled() #sample {
                        match (#(#scrutinee,)*) {
                            (#(#binds,)*) => {
                                #(#prepares)*
                                let #size = 0usize #(#sizes)*;
                                #k::__private::log(&#cs, #size, |#w| {
                                    #(#encodes)*
                                });
                            }
                        }
                    }
                }
            }
        })
    }
}

/// The identifier a `{name}` capture refers to, spanned like the format string so that it
/// resolves to the caller's local (as `format_args!` resolves it).
fn capture_ident(name: &str, span: Span) -> syn::Result<Ident> {
    // `self`, `Self`, `super`, `crate` cannot be raw; other keywords (`{type}` captures
    // `r#type`, as in `format_args!`) must be.
    let plain = Ident::parse_any
        .parse_str(name)
        .map_err(|_| syn::Error::new(span, format!("invalid captured identifier `{name}`")))?;
    if syn::parse_str::<Ident>(name).is_ok()
        || ["self", "Self", "super", "crate", "_"].contains(&name)
    {
        Ok(Ident::new(&plain.to_string(), span))
    } else {
        Ok(Ident::new_raw(name, span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(src: &str) -> syn::Result<LogInput> {
        let tokens: TokenStream = format!("::tachylog, Info, {src}").parse().unwrap();
        Parser::parse2(LogInput::parse, tokens)
    }

    fn analysis(src: &str) -> Analysis {
        match input(src).and_then(|i| i.analyze()) {
            Ok(a) => a,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn error(src: &str) -> String {
        match input(src).and_then(|i| i.expand()) {
            Ok(t) => panic!("{src}: expected an error, got {t}"),
            Err(e) => e.to_string(),
        }
    }

    /// The expansion, printed with tokens separated by single spaces.
    fn expansion(src: &str) -> String {
        let tokens: TokenStream = format!("::tachylog, Info, {src}").parse().unwrap();
        expand(tokens).to_string()
    }

    #[test]
    fn arg_names_positional_named_captured() {
        let a = analysis(
            r#""{} {named} {qty} {:>width$} {:.prec$} {qty} {named}", 1, 2, 3, named = x"#,
        );
        assert_eq!(
            a.arg_names,
            names(&["", "", "", "named", "qty", "width", "prec"])
        );
        assert_eq!(a.captures, names(&["qty", "width", "prec"]));
        assert!(a.field_names.is_empty());
    }

    #[test]
    fn captures_in_textual_order_arg_width_precision() {
        let a = analysis(r#""{v:w$.p$} {p} {x:0>w2$}""#);
        assert_eq!(a.captures, names(&["v", "w", "p", "x", "w2"]));
    }

    #[test]
    fn explicit_named_args_are_not_captured() {
        let a = analysis(r#""{a:>w$} {b}", a = 1, w = 5"#);
        assert_eq!(a.arg_names, names(&["a", "w", "b"]));
        assert_eq!(a.captures, names(&["b"]));
    }

    #[test]
    fn fields_before_the_message() {
        let a = analysis(r#"user = name, qty = 3, "bought {qty}""#);
        assert_eq!(a.field_names, names(&["user", "qty"]));
        assert_eq!(a.arg_names, names(&["qty"]));
        let a = analysis("r#type = 1, r#match = 2,");
        assert_eq!(a.field_names, names(&["type", "match"]));
        assert!(a.arg_names.is_empty());
    }

    #[test]
    fn forms_and_trailing_commas() {
        for src in [
            "",
            r#""msg""#,
            r#""msg","#,
            r#""{}", 1,"#,
            r#""{a}", a = 1,"#,
            "a = 1",
            "a = 1,",
            r#"target: "t""#,
            r#"target: "t","#,
            r#"target: "t", a = 1, "m {} {b}", 2, b = 3,"#,
            r#"target: T, "m""#,
            r#"a = x == y, b = f(a, b), "m""#,
        ] {
            let i = input(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            i.analyze().unwrap_or_else(|e| panic!("{src}: {e}"));
        }
        let i = input(r#"target: "t", a = 1, "m {} {b}", 2, b = 3,"#).unwrap();
        assert!(i.target.is_some());
        assert_eq!(i.fields.len(), 1);
        assert_eq!(i.positional.len(), 1);
        assert_eq!(i.named.len(), 1);
        assert_eq!(i.fmt.unwrap().value(), "m {} {b}");
        // `target` not followed by a single `:` is an ordinary field or expression.
        let i = input(r#"target = 1, "m""#).unwrap();
        assert!(i.target.is_none());
        assert_eq!(i.fields[0].name, "target");
    }

    #[test]
    fn implicit_and_star_references_use_named_args_positionally() {
        // As in `format_args!`, named arguments also have positions (rustc warns, not errors).
        let a = analysis(r#""{} {}", 1, a = 2"#);
        assert_eq!(a.arg_names, names(&["", "a"]));
        let a = analysis(r#""{:.*} {1}", 2, a = 1.5"#);
        assert_eq!(a.arg_names, names(&["", "a"]));
    }

    #[test]
    fn errors() {
        let cases = [
            ("msg", "format string must be a string literal"),
            ("42", "format string must be a string literal"),
            ("a = 1, msg", "format string must be a string literal"),
            (r#"a = 1, a = 2, "m""#, "duplicate field `a`"),
            (r#"r#a = 1, a = 2"#, "duplicate field `a`"),
            (r#""{a}", a = 1, a = 2"#, "duplicate named argument `a`"),
            (
                r#""{a} {}", a = 1, 2"#,
                "positional arguments cannot follow named arguments",
            ),
            (
                r#""hello", user = 3"#,
                "named argument `user` is not used by the format string",
            ),
            (r#"a = 1, target: "t", "m""#, "`target:` must come first"),
            (r#""m", target: "t""#, "`target:` must come first"),
            (r#""{""#, "invalid format string"),
            (r#""}""#, "invalid format string"),
            (r#""{:p}", x"#, "invalid format string"),
            (
                r#"concat!("{", x)"#,
                "format string must be a string literal",
            ),
            (r#"concat!("{", "")"#, "invalid format string"),
            (r#""a" "b""#, "expected `,`"),
            (r#""a"x"#, "cannot have a suffix"),
            ("a = ", "expected an expression"),
            (",", "expected an expression"),
        ];
        for (src, want) in cases {
            let got = error(src);
            assert!(got.contains(want), "{src}: got {got:?}, want {want:?}");
        }
        let bad_level: TokenStream = "::tachylog, Fatal, \"m\"".parse().unwrap();
        assert!(
            expand(bad_level)
                .to_string()
                .contains("expected one of `Error`")
        );
    }

    #[test]
    fn sampling_directives() {
        let out = expansion(r#"sample = 20, user = u, "m""#);
        assert!(
            out.contains(
                "&& :: tachylog :: __private :: sample_every (& __TACHYLOG_CALLSITE , 20u64)"
            ),
            "{out}"
        );
        assert!(out.contains(r#"field_names : & ["user"]"#), "{out}");
        let out = expansion(r#"target: "t", limit = 1000 / s, "m""#);
        assert!(
            out.contains("limit_per_sec (& __TACHYLOG_CALLSITE , 1000u64)"),
            "{out}"
        );
        let warn: TokenStream = r#"::tachylog, Warn, sample = 3, "m""#.parse().unwrap();
        assert!(!expand(warn).to_string().contains("sample_every"));
        for (src, want) in [
            (r#"sample = 0, "m""#, "must be at least 1"),
            (r#"limit = 5 / m, "m""#, "the rate limit unit is `/s`"),
            (r#"sample = 2, limit = 3 / s, "m""#, "only one of"),
        ] {
            let got = error(src);
            assert!(got.contains(want), "{src}: got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn errors_become_compile_error() {
        let out = expansion(r#"a = 1, a = 2"#);
        assert!(out.contains("compile_error"), "{out}");
    }

    #[test]
    fn keyword_captures_are_raw() {
        let out = expansion(r#""{type} {self}""#);
        assert!(out.contains("& (r#type)"), "{out}");
        assert!(out.contains("& (self)"), "{out}");
        assert!(out.contains(r#"arg_names : & ["type" , "self"]"#), "{out}");
    }

    #[test]
    fn expansion_follows_the_contract() {
        let out = expansion(r#"user = u, "{} bought {qty:>w$} of {item}", n, item = it,"#);
        println!("{out}");
        for want in [
            "if :: tachylog :: __private :: enabled (:: tachylog :: Level :: Info)",
            "static __TACHYLOG_CALLSITE : :: tachylog :: __private :: Callsite = \
             :: tachylog :: __private :: Callsite :: new (:: tachylog :: __private :: Metadata {",
            "level : :: tachylog :: Level :: Info ,",
            "target : :: core :: module_path ! () ,",
            "module_path : :: core :: module_path ! () ,",
            "file : :: core :: file ! () ,",
            "line : :: core :: line ! () ,",
            r#"format : "{} bought {qty:>w$} of {item}" ,"#,
            r#"arg_names : & ["" , "item" , "qty" , "w"] ,"#,
            r#"field_names : & ["user"] ,"#,
            r#"if false { let _ = :: core :: format_args ! ("{} bought {qty:>w$} of {item}" , n , item = it) ; }"#,
            // The width is a `usize`, whatever the type its expression would have alone.
            "match (& (n) , & (it) , & (qty) , & :: core :: convert :: identity :: < usize > (w) , & (u) ,) \
             { (__a0 , __a1 , __a2 , __a3 , __f0 ,) => {",
            // Each value is prepared with its placeholder's spec; the count as it is; a field
            // as a field.
            "let __p0 = :: tachylog :: __private :: Arg :: field (__a0) ;",
            "let __p2 = :: tachylog :: __private :: Arg :: prepare (__a2 , | __x , __o | \
             { :: core :: write ! (__o , \"{0: >1$}\" , __x , * __a3) }) ; \
             let __p3 = __a3 ; \
             let __p4 = :: tachylog :: __private :: Arg :: field (__f0) ;",
            "let __size = 0usize + :: tachylog :: __private :: Encode :: size (& __p0) + \
             :: tachylog :: __private :: Encode :: size (& __p1)",
            ":: tachylog :: __private :: log (& __TACHYLOG_CALLSITE , __size , | __w | {",
            ":: tachylog :: __private :: Encode :: encode (& __p0 , __w) ; \
             :: tachylog :: __private :: Encode :: encode (& __p1 , __w) ; \
             :: tachylog :: __private :: Encode :: encode (& __p2 , __w) ; \
             :: tachylog :: __private :: Encode :: encode (& __p3 , __w) ; \
             :: tachylog :: __private :: Encode :: encode (& __p4 , __w) ; }) ;",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
    }

    fn spec(format: &str, counts: &[usize]) -> ArgSpec {
        ArgSpec {
            format: format.into(),
            counts: counts.to_vec(),
        }
    }

    #[test]
    fn counts_are_marked_and_specs_resolved() {
        // `.*` takes the next implicit argument before the value; `1$` and `w$` name theirs.
        let a = analysis(r#""[{:.*}] [{2:>0$}] [{3:*^w$.p$x}]", 2, 1.5, 9, 10, w = 8"#);
        assert_eq!(a.arg_names, names(&["", "", "", "", "w", "p"]));
        assert_eq!(a.counts, vec![true, false, false, false, true, true]);
        assert_eq!(
            a.specs,
            vec![
                vec![],
                vec![spec("{0:.1$}", &[0])],
                vec![spec("{0: >1$}", &[0])],
                vec![spec("{0:*^1$.2$x}", &[4, 5])],
                vec![],
                vec![],
            ]
        );
        // Every flag, written back as `std` reads it; a literal count stays literal.
        let a = analysis(r#""{:<+#08.3e} {0:-^5?} {x:#X?}", v"#);
        assert_eq!(
            a.specs[0],
            vec![spec("{0: <+#08.3e}", &[]), spec("{0:-^5?}", &[])]
        );
        assert_eq!(a.specs[1], vec![spec("{0:#X?}", &[])]);
        assert_eq!(a.counts, vec![false, false]);
        // The same spec twice is one spec.
        let a = analysis(r#""{0:>4} {0:>4} {0}", v"#);
        assert_eq!(a.specs[0], vec![spec("{0: >4}", &[]), spec("{0:}", &[])]);
    }

    #[test]
    fn an_argument_under_several_specs_must_be_raw() {
        let out = expansion(r#""{0} {0:?}", v"#);
        assert!(
            out.contains(":: tachylog :: __private :: several_specs (__a0) ;"),
            "{out}"
        );
        assert!(!expansion(r#""{0} {0}", v"#).contains("several_specs"));
    }

    #[test]
    fn expansion_without_message_or_args() {
        let out = expansion(r#"target: "net", a = 1"#);
        assert!(out.contains(r#"target : "net" ,"#), "{out}");
        assert!(out.contains(r#"format : "" ,"#), "{out}");
        assert!(out.contains("arg_names : & [] ,"), "{out}");
        assert!(!out.contains("format_args"), "{out}");
        let out = expansion("");
        assert!(out.contains("match () { () => {"), "{out}");
        assert!(out.contains("let __size = 0usize ;"), "{out}");
    }

    #[test]
    fn concat_of_literals_is_a_format_string() {
        for src in [
            r#"concat!("{:", '>', "w$", "}"), 1, w = 2"#,
            r#"::core::concat!("{:", concat!(">w$", "}"),), 1, w = 2"#,
            r#"::std::concat!("{:>w$}"), 1, w = 2"#,
        ] {
            let i = input(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(i.fmt.as_ref().unwrap().value(), "{:>w$}", "{src}");
            assert_eq!(i.analyze().unwrap().counts, vec![false, true], "{src}");
        }
    }

    #[test]
    fn raw_format_string_is_kept_verbatim() {
        let out = expansion(r###"r#"say "{}""#, 1"###);
        assert!(out.contains(r###"format : r#"say "{}""# ,"###), "{out}");
        let i = input(r###"r#"say "{}""#, 1"###).unwrap();
        assert_eq!(i.analyze().unwrap().arg_names, names(&[""]));
    }

    #[test]
    fn std_format_strings_are_accepted() {
        // Each is valid for `format_args!`; the macro must not reject any (one grammar).
        for (src, args) in [
            (r#""{:#?} {:x?} {:#X?}", a, b, c"#, vec!["", "", ""]),
            (
                r#""{:+#010.3e} {:-^9} {:*<5} {:🦀>3}", a, b, c, d"#,
                vec!["", "", "", ""],
            ),
            (r#""{0:1$} {0:.1$} {:.*}", a, b, c"#, vec!["", "", ""]),
            (r#""{x:?} {x:>5} {x:08.3}""#, vec!["x"]),
            (r#""{0} {0:?} {1:#b} {1:#o} {1:E}", a, b"#, vec!["", ""]),
            (r#""{{}} {{{x}}} }}{{""#, vec!["x"]),
            (r#""{ünï}""#, vec!["ünï"]),
            (r#""{_x} {x_1}""#, vec!["_x", "x_1"]),
            (r#""{:0$}", w"#, vec![""]),
            (r#""{a:b$.c$}", a = 1, b = 2, c = 3"#, vec!["a", "b", "c"]),
        ] {
            assert_eq!(analysis(src).arg_names, names(&args), "{src}");
        }
    }
}
