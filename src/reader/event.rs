//! What a reader yields: records, notices and segment ends, and what they refer to.
use super::error::Tail;
use super::load;
use crate::Level;
use crate::wire::RECORD_HEAD_LEN;
use std::path::PathBuf;
use std::sync::Arc;
use tachylog_format::{Piece, Plain};

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

/// Static description of a call site, as read from a segment. Descriptions are interned for
/// the life of the process (one per distinct call site, however many segments describe it), so
/// records refer to theirs without reference counting. Two are equal when everything the
/// segment said about them is.
#[derive(Debug)]
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
    pub format: &'static str,
    pub(super) pieces: Result<Vec<Piece<'static>>, tachylog_format::ParseError>,
    /// The format string's plain form, if it has one (the message is then written as the
    /// values are decoded).
    pub(super) plain: Option<Plain<'static>>,
    pub(super) arg_names: Vec<&'static str>,
    /// Names of the structured fields.
    pub field_names: Vec<Arc<str>>,
}

impl CallsiteInfo {
    /// What the segment said (everything else is derived from it).
    #[allow(clippy::type_complexity)]
    fn said(&self) -> (Level, &str, &str, &str, u32, &str, &[&str], &[Arc<str>]) {
        (
            self.level,
            &self.target,
            &self.module_path,
            &self.file,
            self.line,
            self.format,
            &self.arg_names,
            &self.field_names,
        )
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
#[derive(Debug, Clone)]
pub struct Record {
    /// Wall-clock time, nanoseconds since the Unix epoch.
    pub ts_unix_ns: i64,
    /// Raw tick reading taken on the logging thread.
    pub ticks: u64,
    /// Level.
    pub level: Level,
    /// The call site.
    pub callsite: &'static CallsiteInfo,
    /// The thread.
    pub thread: Arc<ThreadInfo>,
    /// Position of this record among its thread's records in this reader's input (0-based).
    pub thread_seq: u64,
    /// Sequence number of the segment it was read from.
    pub segment: u64,
    /// Process id of the writer (with `thread.producer`, identifies the thread across runs).
    pub pid: u32,
    /// The segment's bytes; the record's values are `data[at..at + len]`. Shared, so reading a
    /// record allocates nothing.
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
    pub callsite: &'static CallsiteInfo,
    /// Records kept since the previous notice.
    pub kept: u64,
    /// Records skipped since the previous notice.
    pub skipped: u64,
    /// Sequence number of the segment it was read from.
    pub segment: u64,
}

/// A segment's bytes, shared by the records read from it (moved in, not copied).
pub(super) type SegmentBytes = Arc<load::Loaded>;

impl Record {
    /// The encoded values (arguments, then fields).
    pub(super) fn args(&self) -> &[u8] {
        let at = self.at as usize;
        self.data
            .get(at..at + self.len as usize)
            .unwrap_or_default()
    }

    /// Bytes this record takes in its segment: the 16-byte record header plus its values.
    pub fn encoded_len(&self) -> usize {
        RECORD_HEAD_LEN + self.len as usize
    }
}
