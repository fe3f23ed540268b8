//! What a reader yields: records, notices and segment ends, and what they refer to.
use super::error::Tail;
use super::parsed::Parsed;
use super::source;
use crate::Level;
use crate::wire::RECORD_HEAD_LEN;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

/// One thing read from a segment.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A log record.
    Record(Record),
    /// A notice that a thread lost records.
    Dropped(DropNotice),
    /// What sampling (`sample = N`, `limit = N/s`) kept and skipped at one call site since
    /// the previous such notice from the same process; sum them for totals.
    Sampled(SampledNotice),
    /// The end of a segment file was reached.
    SegmentEnd {
        /// The file.
        path: PathBuf,
        /// How it ends.
        tail: Tail,
    },
}

/// Static description of a call site, as read from a segment. A reader keeps one description
/// per distinct call site for as long as something refers to it (the segment that describes it,
/// a record), however many segments describe it again; records share theirs. Two are equal
/// when everything the segment said about them is.
pub struct CallsiteInfo {
    /// Level.
    pub level: Level,
    /// Target.
    pub target: Arc<str>,
    /// Module path.
    pub module_path: Arc<str>,
    /// Source file.
    pub file: Arc<str>,
    /// Source line.
    pub line: u32,
    /// Format string.
    pub format: Arc<str>,
    /// Names of the structured fields.
    pub field_names: Vec<Arc<str>>,
    /// The format string parsed, and the argument names.
    pub(super) parsed: Parsed,
}

impl CallsiteInfo {
    /// A description of what a call-site frame said.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        level: Level,
        target: &str,
        module_path: &str,
        file: &str,
        line: u32,
        format: &str,
        arg_names: &[&str],
        field_names: Vec<Arc<str>>,
    ) -> CallsiteInfo {
        let parsed = Parsed::new(Arc::from(format), arg_names);
        CallsiteInfo {
            level,
            target: target.into(),
            module_path: module_path.into(),
            file: file.into(),
            line,
            format: parsed.format().clone(),
            field_names,
            parsed,
        }
    }

    /// What the segment said (everything else is derived from it).
    #[allow(clippy::type_complexity)]
    fn said(&self) -> (Level, &str, &str, &str, u32, &str, &[&str], &[Arc<str>]) {
        (
            self.level,
            &self.target,
            &self.module_path,
            &self.file,
            self.line,
            &self.format,
            self.parsed.arg_names(),
            &self.field_names,
        )
    }

    /// Bytes this description takes, itself and what it owns on the heap (an estimate that
    /// counts everything that grows with what the segment said).
    pub(super) fn footprint(&self) -> usize {
        // An `Arc`'s allocation holds its two counts before the value.
        const ARC: usize = 2 * size_of::<usize>();
        let strings = [&self.target, &self.module_path, &self.file]
            .into_iter()
            .chain(&self.field_names)
            .map(|s| ARC + s.len())
            .sum::<usize>();
        ARC + size_of::<CallsiteInfo>()
            + strings
            + self.field_names.capacity() * size_of::<Arc<str>>()
            + ARC
            + self.parsed.heap_bytes()
    }
}

impl std::fmt::Debug for CallsiteInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallsiteInfo")
            .field("level", &self.level)
            .field("target", &self.target)
            .field("module_path", &self.module_path)
            .field("file", &self.file)
            .field("line", &self.line)
            .field("format", &self.format)
            .field("pieces", &self.parsed.pieces())
            .field("plain", &self.parsed.plain())
            .field("arg_names", &self.parsed.arg_names())
            .field("field_names", &self.field_names)
            .finish()
    }
}

impl PartialEq for CallsiteInfo {
    fn eq(&self, other: &Self) -> bool {
        self.said() == other.said()
    }
}

impl Eq for CallsiteInfo {}

impl std::hash::Hash for CallsiteInfo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.said().hash(state);
    }
}

/// The thread a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Producer id (unique within one run of the writing process).
    pub producer: u32,
    /// Operating-system thread id.
    pub tid: u32,
    /// Thread name, if it had one.
    pub name: Option<Arc<str>>,
}

/// A decoded record. Its message is formatted on demand ([`Record::message`]), so filters
/// that look only at level, target or thread never pay for formatting.
#[derive(Clone)]
pub struct Record {
    /// Wall-clock time, nanoseconds since the Unix epoch.
    pub ts_unix_ns: i64,
    /// Raw tick reading taken on the logging thread.
    pub ticks: u64,
    /// Level.
    pub level: Level,
    /// The call site ([`Record::callsite`]).
    pub(super) callsite: CallsitePtr,
    /// The thread.
    pub thread: Arc<ThreadInfo>,
    /// Position of this record among its thread's records in this reader's input (0-based).
    pub thread_seq: u64,
    /// Sequence number of the segment it was read from.
    pub segment: u64,
    /// Process id of the writer (with `thread.producer`, identifies the thread across runs).
    pub pid: u32,
    /// The segment's bytes; the record's values are `data[at..at + len]`. Shared, so reading a
    /// record allocates nothing. They also keep the record's call site described.
    pub(super) data: SegmentBytes,
    pub(super) at: u32,
    pub(super) len: u32,
}

/// A notice that a thread lost records (full ring, oversized record, no writable segment).
#[derive(Debug, Clone)]
pub struct DropNotice {
    /// When the loss was noticed, ns since the Unix epoch.
    pub ts_unix_ns: i64,
    /// The thread (`None` for records lost where no thread ring could be used).
    pub thread: Option<Arc<ThreadInfo>>,
    /// Records lost since the previous notice for this thread.
    pub count: u64,
    /// Sequence number of the segment it was read from.
    pub segment: u64,
}

/// Kept and skipped counts of one sampled call site (see [`Event::Sampled`]).
#[derive(Debug, Clone)]
pub struct SampledNotice {
    /// The call site.
    pub callsite: Arc<CallsiteInfo>,
    /// Records kept since the previous notice.
    pub kept: u64,
    /// Records skipped since the previous notice.
    pub skipped: u64,
    /// Sequence number of the segment it was read from.
    pub segment: u64,
}

/// Call-site descriptions kept for the records of one segment: each one the segment has given
/// so far (see [`Chunk`]). Only ever added to, while the segment is read.
pub(super) type Keep = Mutex<Vec<Arc<CallsiteInfo>>>;

/// A segment's bytes (in follow mode, the part read last), shared by the records read from
/// them (moved in, not copied), and the segment's [`Keep`] list. (Or one record's bytes, copied
/// out of the segment when the time-order merge detaches it: [`Record::detach`].) A record points at its call
/// site's description without holding it (that would cost two atomic operations a record):
/// the bytes it holds keep the description alive.
#[derive(Debug)]
pub(super) struct Chunk {
    bytes: source::Loaded,
    callsites: Arc<Keep>,
    /// The segment's file, for messages.
    path: Arc<std::path::Path>,
    /// Offset in the (decompressed) segment of `bytes[0]`.
    base: u64,
}

impl Chunk {
    /// `bytes` of the segment `path` from offset `base` on, whose call-site descriptions
    /// `callsites` keeps.
    pub(super) fn new(
        bytes: source::Loaded,
        callsites: Arc<Keep>,
        path: Arc<std::path::Path>,
        base: usize,
    ) -> Chunk {
        Chunk {
            bytes,
            callsites,
            path,
            base: base as u64,
        }
    }

    /// The segment's file.
    pub(super) fn path(&self) -> &Arc<std::path::Path> {
        &self.path
    }

    /// The segment's call-site descriptions.
    pub(super) fn callsites(&self) -> &Arc<Keep> {
        &self.callsites
    }
}

impl std::ops::Deref for Chunk {
    type Target = [u8];
    #[inline(always)]
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// A segment's bytes, shared by the records read from it.
pub(super) type SegmentBytes = Arc<Chunk>;

/// Where a record's call-site description is: in the [`Keep`] list of the chunk the record
/// holds. Read only through [`Record::callsite`].
#[derive(Clone, Copy)]
pub(super) struct CallsitePtr(NonNull<CallsiteInfo>);

impl CallsitePtr {
    /// Points at `cs`, which the caller has put in the keep list of the chunk the record
    /// holding this will hold.
    #[inline(always)]
    pub(super) fn new(cs: &Arc<CallsiteInfo>) -> CallsitePtr {
        // From `Arc::as_ptr`, not from a reference: the pointer may then reach the counts
        // before the value, as `Record::callsite_arc` needs.
        CallsitePtr(NonNull::new(Arc::as_ptr(cs).cast_mut()).expect("an Arc is never null"))
    }
}

// SAFETY: a `CallsitePtr` is only dereferenced by `Record::callsite`, into a shared reference
// to a `CallsiteInfo`, which is `Send` and `Sync`; what it points at is kept alive by the chunk
// that the same record holds, from whichever thread the record is used.
unsafe impl Send for CallsitePtr {}
// SAFETY: as above.
unsafe impl Sync for CallsitePtr {}

impl Record {
    /// The call site's description.
    #[inline(always)]
    pub fn callsite(&self) -> &CallsiteInfo {
        // SAFETY: the walker made `self.callsite` from an `Arc` it had put in the keep list of
        // `self.data`'s chunk (or of an earlier chunk of the same segment, or of the chunk the
        // record was detached from: all of them share that list), and that list only grows:
        // the description lives, unchanged, at least as long as `self.data`, which `self`
        // holds for as long as the returned borrow lasts.
        unsafe { self.callsite.0.as_ref() }
    }

    /// The call site's description, shared: to keep it after the record is gone.
    pub fn callsite_arc(&self) -> Arc<CallsiteInfo> {
        let ptr = self.callsite.0.as_ptr().cast_const();
        // SAFETY: `ptr` is what `Arc::as_ptr` (the same pointer `Arc::into_raw` gives) returned
        // for an `Arc` that lives as long as `self.data` does (see `callsite`), so its strong
        // count is at least one; raising it by one accounts for the `Arc` made here.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }

    /// Gives the record bytes of its own: a copy of its header and values in a chunk of
    /// their own, which shares the segment's call-site descriptions and file name, so that the
    /// record no longer keeps the segment's bytes (its mapping, or the buffer it was read
    /// into). Everything read from the record stays the same, [`Record::source`] included.
    pub(super) fn detach(&mut self) {
        let (at, len) = (self.at as usize, self.len as usize);
        let start = at.saturating_sub(RECORD_HEAD_LEN);
        let bytes = self.data.get(start..at + len).unwrap_or_default().to_vec();
        let (_, offset) = self.source();
        self.data = Arc::new(Chunk {
            bytes: bytes.into(),
            callsites: self.data.callsites.clone(),
            path: self.data.path.clone(),
            base: offset,
        });
        // `source` is `base` plus the offset of the record's header in the chunk: 0.
        self.at = (at - start) as u32;
    }

    /// The encoded values (arguments, then fields).
    pub(super) fn args(&self) -> &[u8] {
        let at = self.at as usize;
        self.data
            .get(at..at + self.len as usize)
            .unwrap_or_default()
    }

    /// The file the record was read from, and the byte offset of the record in it (in the
    /// decompressed data of a compressed segment).
    pub fn source(&self) -> (&std::path::Path, u64) {
        let at = (self.at as u64).saturating_sub(RECORD_HEAD_LEN as u64);
        (&self.data.path, self.data.base + at)
    }

    /// Bytes this record takes in its segment: the 16-byte record header plus its values.
    pub fn encoded_len(&self) -> usize {
        RECORD_HEAD_LEN + self.len as usize
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("ts_unix_ns", &self.ts_unix_ns)
            .field("ticks", &self.ticks)
            .field("level", &self.level)
            .field("callsite", self.callsite())
            .field("thread", &self.thread)
            .field("thread_seq", &self.thread_seq)
            .field("segment", &self.segment)
            .field("pid", &self.pid)
            .field("values", &self.args())
            .finish()
    }
}
