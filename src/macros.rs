// Public logging macros. Each forwards to the proc macro `__private::__log!`, passing `$crate`
// (so the expansion names this crate however the caller spelled it) and the level.
//
// Input grammar, after the level:
//
//     [target: <const &'static str expr> ,] [ident = expr ,]* "format string" [, expr]* [, ident = expr]* [,]
//
// The format string may be left out (fields only): the message is then "".

/// Logs a record at the [`Level::Trace`](crate::Level::Trace) level.
///
/// Takes an optional `target: "..."`, then structured fields `name = value`, then a format
/// string and its arguments, exactly as `format!` does (positional, named, and identifiers
/// captured inline like `{qty}` or `{:>width$}`). The arguments are copied raw into the
/// thread's ring; formatting happens later, in the decoder. See [`info!`](crate::info!) for
/// every form.
///
/// ```
/// let bytes = 4096u64;
/// tachylog::trace!("read {} bytes from {path}", bytes, path = "/tmp/x");
/// ```
#[macro_export]
macro_rules! trace {
    ($($t:tt)*) => {
        $crate::__private::__log!($crate, Trace, $($t)*)
    };
}

/// Logs a record at the [`Level::Debug`](crate::Level::Debug) level.
///
/// Same syntax as [`info!`](crate::info!).
///
/// ```
/// let state = "idle";
/// tachylog::debug!(worker = 3, "state is {state}");
/// ```
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => {
        $crate::__private::__log!($crate, Debug, $($t)*)
    };
}

/// Logs a record at the [`Level::Info`](crate::Level::Info) level.
///
/// The syntax, after which every part but the format string's arguments is optional:
///
/// ```text
/// info!([target: <const &'static str>,] [field = value,]* "format string" [, positional]* [, name = value]* [,])
/// ```
///
/// - `target:` overrides the target, which defaults to `module_path!()`. It must be a
///   constant expression: it is stored in a `static`.
/// - `field = value` pairs before the format string are structured fields, recorded after the
///   message's arguments.
/// - The format string and its arguments follow `format!`'s rules, checked at compile time by
///   `format_args!` itself: arity, `{name}` references, and each spec against the argument's
///   type. With fields only and no format string, the message is empty.
/// - Every value is recorded raw (integers, floats, `bool`, `char`, `&str`, `String`, `Option`
///   of those, and references to them), or wrapped in [`display`](fn@crate::display) /
///   [`debug`](fn@crate::debug) to be formatted on the calling thread with the whole spec of
///   its placeholder. Any other type is a compile error that says so.
/// - Each argument is evaluated exactly once, and only when the level is enabled: the format
///   arguments first (positional, named, then captured), then the fields.
///
/// ```
/// let user = "ada";
/// let qty = 3u32;
/// let width = 8;
/// let batch = vec![1, 2, 3];
///
/// tachylog::info!("service started");
/// tachylog::info!("{} bought {} items", user, qty);
/// tachylog::info!("{user} bought {qty:>width$} items");
/// tachylog::info!("{who} bought {n:#x} items", who = user, n = qty);
/// tachylog::info!(target: "billing", user = user, qty = qty, "order placed");
/// tachylog::info!(user = user, qty = qty);
/// tachylog::info!("flushing {:?}", tachylog::debug(&batch));
/// ```
///
/// A format string and arguments that do not match fail to compile:
///
/// ```compile_fail
/// tachylog::info!("{} {}", 1);
/// ```
///
/// So does a spec the argument's type does not support:
///
/// ```compile_fail
/// tachylog::info!("{:x}", 1.5f64);
/// ```
///
/// And a value that cannot be recorded raw (wrap it in `tachylog::debug(..)`):
///
/// ```compile_fail
/// tachylog::info!("{:?}", vec![1, 2, 3]);
/// ```
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => {
        $crate::__private::__log!($crate, Info, $($t)*)
    };
}

/// Logs a record at the [`Level::Warn`](crate::Level::Warn) level.
///
/// Same syntax as [`info!`](crate::info!).
///
/// ```
/// let lag_ms = 250;
/// tachylog::warn!(target: "replication", "follower lagging by {lag_ms} ms");
/// ```
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => {
        $crate::__private::__log!($crate, Warn, $($t)*)
    };
}

/// Logs a record at the [`Level::Error`](crate::Level::Error) level.
///
/// Same syntax as [`info!`](crate::info!).
///
/// ```
/// let err = std::io::Error::other("disk full");
/// tachylog::error!(code = 28, "write failed: {:?}", tachylog::debug(&err));
/// ```
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => {
        $crate::__private::__log!($crate, Error, $($t)*)
    };
}

/// Logs a record at a level chosen at run time.
///
/// The first argument is an expression of type [`Level`](crate::Level); the rest is as for
/// [`info!`](crate::info!). Each of the five levels gets its own static call site.
///
/// ```
/// use tachylog::Level;
///
/// let level = if std::env::var_os("VERBOSE").is_some() { Level::Debug } else { Level::Info };
/// tachylog::log!(level, "cache has {} entries", 42usize);
/// tachylog::log!(Level::Warn, target: "cache", evicted = 7u32, "eviction");
/// ```
#[macro_export]
macro_rules! log {
    ($level:expr) => {
        $crate::log!($level,)
    };
    ($level:expr, $($t:tt)*) => {
        match $level {
            $crate::Level::Error => $crate::__private::__log!($crate, Error, $($t)*),
            $crate::Level::Warn => $crate::__private::__log!($crate, Warn, $($t)*),
            $crate::Level::Info => $crate::__private::__log!($crate, Info, $($t)*),
            $crate::Level::Debug => $crate::__private::__log!($crate, Debug, $($t)*),
            $crate::Level::Trace => $crate::__private::__log!($crate, Trace, $($t)*),
        }
    };
}
