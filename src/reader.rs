//! Reading segments back: an iterator of decoded records over directories and files.
//!
//! The reader trusts nothing it reads: every length is checked against the bytes that are
//! there before anything is allocated, every frame's checksum is verified before its payload is
//! used, and corruption is reported (with file and byte offset) as an `Err` item, after which
//! reading goes on at the next frame that verifies.
//!
//! ```no_run
//! for item in tachylog::reader::Reader::open(["logs"])? {
//!     match item {
//!         Ok(tachylog::reader::Event::Record(r)) => println!("{} {}", r.level, r.message()),
//!         Ok(other) => println!("{other:?}"),
//!         Err(e) => eprintln!("{e}"),
//!     }
//! }
//! # Ok::<(), tachylog::reader::ReadError>(())
//! ```
use crate::Level;
use crate::wire::{
    self, AnchorBody, CallsiteHead, DroppedBody, EndBody, FRAME_HEADER_LEN, FormatError,
    FrameHeader, HEADER_LEN, Kind, RECORD_HEAD_LEN, RecordHead, RecordsHead, SampledEntry,
    SampledHead, SegmentHeader, ThreadHead, tag,
};
use smallvec::SmallVec;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tachylog_format::{Piece, Plain, Value};
use zerocopy::FromBytes;

pub mod follow;
mod load;
pub mod merge;
pub mod verify;

pub use load::{COMPRESSED_SUFFIX, MAX_SEGMENT_BYTES, load_segment};

/// Why reading failed, or what was found damaged. Damage is reported and reading goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A path could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a tachylog segment (wrong magic or too short).
    #[error("{}: not a tachylog segment ({reason})", path.display())]
    NotASegment {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The segment was written in a format version this reader does not know.
    #[error("{}: unsupported segment format version {version} (this reader supports versions {} to {})", path.display(), wire::MIN_VERSION, wire::VERSION)]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u16,
    },
    /// A damaged region: a frame whose checksum or structure is wrong.
    #[error("{}: corrupt data at byte offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the damaged frame (or header).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// How a segment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tail {
    /// Sealed: an END frame closes it.
    Sealed,
    /// Unsealed, and the file ends exactly where its last frame ends (a copy of the published
    /// part of a segment, or a segment truncated without its END frame).
    Clean,
    /// Unsealed, and the space after the last frame is zero: preallocated space the writer had
    /// not reached (a live segment, or one whose writer stopped between frames, as after
    /// `kill -9`).
    ZeroFilled,
    /// Unsealed, and the last frame is incomplete or fails its checksum (the writer stopped in
    /// the middle of it). Nothing of it is emitted.
    Torn,
    /// The file holds nothing but zero bytes, or nothing at all: the writer stopped while
    /// creating it, before its header was written. There is nothing to decode.
    Empty,
}

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
    pieces: Result<Vec<Piece<'static>>, tachylog_format::ParseError>,
    /// The format string's plain form, if it has one (the message is then written as the
    /// values are decoded).
    plain: Option<Plain<'static>>,
    arg_names: Vec<&'static str>,
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

/// The interned description equal to `info` (see [`CallsiteInfo`]). Bounded by the distinct
/// call sites in the input, as [`intern`] is by the distinct strings.
fn intern_callsite(info: CallsiteInfo) -> &'static CallsiteInfo {
    static SET: Interned<CallsiteInfo> = Mutex::new(None);
    intern_in(&SET, info)
}

/// A set of values kept for the life of the process.
type Interned<T> = Mutex<Option<HashSet<&'static T>>>;

/// The value in `set` equal to `v`, added if there is none.
fn intern_in<T, B>(set: &Interned<T>, v: B) -> &'static T
where
    T: ?Sized + Eq + std::hash::Hash + 'static,
    B: std::borrow::Borrow<T> + Into<Box<T>>,
{
    let mut g = set.lock().unwrap_or_else(|e| e.into_inner());
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(&found) = set.get(v.borrow()) {
        return found;
    }
    let new: &'static T = Box::leak(v.into());
    set.insert(new);
    new
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
    data: SegmentBytes,
    at: u32,
    len: u32,
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

/// A structured field or argument value decoded from a record.
pub type FieldValue<'a> = Value<'a>;

/// Why a record's values could not be decoded or rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A segment's bytes, shared by the records read from it (moved in, not copied).
type SegmentBytes = Arc<load::Loaded>;

/// Values of one record, on the stack for up to eight of them (no allocation per record).
type Values<'a> = SmallVec<[Value<'a>; 8]>;

impl Record {
    /// The encoded values (arguments, then fields).
    fn args(&self) -> &[u8] {
        let at = self.at as usize;
        self.data
            .get(at..at + self.len as usize)
            .unwrap_or_default()
    }

    /// Bytes this record takes in its segment: the 16-byte record header plus its values.
    pub fn encoded_len(&self) -> usize {
        RECORD_HEAD_LEN + self.len as usize
    }

    /// Decodes the values (format arguments, then fields) on the stack and hands them to `f`.
    #[inline]
    fn with_values<R>(
        &self,
        f: impl FnOnce(&[Value<'_>], &[Value<'_>]) -> R,
    ) -> Result<R, ValueError> {
        // Filled in place: returning two `SmallVec`s by value would copy them.
        let (mut args, mut fields) = (Values::new(), Values::new());
        self.values_into(&mut args, &mut fields)?;
        Ok(f(&args, &fields))
    }

    /// The decoded values: format arguments, then fields.
    #[inline(always)]
    fn values(&self) -> Result<(Values<'_>, Values<'_>), ValueError> {
        let (mut args, mut fields) = (Values::new(), Values::new());
        self.values_into(&mut args, &mut fields)?;
        Ok((args, fields))
    }

    /// Decodes the values (format arguments, then fields) into `args` and `fields`.
    #[inline(always)]
    fn values_into<'a>(
        &'a self,
        args: &mut Values<'a>,
        fields: &mut Values<'a>,
    ) -> Result<(), ValueError> {
        let cs = &self.callsite;
        let mut cur = Cursor {
            buf: self.args(),
            pos: 0,
        };
        for _ in 0..cs.arg_names.len() {
            args.push(cur.value(0)?);
        }
        for _ in 0..cs.field_names.len() {
            fields.push(cur.value(0)?);
        }
        if cur.pos != cur.buf.len() {
            return Err(ValueError(format!(
                "{} stray bytes after the values",
                cur.buf.len() - cur.pos
            )));
        }
        Ok(())
    }

    /// Appends the formatted message to `out`, as `format!` would have produced it.
    pub fn write_message(&self, out: &mut String) -> Result<(), ValueError> {
        self.write_message_ascii(out).map(drop)
    }

    /// Appends the formatted message to `out`, as [`Record::write_message`] does, and says
    /// whether it is known to be [plain text](tachylog_format::is_plain_text) (printable ASCII
    /// without `"` or `\`), which an output format can then copy without looking for
    /// characters to escape. It is known when the format string is plain and its literal text
    /// and every argument are plain text (numbers and `bool` always are; text is looked at);
    /// `false` means only that it was not shown.
    #[inline]
    pub fn write_message_ascii(&self, out: &mut String) -> Result<bool, ValueError> {
        let cs = self.callsite;
        if let Some(plain) = &cs.plain
            && let Some(ascii) = self.write_plain(out, plain, None)
        {
            return Ok(ascii);
        }
        let pieces = cs.pieces.as_ref().map_err(|e| ValueError(e.to_string()))?;
        self.with_values(|args, _| tachylog_format::render(out, pieces, &cs.arg_names, args))?
            .map_err(|e| ValueError(e.to_string()))?;
        Ok(false)
    }

    /// Does what [`Record::write_message_ascii`] does and what [`Record::visit_fields`] does,
    /// decoding the values once: the message goes to `out`, and each structured field to
    /// `field`, in order, when every value decodes (whether or not the message renders).
    #[inline]
    pub fn write_message_and_fields<'a>(
        &'a self,
        out: &mut String,
        mut field: impl FnMut(&'a str, Value<'a>),
    ) -> Result<bool, ValueError> {
        let cs = self.callsite;
        // Most call sites have no fields: then there is no buffer to make and drop.
        let mut fields = (!cs.field_names.is_empty()).then(Values::new);
        let message = if let Some(plain) = &cs.plain
            && let Some(ascii) = self.write_plain(out, plain, fields.as_mut())
        {
            Ok(ascii)
        } else {
            let (mut args, fields) = (Values::new(), fields.get_or_insert_with(Values::new));
            let decoded = self.values_into(&mut args, fields);
            if decoded.is_err() {
                fields.clear();
            }
            // A format string that does not parse is the first thing to report, as before.
            match (&cs.pieces, decoded) {
                (Err(e), _) => Err(ValueError(e.to_string())),
                (Ok(_), Err(e)) => Err(e),
                (Ok(pieces), Ok(())) => tachylog_format::render(out, pieces, &cs.arg_names, &args)
                    .map(|()| false)
                    .map_err(|e| ValueError(e.to_string())),
            }
        };
        if let Some(fields) = &mut fields {
            // Drained in place: moving the vector into an iterator would copy its buffer.
            for (name, v) in cs.field_names.iter().zip(fields.drain(..)) {
                field(name, v);
            }
        }
        message
    }

    /// Writes the message of a plain format string, each argument as it is decoded, checks
    /// the rest of the values (keeping the fields in `fields` if given), and returns whether
    /// the message is plain text (see
    /// [`Record::write_message_ascii`]). Anything unusual (a value `{}` does not apply to,
    /// bytes that do not decode) undoes what it wrote and returns `None`, for the general
    /// path to render or explain.
    #[inline]
    fn write_plain<'a>(
        &'a self,
        out: &mut String,
        plain: &Plain<'_>,
        mut fields: Option<&mut Values<'a>>,
    ) -> Option<bool> {
        let start = out.len();
        let mut cur = Cursor {
            buf: self.args(),
            pos: 0,
        };
        let mut ok = true;
        let mut ascii = plain.literals_plain;
        for step in &plain.steps {
            match step {
                Some(lit) => tachylog_format::push_short(out, lit),
                None => match cur.plain_arg(out) {
                    Some(a) => ascii &= a,
                    None => {
                        ok = false;
                        break;
                    }
                },
            }
        }
        if ok {
            for _ in 0..self.callsite.field_names.len() {
                match (cur.value(0), fields.as_mut()) {
                    (Ok(v), Some(fields)) => fields.push(v),
                    (Ok(_), None) => {}
                    (Err(_), _) => {
                        ok = false;
                        break;
                    }
                }
            }
        }
        if ok && cur.pos == cur.buf.len() {
            return Some(ascii);
        }
        out.truncate(start);
        if let Some(fields) = fields {
            fields.clear();
        }
        None
    }

    /// The formatted message. If the record cannot be rendered (only possible with forged
    /// input), the format string followed by a bracketed explanation.
    pub fn message(&self) -> String {
        let mut s = String::new();
        if let Err(e) = self.write_message(&mut s) {
            s.clear();
            self.write_undecodable(&mut s, &e);
        }
        s
    }

    /// Appends the stand-in for a message that cannot be rendered because of `e` (what
    /// [`Record::message`] gives then): the format string followed by a bracketed explanation.
    pub fn write_undecodable(&self, out: &mut String, e: &ValueError) {
        out.push_str(self.callsite.format);
        out.push_str(" [undecodable arguments: ");
        out.push_str(&e.0);
        out.push(']');
    }

    /// Calls `f` with each structured field's name and value, in order, without allocating.
    pub fn visit_fields(&self, mut f: impl FnMut(&str, &Value<'_>)) -> Result<(), ValueError> {
        if self.callsite.field_names.is_empty() {
            return Ok(());
        }
        self.with_values(|_, fields| {
            for (name, v) in self.callsite.field_names.iter().zip(fields) {
                f(name, v);
            }
        })
    }

    /// The structured fields, by name.
    pub fn fields(&self) -> Result<Vec<(&str, Value<'_>)>, ValueError> {
        let (_, fields) = self.values()?;
        Ok(self
            .callsite
            .field_names
            .iter()
            .map(|n| &**n)
            .zip(fields)
            .collect())
    }
}

/// Deepest `Some(Some(..))` nesting accepted (bounds recursion on hostile input).
const MAX_DEPTH: usize = 16;

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ValueError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| {
            ValueError(format!("value runs past the record at byte {}", self.pos))
        })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], ValueError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Decodes the next value and writes it as a plain `{}` does, returning whether what it
    /// wrote is plain text whatever the value ([`Plain::writes_plain_text`]); `None` if it does
    /// not decode or `{}` does not apply to it. The usual fixed-size tags are read in place.
    #[inline]
    fn plain_arg(&mut self, out: &mut String) -> Option<bool> {
        fn fixed<const N: usize>(c: &mut Cursor<'_>) -> Option<[u8; N]> {
            let b = c.buf.get(c.pos + 1..c.pos + 1 + N)?;
            c.pos += 1 + N;
            b.try_into().ok()
        }
        let v = match self.buf.get(self.pos) {
            Some(&tag::I32) => fixed(self).map(|b| Value::I32(i32::from_le_bytes(b))),
            Some(&tag::I64) => fixed(self).map(|b| Value::I64(i64::from_le_bytes(b))),
            Some(&tag::U32) => fixed(self).map(|b| Value::U32(u32::from_le_bytes(b))),
            Some(&tag::U64) => fixed(self).map(|b| Value::U64(u64::from_le_bytes(b))),
            Some(&tag::F64) => fixed(self).map(|b| Value::F64(f64::from_le_bytes(b))),
            _ => self.value(0).ok(),
        };
        let v = v?;
        Plain::write_arg(out, &v).then(|| Plain::writes_plain_text(&v))
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, ValueError> {
        let t = self.arr::<1>()?[0];
        Ok(match t {
            tag::NONE => Value::None,
            tag::SOME if depth < MAX_DEPTH => Value::Some(Box::new(self.value(depth + 1)?)),
            tag::U8 => Value::U8(self.arr::<1>()?[0]),
            tag::U16 => Value::U16(u16::from_le_bytes(self.arr()?)),
            tag::U32 => Value::U32(u32::from_le_bytes(self.arr()?)),
            tag::U64 => Value::U64(u64::from_le_bytes(self.arr()?)),
            tag::U128 => Value::U128(u128::from_le_bytes(self.arr()?)),
            tag::I8 => Value::I8(i8::from_le_bytes(self.arr()?)),
            tag::I16 => Value::I16(i16::from_le_bytes(self.arr()?)),
            tag::I32 => Value::I32(i32::from_le_bytes(self.arr()?)),
            tag::I64 => Value::I64(i64::from_le_bytes(self.arr()?)),
            tag::I128 => Value::I128(i128::from_le_bytes(self.arr()?)),
            tag::F32 => Value::F32(f32::from_le_bytes(self.arr()?)),
            tag::F64 => Value::F64(f64::from_le_bytes(self.arr()?)),
            tag::BOOL => match self.arr::<1>()?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(ValueError(format!("invalid bool byte {b}"))),
            },
            tag::CHAR => {
                let v = u32::from_le_bytes(self.arr()?);
                Value::Char(
                    char::from_u32(v).ok_or_else(|| ValueError(format!("invalid char {v:#x}")))?,
                )
            }
            tag::STR | tag::PRE | tag::FORMATTED => {
                let n = u32::from_le_bytes(self.arr()?) as usize;
                let at = self.pos;
                let s = std::str::from_utf8(self.take(n)?).map_err(|e| {
                    ValueError(format!(
                        "invalid UTF-8 in a string at byte {}",
                        at + e.valid_up_to()
                    ))
                })?;
                match t {
                    tag::STR => Value::Str(s),
                    tag::PRE => Value::Pre(s),
                    _ => Value::Formatted(s),
                }
            }
            other => return Err(ValueError(format!("unknown value tag {other}"))),
        })
    }
}

/// Interns strings for the life of the process, so parsed format strings can be shared by
/// every record of a call site. Bounded by the distinct strings in the input.
fn intern(s: &str) -> &'static str {
    static SET: Interned<str> = Mutex::new(None);
    intern_in(&SET, s)
}

/// Lists the segment files a path stands for: the file itself, or a directory's `*.tlog` and
/// `*.tlog.lz4` files in (prefix, sequence) order. Where a segment exists both raw and
/// compressed (compression stopped between its rename and the removal of the raw file), only
/// the raw file is listed; `*.tmp` files (unfinished compressions) are ignored.
pub fn segment_files(path: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let meta = std::fs::metadata(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let rd = std::fs::read_dir(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut files: Vec<(String, u64, PathBuf)> = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let raw = name.strip_suffix(load::COMPRESSED_SUFFIX).unwrap_or(name);
        let Some(stem) = raw.strip_suffix(".tlog") else {
            continue;
        };
        let (prefix, seq) = match stem.rsplit_once('-') {
            Some((p, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                (p.to_owned(), d.parse().unwrap_or(u64::MAX))
            }
            _ => (stem.to_owned(), 0),
        };
        files.push((prefix, seq, e.path()));
    }
    // Sorting puts `x.tlog` right before `x.tlog.lz4`; keep the first of such a pair.
    files.sort();
    files.dedup_by(|later, earlier| {
        later.0 == earlier.0 && later.1 == earlier.1 && later.2.with_extension("") == earlier.2
    });
    Ok(files.into_iter().map(|(_, _, p)| p).collect())
}

/// Iterates over the records of segment files, in file order and, within a file, in the
/// order they were written (per thread, in logging order).
pub struct Reader {
    files: VecDeque<PathBuf>,
    /// Segments handed over as bytes ([`Reader::from_memory`]), read before `files`.
    memory: VecDeque<(PathBuf, Vec<u8>)>,
    current: Option<SegmentState>,
    queue: VecDeque<Result<Event, ReadError>>,
    thread_seq: HashMap<(u32, u32), u64>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

struct SegmentState {
    path: PathBuf,
    /// File bytes from offset `base` on (the whole file, except in follow mode, where the part
    /// already read is let go).
    data: SegmentBytes,
    /// File offset of `data[0]`; a multiple of the frame alignment.
    base: usize,
    /// Frames that verified.
    frames: u64,
    /// Follow mode: `data` ends at the committed length and more may come; reaching its end
    /// waits instead of finishing the segment.
    live: bool,
    /// Follow mode: the end of `data` was reached.
    starved: bool,
    seq: u64,
    pid: u32,
    off: usize,
    committed: usize,
    sealed: bool,
    anchor: (u64, u64, f64),
    callsites: HashMap<u32, &'static CallsiteInfo>,
    threads: HashMap<u32, Arc<ThreadInfo>>,
    done: bool,
    /// The records frame being read, if any.
    cursor: Option<Records>,
}

impl Reader {
    /// A reader over directories (their `*.tlog` files) and segment files. Fails only if a
    /// path does not exist or cannot be listed.
    pub fn open<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<Reader, ReadError> {
        let mut files = VecDeque::new();
        for p in paths {
            files.extend(segment_files(p.as_ref())?);
        }
        Ok(Reader {
            files,
            memory: VecDeque::new(),
            current: None,
            queue: VecDeque::new(),
            thread_seq: HashMap::new(),
        })
    }

    /// A reader over segments already in memory, each as `(name, bytes)`; the name only
    /// appears in messages. It reads them exactly as it would read files with those bytes.
    pub fn from_memory(segments: impl IntoIterator<Item = (PathBuf, Vec<u8>)>) -> Reader {
        Reader {
            files: VecDeque::new(),
            memory: segments.into_iter().collect(),
            current: None,
            queue: VecDeque::new(),
            thread_seq: HashMap::new(),
        }
    }

    /// The files still to be read.
    pub fn pending_files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(PathBuf::as_path)
    }

    fn open_next(&mut self) -> Option<()> {
        let (path, data) = match self.memory.pop_front() {
            Some((path, data)) => (path, Ok(data.into())),
            None => {
                let path = self.files.pop_front()?;
                let data = load::load_for_reading(&path);
                (path, data)
            }
        };
        match data {
            Err(e) => self.queue.push_back(Err(e)),
            // A segment the writer created but stopped before giving a header (killed between
            // creating the file and writing its first bytes).
            Ok(data) if data.iter().all(|&b| b == 0) => {
                self.queue.push_back(Ok(Event::SegmentEnd {
                    path,
                    tail: Tail::Empty,
                }))
            }
            Ok(data) => match SegmentState::new(path, Arc::new(data)) {
                Ok((st, warn)) => {
                    if let Some(w) = warn {
                        self.queue.push_back(Err(w));
                    }
                    self.current = Some(st);
                }
                Err(e) => self.queue.push_back(Err(e)),
            },
        }
        Some(())
    }
}

impl Iterator for Reader {
    type Item = Result<Event, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            match self.current.as_mut() {
                Some(st) => {
                    // Records come straight from the frame; anything else through the queue.
                    if let Some(item) = st.next_record(&mut self.thread_seq) {
                        return Some(item);
                    }
                    if st.done {
                        self.current = None;
                    } else {
                        st.advance(&mut self.queue, &mut self.thread_seq);
                    }
                }
                None => {
                    self.open_next()?;
                }
            }
        }
    }
}

impl SegmentState {
    fn new(
        path: PathBuf,
        data: SegmentBytes,
    ) -> Result<(SegmentState, Option<ReadError>), ReadError> {
        let parsed = match SegmentHeader::parse(&data) {
            Ok(p) => p,
            Err(FormatError::UnsupportedVersion(version)) => {
                return Err(ReadError::UnsupportedVersion { path, version });
            }
            Err(e) => {
                return Err(ReadError::NotASegment {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let h = parsed.header;
        let mut warn = None;
        if !parsed.intact {
            warn = Some(ReadError::Corrupt {
                path: path.clone(),
                offset: 0,
                reason: "segment header fails its checksum; timestamps may be wrong".into(),
            });
        }
        let committed = (h.committed as usize).clamp(HEADER_LEN, data.len());
        let st = SegmentState {
            path,
            seq: h.seq,
            pid: h.pid,
            off: HEADER_LEN,
            committed,
            sealed: h.is_sealed(),
            anchor: (h.anchor_ticks, h.anchor_unix_ns, h.ticks_per_sec),
            callsites: HashMap::new(),
            threads: HashMap::new(),
            done: false,
            cursor: None,
            data,
            base: 0,
            frames: 0,
            live: false,
            starved: false,
        };
        Ok((st, warn))
    }

    fn corrupt(&self, offset: usize, reason: impl Into<String>) -> ReadError {
        ReadError::Corrupt {
            path: self.path.clone(),
            offset: (self.base + offset) as u64,
            reason: reason.into(),
        }
    }

    /// Checks the frame at `off`: Ok((header, payload range)) or a reason.
    fn frame_at(&self, off: usize) -> Result<(FrameHeader, usize, usize), String> {
        let Ok((fh, _)) = FrameHeader::read_from_prefix(&self.data[off..]) else {
            return Err("frame header cut short".into());
        };
        let start = off + FRAME_HEADER_LEN;
        let end = start
            .checked_add(fh.len as usize)
            .filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(format!(
                "frame length {} runs past the end of the file",
                fh.len
            ));
        };
        let hb = &self.data[off..off + 8];
        if wire::frame_crc(hb, &self.data[start..end]) != fh.crc && !crc_checks_off() {
            return Err("frame checksum mismatch".into());
        }
        // A kind this reader does not know, in a frame that verifies, is skipped in `step`: a
        // newer writer may add kinds without making older readers call them damage.
        Ok((fh, start, end))
    }

    /// Finds the next offset after `from` where a frame verifies.
    fn resync(&self, from: usize) -> Option<usize> {
        let mut off = wire::align_up(from + 1);
        while off + FRAME_HEADER_LEN <= self.data.len() {
            if self.frame_at(off).is_ok() {
                return Some(off);
            }
            off += wire::FRAME_ALIGN;
        }
        None
    }

    fn finish(&mut self, tail: Tail, queue: &mut VecDeque<Result<Event, ReadError>>) {
        self.done = true;
        queue.push_back(Ok(Event::SegmentEnd {
            path: self.path.clone(),
            tail,
        }));
    }

    /// Reads one frame, pushing what it yields onto `queue`, its records included.
    fn step(
        &mut self,
        queue: &mut VecDeque<Result<Event, ReadError>>,
        seqs: &mut HashMap<(u32, u32), u64>,
    ) {
        self.advance(queue, seqs);
        while let Some(item) = self.next_record(seqs) {
            queue.push_back(item);
        }
    }

    /// Reads one frame, pushing what it yields onto `queue`, except the records of a records
    /// frame: [`SegmentState::next_record`] hands those out. Call it only when that returns
    /// `None`.
    fn advance(
        &mut self,
        queue: &mut VecDeque<Result<Event, ReadError>>,
        seqs: &mut HashMap<(u32, u32), u64>,
    ) {
        debug_assert!(self.cursor.is_none());
        let off = self.off;
        if self.live && off >= self.data.len() {
            self.starved = true;
            return;
        }
        if off + FRAME_HEADER_LEN > self.data.len() {
            let tail = if off >= self.data.len() || self.data[off..].iter().all(|&b| b == 0) {
                if self.sealed {
                    Tail::Sealed
                } else if off >= self.data.len() {
                    Tail::Clean
                } else {
                    Tail::ZeroFilled
                }
            } else {
                Tail::Torn
            };
            return self.finish(tail, queue);
        }
        let (fh, start, end) = match self.frame_at(off) {
            Ok(f) => f,
            Err(reason) => {
                let zeros = self.data[off..].iter().all(|&b| b == 0);
                if off >= self.committed && zeros {
                    return self.finish(Tail::ZeroFilled, queue);
                }
                if off >= self.committed {
                    // Past the published length: a frame the writer had not finished.
                    match self.resync(off) {
                        Some(next) => {
                            queue.push_back(Err(self.corrupt(off, reason)));
                            self.off = next;
                        }
                        None => self.finish(Tail::Torn, queue),
                    }
                    return;
                }
                queue.push_back(Err(self.corrupt(off, reason)));
                match self.resync(off) {
                    Some(next) => self.off = next,
                    None => self.finish(Tail::Torn, queue),
                }
                return;
            }
        };
        self.off = wire::align_up(end).min(self.data.len().max(end));
        self.frames += 1;
        let data = self.data.clone();
        let payload = &data[start..end];
        match Kind::from_u16(fh.kind) {
            Some(Kind::Callsite) => match parse_callsite(payload) {
                Ok((id, info)) => {
                    self.callsites.insert(id, intern_callsite(info));
                }
                Err(r) => queue.push_back(Err(self.corrupt(off, r))),
            },
            Some(Kind::Thread) => match parse_thread(payload) {
                Ok(t) => {
                    self.threads.insert(t.producer, Arc::new(t));
                }
                Err(r) => queue.push_back(Err(self.corrupt(off, r))),
            },
            Some(Kind::Anchor) => match AnchorBody::read_from_bytes(payload) {
                Ok(a) => self.anchor = (a.ticks, a.unix_ns, a.ticks_per_sec),
                Err(_) => queue.push_back(Err(self.corrupt(off, "anchor frame of the wrong size"))),
            },
            Some(Kind::Dropped) => match DroppedBody::read_from_bytes(payload) {
                Ok(d) => {
                    let thread = self.threads.get(&d.producer).cloned();
                    queue.push_back(Ok(Event::Dropped(DropNotice {
                        ts_unix_ns: self.ts(d.ticks),
                        thread,
                        count: d.count,
                        segment: self.seq,
                    })));
                }
                Err(_) => {
                    queue.push_back(Err(self.corrupt(off, "dropped frame of the wrong size")))
                }
            },
            Some(Kind::End) => {
                if EndBody::read_from_bytes(payload).is_err() {
                    queue.push_back(Err(self.corrupt(off, "end frame of the wrong size")));
                }
                self.finish(Tail::Sealed, queue);
            }
            Some(Kind::Records) => self.records(off, start..end, queue, seqs),
            Some(Kind::Sampled) => self.sampled(off, payload, queue),
            None => {}
        }
    }

    fn sampled(&self, off: usize, payload: &[u8], queue: &mut VecDeque<Result<Event, ReadError>>) {
        let Ok((head, rest)) = SampledHead::read_from_prefix(payload) else {
            queue.push_back(Err(self.corrupt(off, "sampled frame too short")));
            return;
        };
        if !rest.len().is_multiple_of(size_of::<SampledEntry>()) {
            queue.push_back(Err(self.corrupt(off, "sampled frame of the wrong size")));
            return;
        }
        // Copied out: the payload has no alignment guarantee in memory.
        let entries: Vec<SampledEntry> = rest
            .chunks_exact(size_of::<SampledEntry>())
            .filter_map(|c| SampledEntry::read_from_bytes(c).ok())
            .collect();
        if entries.len() != head.count as usize {
            queue.push_back(Err(self.corrupt(
                off,
                format!(
                    "sampled frame says {} entries, holds {}",
                    head.count,
                    entries.len()
                ),
            )));
        }
        for e in entries {
            match self.callsites.get(&e.callsite) {
                Some(cs) => queue.push_back(Ok(Event::Sampled(SampledNotice {
                    callsite: cs,
                    kept: e.kept,
                    skipped: e.skipped,
                    segment: self.seq,
                }))),
                None => queue.push_back(Err(self.corrupt(
                    off,
                    format!("sampled counts of undescribed call site {}", e.callsite),
                ))),
            }
        }
    }

    fn ts(&self, ticks: u64) -> i64 {
        crate::clock::to_unix_ns(ticks, self.anchor.0, self.anchor.1, self.anchor.2)
    }

    /// Starts handing out the records of the records frame at `off` (payload `range`): they
    /// come one at a time from [`SegmentState::next_record`], not all at once.
    fn records(
        &mut self,
        off: usize,
        range: std::ops::Range<usize>,
        queue: &mut VecDeque<Result<Event, ReadError>>,
        seqs: &HashMap<(u32, u32), u64>,
    ) {
        let Ok((head, _)) = RecordsHead::read_from_prefix(&self.data[range.clone()]) else {
            queue.push_back(Err(self.corrupt(off, "records frame too short")));
            return;
        };
        let thread = self
            .threads
            .get(&head.producer)
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(ThreadInfo {
                    producer: head.producer,
                    tid: 0,
                    name: None,
                })
            });
        self.cursor = Some(Records {
            off,
            pos: range.start + size_of::<RecordsHead>(),
            end: range.end,
            thread,
            seq: seqs.get(&(self.pid, head.producer)).copied().unwrap_or(0),
            n: 0,
            count: head.count,
            last_cs: None,
        });
    }

    /// The next record of the records frame being read (or what is wrong with it); `None`
    /// when there is none, after storing the thread's sequence number in `seqs`.
    #[inline]
    fn next_record(
        &mut self,
        seqs: &mut HashMap<(u32, u32), u64>,
    ) -> Option<Result<Event, ReadError>> {
        let c = self.cursor.as_mut()?;
        let rest = &self.data[c.pos..c.end];
        if rest.is_empty() {
            let (n, count, off) = (c.n, c.count, c.off);
            self.end_records(seqs);
            return (n != count).then(|| {
                Err(self.corrupt(
                    off,
                    format!("records frame says {count} records, holds {n}"),
                ))
            });
        }
        let at = c.pos;
        let Ok((rh, _)) = RecordHead::read_from_prefix(rest) else {
            self.end_records(seqs);
            return Some(Err(self.corrupt(at, "record header cut short")));
        };
        let len = rh.len as usize;
        if len < RECORD_HEAD_LEN || len > rest.len() {
            self.end_records(seqs);
            return Some(Err(
                self.corrupt(at, format!("record length {len} out of range"))
            ));
        }
        c.pos += len;
        // Runs of records from one call site are common: look it up once per run.
        let cs = match c.last_cs {
            Some((id, cs)) if id == rh.callsite => cs,
            _ => match self.callsites.get(&rh.callsite) {
                Some(&cs) => c.last_cs.insert((rh.callsite, cs)).1,
                None => {
                    return Some(Err(self.corrupt(
                        at,
                        format!("record of undescribed call site {}", rh.callsite),
                    )));
                }
            },
        };
        let record = Record {
            ts_unix_ns: crate::clock::to_unix_ns(
                rh.ticks,
                self.anchor.0,
                self.anchor.1,
                self.anchor.2,
            ),
            ticks: rh.ticks,
            level: cs.level,
            callsite: cs,
            thread: c.thread.clone(),
            thread_seq: c.seq,
            segment: self.seq,
            pid: self.pid,
            data: self.data.clone(),
            at: (at + RECORD_HEAD_LEN) as u32,
            len: (len - RECORD_HEAD_LEN) as u32,
        };
        c.seq += 1;
        c.n += 1;
        Some(Ok(Event::Record(record)))
    }

    /// Stops reading the current records frame, keeping its thread's sequence number.
    fn end_records(&mut self, seqs: &mut HashMap<(u32, u32), u64>) {
        if let Some(c) = self.cursor.take() {
            seqs.insert((self.pid, c.thread.producer), c.seq);
        }
    }
}

/// Where [`SegmentState`] is in the records frame it is reading.
struct Records {
    /// Offset of the frame (for messages).
    off: usize,
    /// Offset of the next record in the segment's bytes, and the end of the frame's payload.
    pos: usize,
    end: usize,
    thread: Arc<ThreadInfo>,
    /// Sequence number of the next record in its thread.
    seq: u64,
    /// Records read, and the count the frame's head gives.
    n: u32,
    count: u32,
    /// The call site of the previous record.
    last_cs: Option<(u32, &'static CallsiteInfo)>,
}

/// Fuzzing only (`cfg(fuzzing)`, set by `cargo fuzz`): lets a fuzz target switch frame
/// checksum checks off so that random input reaches the frame parsers. Absent otherwise.
#[cfg(fuzzing)]
#[doc(hidden)]
// sync-lint: allow (fuzzing switch, set once before decoding; not engine state)
pub static FUZZ_SKIP_FRAME_CRC: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false); // sync-lint: allow (as above)

#[inline(always)]
fn crc_checks_off() -> bool {
    #[cfg(fuzzing)]
    // sync-lint: allow (fuzzing switch)
    return FUZZ_SKIP_FRAME_CRC.load(std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(fuzzing))]
    false
}

/// Splits `u32`-length-prefixed strings off the front of `buf`.
fn take_str<'a>(buf: &mut &'a [u8]) -> Result<&'a str, String> {
    if buf.len() < 4 {
        return Err("string length cut short".into());
    }
    let n = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if n > buf.len() - 4 {
        return Err(format!("string length {n} runs past the frame"));
    }
    let s = std::str::from_utf8(&buf[4..4 + n]).map_err(|_| "string is not UTF-8".to_string())?;
    *buf = &buf[4 + n..];
    Ok(s)
}

fn parse_callsite(payload: &[u8]) -> Result<(u32, CallsiteInfo), String> {
    let (h, mut rest) = CallsiteHead::read_from_prefix(payload)
        .map_err(|_| "call-site frame too short".to_string())?;
    let level = Level::from_u8(h.level).ok_or_else(|| format!("invalid level {}", h.level))?;
    let target = take_str(&mut rest)?;
    let module_path = take_str(&mut rest)?;
    let file = take_str(&mut rest)?;
    let format = intern(take_str(&mut rest)?);
    // Each name takes at least 4 bytes, so the counts are bounded by the payload before any
    // allocation sized by them.
    if (h.n_args as usize + h.n_fields as usize) * 4 > rest.len() {
        return Err("call-site name counts exceed the frame".into());
    }
    let mut arg_names = Vec::with_capacity(h.n_args as usize);
    for _ in 0..h.n_args {
        arg_names.push(intern(take_str(&mut rest)?));
    }
    let mut field_names = Vec::with_capacity(h.n_fields as usize);
    for _ in 0..h.n_fields {
        field_names.push(Arc::from(take_str(&mut rest)?));
    }
    let pieces = tachylog_format::parse(format);
    Ok((
        h.id,
        CallsiteInfo {
            level,
            target: target.into(),
            module_path: module_path.into(),
            file: file.into(),
            line: h.line,
            format,
            plain: pieces.as_ref().ok().and_then(|p| Plain::new(p, &arg_names)),
            pieces,
            arg_names,
            field_names,
        },
    ))
}

fn parse_thread(payload: &[u8]) -> Result<ThreadInfo, String> {
    let (h, rest) =
        ThreadHead::read_from_prefix(payload).map_err(|_| "thread frame too short".to_string())?;
    let n = h.name_len as usize;
    if n > rest.len() {
        return Err("thread name runs past the frame".into());
    }
    let name = match h.has_name {
        0 => None,
        _ => Some(Arc::from(String::from_utf8_lossy(&rest[..n]).as_ref())),
    };
    Ok(ThreadInfo {
        producer: h.producer,
        tid: h.tid,
        name,
    })
}

/// The (year, month, day) of a day count since 1970-01-01, in the proleptic Gregorian calendar
/// (H. Hinnant's civil-from-days algorithm). Shared by [`rfc3339`] and the CLI's cached
/// formatter.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Formats Unix nanoseconds as RFC 3339 in UTC with nine fractional digits
/// (`2026-11-23T06:22:20.123456789Z`).
pub fn rfc3339(unix_ns: i64) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nanos = unix_ns.rem_euclid(1_000_000_000);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(
            rfc3339(1_795_418_540_123_456_789),
            "2026-11-23T07:22:20.123456789Z"
        );
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            rfc3339(4_102_444_800_000_000_000),
            "2100-01-01T00:00:00.000000000Z"
        );
    }

    /// A record of a call site with format `fmt`, arguments `names` and `fields` fields, whose
    /// values are `bytes`.
    fn record(fmt: &'static str, names: &[&'static str], fields: usize, bytes: &[u8]) -> Record {
        let payload = build_callsite(fmt, names, fields);
        let (_, cs) = parse_callsite(&payload).unwrap();
        Record {
            ts_unix_ns: 0,
            ticks: 0,
            level: cs.level,
            callsite: intern_callsite(cs),
            thread: Arc::new(ThreadInfo {
                producer: 1,
                tid: 1,
                name: None,
            }),
            thread_seq: 0,
            segment: 1,
            pid: 1,
            data: Arc::new(bytes.to_vec().into()),
            at: 0,
            len: bytes.len() as u32,
        }
    }

    fn build_callsite(fmt: &str, names: &[&str], fields: usize) -> Vec<u8> {
        let head = CallsiteHead {
            id: 1,
            line: 1,
            level: Level::Info as u8,
            _pad: [0; 3],
            n_args: names.len() as u16,
            n_fields: fields as u16,
        };
        let mut p = zerocopy::IntoBytes::as_bytes(&head).to_vec();
        let field_names: Vec<String> = (0..fields).map(|i| format!("f{i}")).collect();
        let strs = ["t", "m", "f.rs", fmt]
            .into_iter()
            .chain(names.iter().copied());
        for s in strs.chain(field_names.iter().map(String::as_str)) {
            p.extend_from_slice(&(s.len() as u32).to_le_bytes());
            p.extend_from_slice(s.as_bytes());
        }
        p
    }

    #[test]
    fn call_sites_and_format_strings_are_interned_by_what_the_segment_says() {
        let cs = |fmt: &str, names: &[&str], fields: usize| {
            intern_callsite(
                parse_callsite(&build_callsite(fmt, names, fields))
                    .unwrap()
                    .1,
            )
        };
        // Described again (as each segment does): the same description.
        assert!(std::ptr::eq(cs("x {}", &[""], 1), cs("x {}", &[""], 1)));
        // Anything said differently: another one.
        assert!(!std::ptr::eq(cs("x {}", &[""], 1), cs("x {}", &[""], 0)));
        assert!(!std::ptr::eq(cs("x {}", &[""], 1), cs("y {}", &[""], 1)));
        assert!(!std::ptr::eq(
            cs("x {a}", &["a"], 1),
            cs("x {b}", &["b"], 1)
        ));
        let mut p = build_callsite("x {}", &[""], 1);
        p[4] = 9; // the line
        let other_line = intern_callsite(parse_callsite(&p).unwrap().1);
        assert_eq!(other_line.line, 9);
        assert!(!std::ptr::eq(cs("x {}", &[""], 1), other_line));
        assert!(std::ptr::eq(
            intern("fmt {}"),
            intern(&String::from("fmt {}"))
        ));
    }

    #[test]
    fn plain_path_writes_what_the_general_path_writes_and_fails_where_it_fails() {
        let f64b = |x: f64| [&[tag::F64][..], &x.to_le_bytes()].concat();
        let i32b = |x: i32| [&[tag::I32][..], &x.to_le_bytes()].concat();
        let cases: Vec<(&'static str, Vec<&'static str>, usize, Vec<u8>)> = vec![
            ("a {} b {}", vec!["", ""], 0, [i32b(-5), f64b(0.5)].concat()),
            (
                "{}={x}",
                vec!["", "x"],
                1,
                [i32b(1), i32b(2), i32b(3)].concat(),
            ),
            // A value `{}` does not apply to (only forged input has one).
            (
                "a {} b {}",
                vec!["", ""],
                0,
                [i32b(1), vec![tag::SOME, tag::U8, 7]].concat(),
            ),
            // The same with a field: the message fails, the field is still there.
            (
                "a {} b {}",
                vec!["", ""],
                1,
                [i32b(1), vec![tag::SOME, tag::U8, 7], i32b(9)].concat(),
            ),
            // Stray bytes, a field that does not decode, a value cut short, a bad tag.
            ("a {}", vec![""], 0, [i32b(1), vec![0xff]].concat()),
            ("a {}", vec![""], 1, [i32b(1), vec![200]].concat()),
            ("a {} b", vec![""], 0, vec![tag::I32, 1, 2]),
            ("{}", vec![""], 0, vec![99]),
        ];
        let mut cases = cases;
        // Each tag read in place, whole and cut short.
        for (t, n) in [
            (tag::I32, 4),
            (tag::I64, 8),
            (tag::U32, 4),
            (tag::U64, 8),
            (tag::F64, 8),
        ] {
            let whole: Vec<u8> = std::iter::once(t)
                .chain((1..=n).map(|i: u8| i.wrapping_mul(37)))
                .collect();
            cases.push(("<{}>", vec![""], 0, whole.clone()));
            cases.push(("<{}>", vec![""], 0, whole[..n as usize].to_vec()));
        }
        // Not plain: `{}` after `{x}` takes argument 0 again (only `{}` advances).
        assert!(
            record("{x}={}", &["x", ""], 0, &[])
                .callsite
                .plain
                .is_none()
        );
        for (fmt, names, fields, bytes) in cases {
            let r = record(fmt, &names, fields, &bytes);
            assert!(r.callsite.plain.is_some(), "{fmt}");
            let mut general = record(fmt, &names, fields, &bytes);
            // The same call site without its plain form (not interned: it would be found
            // equal to the plain one).
            let (_, mut cs) = parse_callsite(&build_callsite(fmt, &names, fields)).unwrap();
            cs.plain = None;
            general.callsite = Box::leak(Box::new(cs));
            let (mut a, mut b) = ("prefix ".to_string(), "prefix ".to_string());
            let (ra, rb) = (r.write_message_ascii(&mut a), general.write_message(&mut b));
            assert_eq!(ra.is_ok(), rb.is_ok(), "{fmt} {bytes:?}");
            if let Ok(ascii) = ra {
                assert_eq!(a, b, "{fmt} {bytes:?}");
                assert!(!ascii || tachylog_format::is_plain_text(&a), "{fmt} {a:?}");
            }
            assert_eq!(r.message(), general.message());
            // Message and fields in one decoding, on either path: the same message, and the
            // fields `fields` gives (none where it fails).
            for rec in [&r, &general] {
                let (mut m, mut got) = ("prefix ".to_string(), Vec::new());
                let res = rec.write_message_and_fields(&mut m, |n, v| got.push((n, v)));
                assert_eq!(res.clone().map(drop), rb.clone(), "{fmt} {bytes:?}");
                if res.is_ok() {
                    assert_eq!(m, b);
                }
                match rec.fields() {
                    Ok(f) => assert_eq!(got, f, "{fmt} {bytes:?}"),
                    Err(_) => assert!(got.is_empty(), "{fmt} {bytes:?}"),
                }
            }
        }
        let ok = record("a {} b {}", &["", ""], 0, &[i32b(-5), f64b(0.5)].concat());
        assert_eq!(ok.message(), "a -5 b 0.5");
        let forged = [i32b(1), vec![tag::SOME, tag::U8, 7], i32b(9)].concat();
        let r = record("a {} b {}", &["", ""], 1, &forged);
        let mut got = Vec::new();
        assert!(
            r.write_message_and_fields(&mut String::new(), |n, v| got.push((n, v)))
                .is_err()
        );
        assert_eq!(got, [("f0", Value::I32(9))]);
        // Which messages are known to be plain text.
        let ascii = |fmt: &'static str, bytes: &[u8]| {
            let r = record(fmt, &[""], 0, bytes);
            let mut s = String::new();
            let known = r.write_message_ascii(&mut s).expect("renders");
            assert_eq!(s, r.message());
            known
        };
        let str_b = |x: &str| {
            let mut b = vec![tag::STR];
            b.extend_from_slice(&(x.len() as u32).to_le_bytes());
            b.extend_from_slice(x.as_bytes());
            b
        };
        assert!(ascii("n={}", &f64b(f64::NAN)));
        assert!(ascii("n={}", &i32b(i32::MIN)));
        // Text arguments are plain text when they are; literals that need escaping never.
        assert!(ascii("s={}", &str_b("plain")));
        assert!(!ascii("s={}", &str_b("say \"hi\"")));
        assert!(!ascii("s={}", &str_b("line\nbreak")));
        assert!(!ascii("s=\"{}\"", &i32b(1)));
        assert!(!ascii("tab\t{}", &i32b(1)));
        // Not a plain format string: rendered the general way, not known.
        assert!(!ascii("{:>5}", &i32b(1)));
    }

    #[test]
    fn cursor_rejects_truncation_bad_tags_and_deep_nesting() {
        let mut c = Cursor {
            buf: &[tag::U32, 1, 2],
            pos: 0,
        };
        assert!(c.value(0).is_err());
        let mut c = Cursor {
            buf: &[200],
            pos: 0,
        };
        assert!(c.value(0).is_err());
        let deep = vec![tag::SOME; 64];
        let mut c = Cursor { buf: &deep, pos: 0 };
        assert!(c.value(0).is_err());
        let mut c = Cursor {
            buf: &[tag::STR, 255, 255, 255, 255, b'a'],
            pos: 0,
        };
        assert!(c.value(0).is_err());
    }
}
