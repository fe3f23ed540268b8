//! The `tracing` bridge: a [`Layer`](tracing_subscriber::Layer) that records `tracing` events,
//! with their fields and the names of the spans they are in, through tachylog's rings.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let _guard = tachylog::Builder::new().init()?;
//! let subscriber = tracing_subscriber::registry().with(tachylog::bridge::tracing::layer());
//! tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
//!
//! let span = tracing::info_span!("request", id = 7).entered();
//! tracing::info!(user = "ana", qty = 3, price = 9.5, "order placed");
//! # Ok::<(), tachylog::Error>(())
//! ```
//!
//! How an event is recorded:
//!
//! - Each `tracing` call site gets one tachylog call site, created the first time one of its
//!   events reaches the layer (its metadata is `'static`, so the field names are known then)
//!   and kept in a table keyed by the address of the `tracing` metadata. Each thread caches the
//!   table's entries it uses, so later events find it without a lock.
//! - The `message` field becomes the record's message. Every other field of the call site is a
//!   structured field, in the call site's order, followed by a field `spans`: the names of the
//!   spans the event is in, outermost first, joined by `:` (`request:db`), or `None` outside
//!   any span (null in JSON, left out of text, logfmt and syslog, like every `None` field). Span
//!   fields are not recorded.
//! - Values that `tracing` hands over as `i64`, `u64`, `i128`, `u128`, `f64`, `bool` or `str` are
//!   recorded raw (a `str` is copied into the thread's scratch buffer, because `tracing` lends
//!   it only for the duration of the call). Everything else, the message included, reaches a
//!   subscriber only through `Debug` (`record_debug`), so it is **formatted on the calling
//!   thread** into that buffer. A field the event leaves empty (`field::Empty`) is recorded as
//!   `None`.
//! - A call site with more than [`MAX_FIELDS`] fields keeps the first `MAX_FIELDS`; spans
//!   nested deeper than [`MAX_SPAN_DEPTH`] keep the innermost `MAX_SPAN_DEPTH` names.
//! - tachylog's filter ([`Builder::filter`](crate::Builder::filter),
//!   [`set_filter`](crate::set_filter)) decides which events this layer records, per target
//!   and cached per call site. It does not filter for the subscriber's other layers: add a
//!   `tracing` filter for those.
use crate::Level;
use crate::frontend::callsite::{Callsite, Metadata};
use crate::frontend::encode::{ArenaStr, Encode, Formatted, Writer};
use crate::frontend::producer::{self, arena_str};
use crate::sync::{Mutex, lock};
use crate::wire::tag;
use ::tracing::field::{Field, Visit};
use ::tracing::{Event, Subscriber};
use rustc_hash::FxBuildHasher;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Most fields recorded per event (`tracing`'s macros accept at most 32).
pub const MAX_FIELDS: usize = 32;
/// Most span names recorded per event (the innermost ones).
pub const MAX_SPAN_DEPTH: usize = 32;
/// Name of the structured field holding the span names.
pub const SPANS_FIELD: &str = "spans";

/// The layer; see the module docs. Add it to a `tracing_subscriber::registry()`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TachylogLayer {
    _private: (),
}

/// A new [`TachylogLayer`].
pub fn layer() -> TachylogLayer {
    TachylogLayer::default()
}

/// The tachylog call site of one `tracing` call site, and where its fields go.
#[derive(Debug)]
struct Bridged {
    cs: Callsite,
    /// Index of the `message` field in the `tracing` field set, if it has one.
    message: Option<usize>,
    /// Fields of the `tracing` field set that are recorded (`min(len, MAX_FIELDS)`).
    n: usize,
}

type Map = HashMap<usize, &'static Bridged, FxBuildHasher>;

/// Every bridged call site, keyed by the address of its `tracing` metadata (`'static`, so it
/// names one call site for the life of the process). Locked only on a thread's first event
/// from a call site.
static BRIDGED: Mutex<Map> = Mutex::new(HashMap::with_hasher(FxBuildHasher));

// sync-lint: allow (a per-thread cache owned by its thread; not part of the modelled protocol)
thread_local! {
    /// This thread's copy of the entries of [`BRIDGED`] it has used.
    static CACHE: RefCell<Map> = const { RefCell::new(HashMap::with_hasher(FxBuildHasher)) };
}

fn from_tracing(level: &::tracing::Level) -> Level {
    match *level {
        ::tracing::Level::ERROR => Level::Error,
        ::tracing::Level::WARN => Level::Warn,
        ::tracing::Level::INFO => Level::Info,
        ::tracing::Level::DEBUG => Level::Debug,
        _ => Level::Trace,
    }
}

#[inline]
fn bridged(meta: &'static ::tracing::Metadata<'static>) -> &'static Bridged {
    let key = std::ptr::from_ref(meta) as usize;
    match CACHE.try_with(|c| c.try_borrow().ok().and_then(|m| m.get(&key).copied())) {
        Ok(Some(b)) => b,
        _ => bridge(meta, key),
    }
}

#[cold]
#[inline(never)]
fn bridge(meta: &'static ::tracing::Metadata<'static>, key: usize) -> &'static Bridged {
    let b = *lock(&BRIDGED)
        .entry(key)
        .or_insert_with(|| new_bridged(meta));
    let _ = CACHE.try_with(|c| {
        if let Ok(mut m) = c.try_borrow_mut() {
            m.insert(key, b);
        }
    });
    b
}

/// Builds (and leaks: call sites live as long as the process) the call site of `meta`.
fn new_bridged(meta: &'static ::tracing::Metadata<'static>) -> &'static Bridged {
    let fields = meta.fields();
    let n = fields.len().min(MAX_FIELDS);
    let message = fields.iter().take(n).position(|f| f.name() == "message");
    let mut names: Vec<&'static str> = fields
        .iter()
        .take(n)
        .filter(|f| Some(f.index()) != message)
        .map(|f| f.name())
        .collect();
    names.push(SPANS_FIELD);
    let (format, arg_names): (&'static str, &'static [&'static str]) = match message {
        Some(_) => ("{}", &[""]),
        None => ("", &[]),
    };
    Box::leak(Box::new(Bridged {
        cs: Callsite::new(Metadata {
            level: from_tracing(meta.level()),
            target: meta.target(),
            module_path: meta.module_path().unwrap_or(""),
            file: meta.file().unwrap_or(""),
            line: meta.line().unwrap_or(0),
            format,
            arg_names,
            field_names: names.leak(),
        }),
        message,
        n,
    }))
}

/// One field's value, collected before the record is reserved (its size must be known first).
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// The event gave no value: recorded as null.
    Absent,
    I64(i64),
    U64(u64),
    /// Little-endian bytes: keeps the slot's alignment at 8, the array of slots small.
    I128([u8; 16]),
    U128([u8; 16]),
    F64(f64),
    Bool(bool),
    Str(ArenaStr),
    Debug(Formatted),
}

impl Encode for Slot {
    #[inline]
    fn size(&self) -> usize {
        match self {
            Slot::Absent => 1,
            Slot::I64(v) => v.size(),
            Slot::U64(v) => v.size(),
            Slot::I128(_) => 0i128.size(),
            Slot::U128(_) => 0u128.size(),
            Slot::F64(v) => v.size(),
            Slot::Bool(v) => v.size(),
            Slot::Str(v) => v.size(),
            Slot::Debug(v) => v.size(),
        }
    }
    #[inline]
    fn encode(&self, w: &mut Writer<'_>) {
        match self {
            Slot::Absent => w.put_u8(tag::NONE),
            Slot::I64(v) => v.encode(w),
            Slot::U64(v) => v.encode(w),
            Slot::I128(v) => i128::from_le_bytes(*v).encode(w),
            Slot::U128(v) => u128::from_le_bytes(*v).encode(w),
            Slot::F64(v) => v.encode(w),
            Slot::Bool(v) => v.encode(w),
            Slot::Str(v) => v.encode(w),
            Slot::Debug(v) => v.encode(w),
        }
    }
}

/// Collects an event's values by field index.
struct Collect<'a> {
    slots: &'a mut [Slot],
}

impl Collect<'_> {
    /// The slot of `field`, if it is recorded.
    fn slot(&mut self, field: &Field) -> Option<&mut Slot> {
        self.slots.get_mut(field.index())
    }
}

impl Visit for Collect<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        if let Some(s) = self.slot(field) {
            *s = Slot::I64(value);
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if let Some(s) = self.slot(field) {
            *s = Slot::U64(value);
        }
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        if let Some(s) = self.slot(field) {
            *s = Slot::I128(value.to_le_bytes());
        }
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        if let Some(s) = self.slot(field) {
            *s = Slot::U128(value.to_le_bytes());
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        if let Some(s) = self.slot(field) {
            *s = Slot::F64(value);
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if let Some(s) = self.slot(field) {
            *s = Slot::Bool(value);
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(s) = self.slot(field) {
            *s = Slot::Str(arena_str(format_args!("{value}")));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if let Some(s) = self.slot(field) {
            *s = Slot::Debug(producer::text_now(format_args!("{value:?}")));
        }
    }
}

/// Span names, innermost first; displayed outermost first, joined by `:`.
struct SpanPath<'a>(&'a [&'static str]);

impl fmt::Display for SpanPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

fn span_path<S>(ctx: &Context<'_, S>, event: &Event<'_>) -> Option<ArenaStr>
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    let scope = ctx.event_scope(event)?;
    let mut names = [""; MAX_SPAN_DEPTH];
    let mut n = 0;
    for span in scope.take(MAX_SPAN_DEPTH) {
        names[n] = span.name();
        n += 1;
    }
    (n > 0).then(|| arena_str(format_args!("{}", SpanPath(&names[..n]))))
}

impl<S> tracing_subscriber::Layer<S> for TachylogLayer
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !crate::__private::enabled(from_tracing(meta.level())) {
            return;
        }
        let b = bridged(meta);
        if !b.cs.enabled() {
            return;
        }
        // The slots live on the stack: a few for the common call site, all for the widest.
        match b.n {
            0..=4 => record::<4, S>(b, event, &ctx),
            5..=8 => record::<8, S>(b, event, &ctx),
            _ => record::<MAX_FIELDS, S>(b, event, &ctx),
        }
    }
}

/// Collects the event's values into `N >= b.n` slots, then writes the record.
#[inline]
fn record<const N: usize, S>(b: &'static Bridged, event: &Event<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    let mut slots = [Slot::Absent; N];
    let slots = &mut slots[..b.n];
    event.record(&mut Collect { slots });
    let spans = span_path(ctx, event);
    let size = slots.iter().map(Encode::size).sum::<usize>() + spans.size();
    producer::log(&b.cs, size, |w| {
        if let Some(m) = b.message {
            slots[m].encode(w);
        }
        for (i, s) in slots.iter().enumerate() {
            if Some(i) != b.message {
                s.encode(w);
            }
        }
        spans.encode(w);
    });
}

/// `tracing` call sites bridged so far.
pub fn callsites() -> usize {
    lock(&BRIDGED).len()
}
