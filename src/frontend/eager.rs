//! Values formatted on the calling thread: [`display()`] and [`debug()`] wrap a value that cannot be
//! recorded raw, and the macros format it there with its placeholder's whole spec, as `format!`
//! would, so that the decoder writes the text as it is.
//!
//! The macros record every argument through [`Arg::prepare`]: a raw value ([`Encode`]) as it
//! is, a wrapper as its text. They hand `prepare` a closure that formats the value with the
//! spec of the placeholder that uses it (`write!(w, "{0:>1$}", x, width)`); only a wrapper calls
//! it.
use super::encode::{Encode, Formatted};
use super::producer::format_now;
use crate::wire::tag;
use std::fmt;

/// A value to be formatted with `Display` on the calling thread: what [`display()`] returns.
///
/// Its `Display` and `Debug` are the value's `Display`, with the formatter's options passed on,
/// so `info!("{:>8}", display(&x))` writes what `format!("{:>8}", x)` writes.
#[derive(Clone, Copy)]
pub struct Displayed<T>(T);

/// A value to be formatted with `Debug` on the calling thread: what [`debug()`] returns.
///
/// Its `Debug` and `Display` are the value's `Debug`, with the formatter's options passed on,
/// so `info!("{:#?}", debug(&x))` writes what `format!("{:#?}", x)` writes.
#[derive(Clone, Copy)]
pub struct Debugged<T>(T);

impl<T: fmt::Display> fmt::Display for Displayed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<T: fmt::Display> fmt::Debug for Displayed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<T: fmt::Debug> fmt::Debug for Debugged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<T: fmt::Debug> fmt::Display for Debugged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Records `x` formatted with `Display`, for a type that cannot be recorded raw:
/// `info!("{}", tachylog::display(&addr))`.
///
/// The logging macro formats it on the calling thread, with the whole spec of the placeholder
/// that uses it (width, precision, fill, alignment, flags), and only when the record is kept,
/// so the message equals `format!` on `x` itself. The decoder shows the text as it is.
///
/// ```no_run
/// # let _guard = tachylog::Builder::new().dir("logs").init()?;
/// let addr = std::net::Ipv4Addr::LOCALHOST;
/// tachylog::info!("[{:>12}]", tachylog::display(addr)); // [   127.0.0.1]
/// # Ok::<(), tachylog::Error>(())
/// ```
///
/// An argument given once is formatted once, so the placeholders that use it must share one
/// spec: pass it once for each spec.
///
/// ```compile_fail
/// let addr = std::net::Ipv4Addr::LOCALHOST;
/// tachylog::info!("{0} {0:>12}", tachylog::display(addr));
/// ```
pub fn display<T: fmt::Display>(x: T) -> Displayed<T> {
    Displayed(x)
}

/// Records `x` formatted with `Debug`, on the calling thread:
/// `info!("{:?}", tachylog::debug(&req))`.
///
/// As for [`display()`], the macro formats it with its placeholder's whole spec, so
/// `{:#?}` pretty-prints as `format!("{:#?}", x)` does. Under `{}` it is the `Debug` text too.
///
/// ```no_run
/// # let _guard = tachylog::Builder::new().dir("logs").init()?;
/// let batch = vec![(1, "a"), (2, "b")];
/// tachylog::info!("flushing {:#?}", tachylog::debug(&batch));
/// # Ok::<(), tachylog::Error>(())
/// ```
pub fn debug<T: fmt::Debug>(x: T) -> Debugged<T> {
    Debugged(x)
}

/// How the macros record one argument: raw ([`Encode`]), or as text formatted now.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as a raw value",
    label = "not a tachylog argument type",
    note = "wrap it in `tachylog::display(..)` or `tachylog::debug(..)` to format it on the calling thread"
)]
pub trait Arg {
    /// What is encoded: the value itself, or its text.
    type Recorded<'a>: Encode
    where
        Self: 'a;
    /// The value to encode. `format` writes the value with its placeholder's spec; only
    /// values formatted on the calling thread call it.
    fn prepare<'a, F>(&'a self, format: F) -> Self::Recorded<'a>
    where
        F: FnOnce(&Self, &mut dyn fmt::Write) -> fmt::Result;
    /// The value to encode as a structured field: a value formatted on the calling thread is
    /// formatted as `{}` formats it.
    fn field(&self) -> Self::Recorded<'_>;
}

impl<T: Encode + ?Sized> Arg for T {
    type Recorded<'a>
        = &'a T
    where
        Self: 'a;
    #[inline(always)]
    fn prepare<F>(&self, _: F) -> &T
    where
        F: FnOnce(&Self, &mut dyn fmt::Write) -> fmt::Result,
    {
        self
    }
    #[inline(always)]
    fn field(&self) -> &T {
        self
    }
}

impl<T: fmt::Display> Arg for Displayed<T> {
    type Recorded<'a>
        = Formatted
    where
        Self: 'a;
    #[inline]
    fn prepare<F>(&self, format: F) -> Formatted
    where
        F: FnOnce(&Self, &mut dyn fmt::Write) -> fmt::Result,
    {
        format_now(tag::FORMATTED, |w| format(self, w))
    }
    #[inline]
    fn field(&self) -> Formatted {
        format_now(tag::PRE, |w| write!(w, "{self}"))
    }
}

impl<T: fmt::Debug> Arg for Debugged<T> {
    type Recorded<'a>
        = Formatted
    where
        Self: 'a;
    #[inline]
    fn prepare<F>(&self, format: F) -> Formatted
    where
        F: FnOnce(&Self, &mut dyn fmt::Write) -> fmt::Result,
    {
        format_now(tag::FORMATTED, |w| format(self, w))
    }
    #[inline]
    fn field(&self) -> Formatted {
        format_now(tag::PRE, |w| write!(w, "{self}"))
    }
}

/// A value the macros may format with more than one spec: any raw value. A value formatted on
/// the calling thread is formatted once, with one spec.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is formatted on the calling thread, once: its placeholders must share one spec",
    label = "used by placeholders with different specs",
    note = "pass the `display()` / `debug()` argument once for each spec"
)]
pub trait OneSpec {}

impl<T: Encode + ?Sized> OneSpec for T {}

/// Refuses, at compile time, an argument formatted on the calling thread that placeholders with
/// different specs use (the macros call it for such arguments).
#[inline(always)]
pub fn several_specs<T: OneSpec + ?Sized>(_: &T) {}
