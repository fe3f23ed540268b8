//! Procedural macros for tachylog.
//!
//! The public `trace!` .. `error!` / `log!` wrappers in `tachylog` forward to [`__log!`] as
//! `__log!($crate, Level, <user tokens>)`. This crate parses the user tokens, parses the format
//! string with [`tachylog_format::parse`] (the same grammar the decoder uses at run time) to find
//! inline-captured identifiers, and emits one static call site plus the encoding code.

mod local_parse;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, LitStr, Token};
use tachylog_format::{ArgRef, Count, ParseError, Piece};

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
    local_parse::parse(fmt)
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

/// A string literal given through a `$x:expr` / `$x:literal` (wrapped in an invisible group).
fn as_lit_str(expr: Expr) -> Result<LitStr, Expr> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s),
            attrs,
        }) if attrs.is_empty() => Ok(s),
        Expr::Group(g) => as_lit_str(*g.expr),
        other => Err(other),
    }
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
                as_lit_str(expr).map_err(|expr| {
                    syn::Error::new(
                        expr.span(),
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

    /// Resolves the format string's references: captured identifiers, unused named arguments.
    fn analyze(&self) -> syn::Result<Analysis> {
        let mut arg_names: Vec<String> = vec![String::new(); self.positional.len()];
        arg_names.extend(self.named.iter().map(|p| p.name.clone()));
        let mut captures = Vec::new();
        if let Some(lit) = &self.fmt {
            let value = lit.value();
            let pieces = parse_format(&value)
                .map_err(|e| syn::Error::new(lit.span(), format!("invalid format string: {e}")))?;
            let npos = self.positional.len();
            let mut used = vec![false; npos + self.named.len()];
            let mut next = 0usize;
            let mut refer = |r: ArgRef<'_>| {
                let index = match r {
                    ArgRef::Next => {
                        next += 1;
                        Some(next - 1)
                    }
                    ArgRef::Index(i) => Some(i),
                    ArgRef::Name(n) => match self.named.iter().position(|p| p.name == n) {
                        Some(j) => Some(npos + j),
                        None => {
                            if !captures.iter().any(|c| c == n) {
                                captures.push(n.to_string());
                            }
                            None
                        }
                    },
                };
                if let Some(u) = index.and_then(|i| used.get_mut(i)) {
                    *u = true;
                }
            };
            for piece in &pieces {
                let Piece::Arg(p) = piece else { continue };
                // `{:.*}` takes the precision first, then the value, as `std` does.
                if p.spec.precision == Some(Count::Star) {
                    refer(ArgRef::Next);
                }
                refer(p.arg);
                if let Some(Count::Arg(r)) = p.spec.width {
                    refer(r);
                }
                if let Some(Count::Arg(r)) = p.spec.precision {
                    refer(r);
                }
            }
            if let Some((pair, _)) = self.named.iter().zip(&used[npos..]).find(|(_, u)| !**u) {
                return Err(syn::Error::new(
                    pair.ident.span(),
                    format!(
                        "named argument `{0}` is not used by the format string; to record it as \
                         a structured field, put `{0} = ...` before the format string",
                        pair.name
                    ),
                ));
            }
        } else if let Some(p) = self.positional.first() {
            // Unreachable through the grammar (no format string means nothing follows it).
            return Err(syn::Error::new(
                p.span(),
                "arguments without a format string",
            ));
        }
        arg_names.extend(captures.iter().cloned());
        Ok(Analysis {
            arg_names,
            captures,
            field_names: self.fields.iter().map(|p| p.name.clone()).collect(),
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
        // (`Encode` not implemented) points at the user's expression: rustc moves a span whose
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
        let scrutinee = values.iter().map(|(v, _)| quote!(&(#v)));
        let sizes = values
            .iter()
            .zip(&binds)
            .map(|((_, span), b)| quote_spanned!(*span=> + #k::__private::Encode::size(#b)));
        let cs = Ident::new("__TACHYLOG_CALLSITE", Span::mixed_site());
        let size = Ident::new("__size", Span::mixed_site());
        let w = Ident::new("__w", Span::mixed_site());
        let encodes = values
            .iter()
            .zip(&binds)
            .map(|((_, span), b)| quote_spanned!(*span=> #k::__private::Encode::encode(#b, #w);));

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
                    match (#(#scrutinee,)*) {
                        (#(#binds,)*) => {
                            let #size = 0usize #(#sizes)*;
                            #k::__private::log(&#cs, #size, |#w| {
                                #(#encodes)*
                            });
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
