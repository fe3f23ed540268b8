//! Follow mode: records of a directory as the writer commits them, across rotation, like
//! `tail -F`.
//!
//! This is the reader's side of the live-reader protocol, `docs/FORMAT.md`, "Reading a live
//! segment", rules 5 to 10, which say why; in short:
//!
//! - **Order and listing**: one segment at a time, in the listing's order. The directory is
//!   listed when the follower starts and again at most once per poll (a poll ends each time
//!   the iterator returns `None`), only when the follower has nothing else to go on.
//! - **Being created**: a file without a complete header ([`SegmentHeader::is_complete`]) is
//!   read again at each poll until it has one. Once a later segment has a complete header and,
//!   at a later poll, the file still has none, it is passed over: reported as
//!   [`ReadError::NotASegment`], or read with a warning if only its checksum fails.
//! - **Live**: read with `pread`, never mapped, up to `committed` and never past the file's
//!   length, at most [`CHUNK`] bytes at a time (more only to complete one frame the file
//!   holds). Bytes already decoded are let go; records keep only the chunk they live in.
//! - **Complete**: END was read, or the sealed flag is set and all up to `committed` is read
//!   (`committed` read once more after the flag).
//! - **Abandoned**: unsealed, nothing new, and a later segment has a complete header: read to
//!   the file's length, as a finished file is (committed frames, then complete frames past
//!   `committed`).
//! - **Damage**: a `committed` past the file's length is waited for while the segment is live,
//!   and reported once it is sealed or abandoned.
use super::{Context, Event, ReadError, SegmentState, Tail, segment_files};
use crate::wire::{self, COMMITTED_OFFSET, FLAGS_OFFSET, FormatError, HEADER_LEN, SegmentHeader};
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The most bytes of a live segment read at once, unless one frame needs more (a frame is never
/// larger than the file that holds it).
pub const CHUNK: usize = 8 << 20;

/// Reads a directory's segments as they grow. As an iterator it yields what is there now and
/// returns `None` when it has caught up (the end of a poll); call it again later for more.
pub struct Follower {
    dir: PathBuf,
    /// Segments finished, by their raw name (so the compressed copy of one is not read again).
    finished: HashSet<PathBuf>,
    /// The segments of the last listing not read yet, in reading order: neither finished nor
    /// the current one.
    listing: VecDeque<PathBuf>,
    /// How many segments at the front of `listing` sort before the current one (they appeared
    /// after it was opened); the rest are newer.
    earlier: usize,
    /// Whether the directory was listed during this poll.
    listed: bool,
    /// Polls so far: the times the iterator returned `None`.
    polls: u64,
    /// The segment at the front of `listing` whose header is not complete, and the poll at
    /// which a later segment with a complete header was first seen.
    suspect: Option<(PathBuf, u64)>,
    current: Option<Live>,
    queue: VecDeque<Result<Event, ReadError>>,
    /// What is kept from one segment to the next.
    cx: Context,
    /// [`CHUNK`], smaller in tests.
    chunk: usize,
    /// Directory listings so far (the one at the start included).
    listings: u64,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

struct Live {
    /// The file, read with `pread`; `None` for a compressed segment, read whole.
    file: Option<File>,
    state: SegmentState,
    /// The sealed flag was seen: one more read of `committed` (which the writer stored before
    /// the flag), then the segment is complete.
    sealed: bool,
    /// The writer moved on without sealing it: read up to the file's length, not `committed`.
    abandoned: bool,
    /// The header's `committed` and the file's length, when the first is past the second.
    past_end: Option<(u64, u64)>,
    /// `past_end` was reported.
    past_end_reported: bool,
}

impl Live {
    /// Reports a `committed` past the end of the file, once.
    fn report_past_end(&mut self, queue: &mut VecDeque<Result<Event, ReadError>>) {
        if let Some((committed, len)) = self.past_end
            && !self.past_end_reported
        {
            self.past_end_reported = true;
            queue.push_back(Err(ReadError::Corrupt {
                path: self.state.path.clone(),
                offset: COMMITTED_OFFSET as u64,
                reason: format!(
                    "the header says {committed} bytes are committed; the file holds {len}"
                ),
            }));
        }
    }
}

/// What one read of a live segment found.
struct Fill {
    /// New bytes were read.
    new: bool,
    /// The sealed flag is set.
    sealed: bool,
}

/// What a file's first bytes say about it.
enum Head {
    /// A complete header of a version this reader reads.
    Valid,
    /// A complete header of a version it does not read.
    Unsupported,
    /// No complete header yet: the writer may be creating the file. Why, for the report.
    NotYet(String),
}

fn judge(head: &[u8]) -> Head {
    match SegmentHeader::parse(head) {
        Ok(p) if p.intact => Head::Valid,
        Err(FormatError::UnsupportedVersion(_)) if SegmentHeader::is_complete(head) => {
            Head::Unsupported
        }
        Ok(_) => Head::NotYet("its header fails its checksum".into()),
        Err(_) if head.iter().all(|&b| b == 0) => {
            Head::NotYet(format!("no header ({} bytes, all zero)", head.len()))
        }
        Err(e) => Head::NotYet(e.to_string()),
    }
}

fn raw_name(p: &Path) -> PathBuf {
    match p
        .to_str()
        .and_then(|s| s.strip_suffix(super::COMPRESSED_SUFFIX))
    {
        Some(s) => PathBuf::from(s),
        None => p.to_owned(),
    }
}

fn is_compressed(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "lz4")
}

/// Reads into `buf` from `at` until it is full or the file ends; returns the bytes read.
fn read_at_most(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], at + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The first [`HEADER_LEN`] bytes of `file` (fewer if it is shorter).
fn read_head(file: &File) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0u8; HEADER_LEN];
    let n = read_at_most(file, &mut head, 0)?;
    head.truncate(n);
    Ok(head)
}

/// Whether the segment at `path` has a complete header (a compressed one always has: it is
/// made from a sealed segment).
fn has_complete_header(path: &Path) -> bool {
    is_compressed(path)
        || super::source::open_regular(path)
            .ok()
            .and_then(|(f, _)| read_head(&f).ok())
            .is_some_and(|h| SegmentHeader::is_complete(&h))
}

impl Follower {
    /// Follows the segments in `dir`, starting with the oldest one there.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Follower, ReadError> {
        let dir = dir.into();
        let listing = segment_files(&dir)?;
        Ok(Follower {
            dir,
            finished: HashSet::new(),
            listing: listing.into(),
            earlier: 0,
            listed: true,
            polls: 0,
            suspect: None,
            current: None,
            queue: VecDeque::new(),
            cx: Context::default(),
            chunk: CHUNK,
            listings: 1,
        })
    }

    /// The segment being read: the one the event last returned came from (`None` between
    /// segments and before the first one).
    pub fn current_segment(&self) -> Option<&Path> {
        self.current.as_ref().map(|c| c.state.path.as_path())
    }

    /// Treats the segment at `path` (raw or its `.lz4` copy) as read already, so it is never
    /// opened: for resuming where an earlier reader stopped. Takes effect for segments not
    /// opened yet.
    pub fn skip_segment(&mut self, path: &Path) {
        self.finished.insert(raw_name(path));
    }

    /// Lists the directory again, unless it was listed during this poll already. Returns
    /// whether it did.
    fn refresh(&mut self) -> bool {
        if self.listed {
            return false;
        }
        self.listed = true;
        self.listings += 1;
        let files = match segment_files(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                self.queue.push_back(Err(e));
                return false;
            }
        };
        // Forget the finished segments that are gone (retention removed them): the set stays
        // as large as the directory however long the follower runs, and a file that takes a
        // forgotten name later (a writer that started over in an emptied directory) is read.
        let present: HashSet<PathBuf> = files.iter().map(|p| raw_name(p)).collect();
        self.finished.retain(|f| present.contains(f));
        let current = self.current.as_ref().map(|c| raw_name(&c.state.path));
        self.listing.clear();
        self.earlier = 0;
        let mut after = current.is_none();
        for p in files {
            let raw = raw_name(&p);
            if current.as_ref() == Some(&raw) {
                after = true;
            } else if !self.finished.contains(&raw) {
                self.earlier += usize::from(!after);
                self.listing.push_back(p);
            }
        }
        if !after {
            // The current segment is gone from the directory: every other one counts as newer.
            self.earlier = 0;
        }
        true
    }

    /// Whether a segment after `of` (the current segment, or the one at the front of
    /// `listing`) has a complete header: proof that the writer of `of` has moved on. Lists
    /// the directory again if the last listing holds none (at most once per poll).
    fn newer_complete(&mut self, of: &Path) -> bool {
        for first_try in [true, false] {
            let from = match &self.current {
                Some(_) => self.earlier,
                None => self
                    .listing
                    .iter()
                    .position(|p| p == of)
                    .map_or(0, |i| i + 1),
            };
            if self
                .listing
                .iter()
                .skip(from)
                .any(|p| has_complete_header(p))
            {
                return true;
            }
            if !first_try || !self.refresh() {
                break;
            }
        }
        false
    }

    /// Opens the segment at the front of `listing`, or waits for it to get a header. Returns
    /// false when there is nothing more to do for now.
    fn open_next(&mut self) -> bool {
        let Some(path) = self.listing.front().cloned() else {
            return self.refresh() && !self.listing.is_empty();
        };
        if self.finished.contains(&raw_name(&path)) {
            self.listing.pop_front();
            return true;
        }
        if is_compressed(&path) {
            self.listing.pop_front();
            match super::source::load_with_damage(&path) {
                Ok((data, damage)) => {
                    self.start(path, None, data);
                    // Damaged lz4 data: the blocks before the damage are read, then it is
                    // reported where the segment ends.
                    if let Some(live) = self.current.as_mut() {
                        live.state.damaged(damage);
                    }
                }
                Err(e) => self.give_up(path, e),
            }
            return true;
        }
        let opened = super::source::open_regular(&path).and_then(|(f, _)| {
            read_head(&f)
                .map(|h| (f, h))
                .map_err(|source| ReadError::Io {
                    path: path.clone(),
                    source,
                })
        });
        let (file, head) = match opened {
            Ok(o) => o,
            Err(ReadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                // Gone since the listing: compressed meanwhile (read that copy next), or
                // deleted (nothing to read).
                self.listing.pop_front();
                let mut copy = path.clone().into_os_string();
                copy.push(super::COMPRESSED_SUFFIX);
                let copy = PathBuf::from(copy);
                if copy.exists() {
                    self.listing.push_front(copy);
                }
                return true;
            }
            Err(e) => {
                self.listing.pop_front();
                self.give_up(path, e);
                return true;
            }
        };
        match judge(&head) {
            Head::Valid | Head::Unsupported => {
                self.listing.pop_front();
                self.suspect = None;
                self.start(path, Some(file), head);
                true
            }
            Head::NotYet(reason) => {
                if !self.newer_complete(&path) {
                    self.suspect = None;
                    return false;
                }
                if self.listing.front() != Some(&path) {
                    // The listing changed under it: start again from its front.
                    return true;
                }
                match &self.suspect {
                    // Seen without a header at an earlier poll than now, with a later segment
                    // complete then: its writer has moved on without writing it.
                    Some((p, at)) if *p == path && *at < self.polls => {}
                    Some((p, _)) if *p == path => return false,
                    _ => {
                        self.suspect = Some((path, self.polls));
                        return false;
                    }
                }
                self.suspect = None;
                self.listing.pop_front();
                match SegmentHeader::parse(&head) {
                    // A checksum that still fails: read as a finished file is, with a warning.
                    Ok(_) => self.start(path, Some(file), head),
                    Err(_) => self.give_up(
                        path.clone(),
                        ReadError::NotASegment {
                            path,
                            reason: format!(
                                "{reason}, and a later segment has a complete header: its \
                                 writer moved on without writing this one's"
                            ),
                        },
                    ),
                }
                true
            }
        }
    }

    /// Reports `e` and never reads `path` again.
    fn give_up(&mut self, path: PathBuf, e: ReadError) {
        self.queue.push_back(Err(e));
        self.finished.insert(raw_name(&path));
    }

    /// Starts reading the segment at `path`: live with `pread` from `file`, whose header is
    /// `data`; or, without a file, from `data`, the whole (decompressed) segment.
    fn start(&mut self, path: PathBuf, file: Option<File>, data: Vec<u8>) {
        let live = file.is_some();
        match SegmentState::new(path.clone(), data.into()) {
            Ok((mut state, warn)) => {
                if let Some(w) = warn {
                    self.queue.push_back(Err(w));
                }
                if live {
                    state.live = true;
                    // Frames start after the header: let the header bytes go.
                    state.base = HEADER_LEN;
                    state.set_bytes(Vec::new().into());
                    state.off = 0;
                    state.committed = 0;
                    state.avail = HEADER_LEN;
                    state.starved = true;
                }
                self.current = Some(Live {
                    file,
                    state,
                    sealed: false,
                    abandoned: false,
                    past_end: None,
                    past_end_reported: false,
                });
            }
            Err(e) => self.give_up(path, e),
        }
    }

    /// Reads bytes of the live segment that are there to read: committed ones (the file's
    /// length bounds them too), or once it is abandoned, all the file holds.
    fn refill(live: &mut Live, chunk: usize) -> Result<Fill, ReadError> {
        let Some(file) = &live.file else {
            return Ok(Fill {
                new: false,
                sealed: true,
            });
        };
        let st = &mut live.state;
        let io = |source| ReadError::Io {
            path: st.path.clone(),
            source,
        };
        let mut word = [0u8; 12];
        file.read_exact_at(&mut word, COMMITTED_OFFSET as u64)
            .map_err(io)?;
        const _: () = assert!(FLAGS_OFFSET == COMMITTED_OFFSET + 8);
        let committed = u64::from_le_bytes(word[..8].try_into().unwrap_or_default());
        let flags = u32::from_le_bytes(word[8..].try_into().unwrap_or_default());
        let sealed = flags & wire::FLAG_SEALED != 0;
        let file_len = file.metadata().map_err(io)?.len();
        live.past_end = (committed > file_len).then_some((committed, file_len));
        let limit = if live.abandoned && !sealed {
            file_len
        } else {
            committed.min(file_len)
        };
        let limit = limit.min(super::MAX_SEGMENT_BYTES) as usize;
        st.avail = limit;
        st.claimed = committed;
        // The first byte still needed (the walker may have stepped past the end of `data`,
        // over a frame's padding), and where reading goes on.
        let start = st.base + st.off;
        let from = start.max(st.base + st.data.len());
        if limit <= from {
            return Ok(Fill { new: false, sealed });
        }
        let upto = limit.min(from.saturating_add(chunk).max(st.need));
        // Keep the bytes not decoded yet: none, or the start of a frame cut short.
        let keep = &st.data[st.off.min(st.data.len())..];
        let mut buf = Vec::with_capacity(keep.len() + upto - from);
        buf.extend_from_slice(keep);
        buf.resize(keep.len() + upto - from, 0);
        let n = read_at_most(file, &mut buf[keep.len()..], from as u64).map_err(io)?;
        if n == 0 {
            return Ok(Fill { new: false, sealed });
        }
        buf.truncate(keep.len() + n);
        st.base = start;
        st.off = 0;
        st.committed = (committed.min(usize::MAX as u64) as usize)
            .saturating_sub(st.base)
            .min(buf.len());
        st.set_bytes(buf.into());
        st.starved = false;
        Ok(Fill { new: true, sealed })
    }

    /// Advances the live segment. Returns false when there is nothing more for now.
    fn advance(&mut self) -> bool {
        let Some(live) = self.current.as_mut() else {
            return self.open_next();
        };
        if live.state.done {
            let path = live.state.path.clone();
            self.finished.insert(raw_name(&path));
            self.current = None;
            self.cx.callsites.sweep();
            return true;
        }
        if !live.state.starved {
            live.state.step(&mut self.queue, &mut self.cx);
            return true;
        }
        let fill = match Self::refill(live, self.chunk) {
            Err(e) => {
                self.queue.push_back(Err(e));
                live.state.done = true;
                return true;
            }
            Ok(f) => f,
        };
        if fill.sealed {
            // A sealed segment is cut to `committed`: a claim past the file never comes true.
            live.report_past_end(&mut self.queue);
        }
        if fill.new {
            return true;
        }
        // Everything there is to read now is decoded. A segment the writer sealed ends with its
        // END frame, which `step` has seen; one it abandoned unsealed (a crash, or another
        // process) is over once a newer segment has a header, and the frames it left are read.
        if fill.sealed && !live.sealed {
            // `committed` was read with the flag, perhaps before the writer's last store to it:
            // read once more.
            live.sealed = true;
            return true;
        }
        if !fill.sealed && !live.abandoned {
            let path = live.state.path.clone();
            if !self.newer_complete(&path) {
                return false;
            }
            self.current.as_mut().expect("checked above").abandoned = true;
            return true;
        }
        let live = self.current.as_mut().expect("checked above");
        live.report_past_end(&mut self.queue);
        let tail = match (fill.sealed, live.state.data.len() > live.state.off) {
            (_, true) => Tail::Torn,
            // Sealed, everything read, and no END frame (`step` ends the segment at one): the
            // file was cut after it was sealed, unless that was already said (a `committed`
            // past the file, or damaged lz4 data).
            (true, false) if !live.past_end_reported && !live.state.cut => {
                let off = live.state.off;
                self.queue.push_back(Err(live.state.missing_end(off)));
                Tail::Clean
            }
            (true, false) => Tail::Sealed,
            (false, false) => Tail::Clean,
        };
        live.state.finish(tail, &mut self.queue);
        true
    }
}

impl Iterator for Follower {
    type Item = Result<Event, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if !self.advance() {
                // The end of a poll: the next one may list the directory again.
                self.polls += 1;
                self.listed = false;
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::walk::testing::{build_callsite, records, segment, unclosed};
    use super::*;
    use crate::wire::{Kind, tag};

    /// The frames of a segment of one call site `n {}` and one record per value of `values`.
    fn frames(values: &[u8]) -> [(Kind, Vec<u8>); 2] {
        let vals: Vec<[u8; 2]> = values.iter().map(|&v| [tag::U8, v]).collect();
        let refs: Vec<&[u8]> = vals.iter().map(|v| &v[..]).collect();
        [
            (Kind::Callsite, build_callsite("n {}", &[""], 0)),
            records(1, &refs),
        ]
    }

    /// A sealed segment of [`frames`], closed by its END frame.
    fn sealed(values: &[u8]) -> Vec<u8> {
        segment(&frames(values))
    }

    /// The segment of [`frames`] without its END frame, for [`unsealed`].
    fn open(values: &[u8]) -> Vec<u8> {
        unclosed(&frames(values))
    }

    /// `seg` (no END frame) as a live writer leaves it: not sealed, `committed` = `committed`
    /// (its length if `None`), and `zeros` bytes of reserved space.
    fn unsealed(mut seg: Vec<u8>, committed: Option<u64>, zeros: usize) -> Vec<u8> {
        let c = committed.unwrap_or(seg.len() as u64);
        seg[COMMITTED_OFFSET..COMMITTED_OFFSET + 8].copy_from_slice(&c.to_le_bytes());
        seg[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&0u32.to_le_bytes());
        seg.resize(seg.len() + zeros, 0);
        seg
    }

    /// One poll: what the follower yields until it has caught up, as text.
    fn poll(f: &mut Follower) -> Vec<String> {
        as_text(f.by_ref())
    }

    /// What a reader or a follower yields, as text: messages, segment ends, errors.
    fn as_text(items: impl Iterator<Item = Result<Event, ReadError>>) -> Vec<String> {
        items
            .map(|e| match e {
                Ok(Event::Record(r)) => r.message(),
                Ok(Event::SegmentEnd { path, tail }) => {
                    format!("end of {} {tail:?}", path.file_name().unwrap().display())
                }
                Ok(other) => format!("{other:?}"),
                Err(e) => e.to_string(),
            })
            .collect()
    }

    fn name(seq: u64) -> String {
        wire::file_name("a", seq)
    }

    #[test]
    fn a_file_without_a_header_yet_is_read_once_it_has_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name(1));
        // Created, then reserved: no header yet.
        std::fs::write(&p, b"").unwrap();
        let mut f = Follower::new(dir.path()).unwrap();
        assert!(poll(&mut f).is_empty());
        std::fs::write(&p, vec![0u8; 16 << 10]).unwrap();
        assert!(poll(&mut f).is_empty());
        assert!(poll(&mut f).is_empty());
        // Half a header.
        let seg = sealed(&[1, 2]);
        let file = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        file.write_all_at(&seg[..HEADER_LEN / 2], 0).unwrap();
        assert!(poll(&mut f).is_empty());
        // The rest, and frames: a sealed segment.
        file.write_all_at(&seg, 0).unwrap();
        file.set_len(seg.len() as u64).unwrap();
        assert_eq!(
            poll(&mut f),
            ["n 1", "n 2", &format!("end of {} Sealed", name(1))]
        );
    }

    #[test]
    fn a_file_that_never_gets_a_header_is_reported_a_poll_after_a_later_segment_has_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name(1)), vec![0u8; 4096]).unwrap();
        let mut f = Follower::new(dir.path()).unwrap();
        assert!(poll(&mut f).is_empty());
        // A later segment without a header proves nothing.
        std::fs::write(dir.path().join(name(2)), b"TACHY").unwrap();
        assert!(poll(&mut f).is_empty());
        assert!(poll(&mut f).is_empty());
        std::fs::write(dir.path().join(name(2)), sealed(&[7])).unwrap();
        // The poll that sees it still waits (the writer may be about to write the header) ...
        assert!(poll(&mut f).is_empty());
        // ... the next one gives up on the file, naming it, and goes on.
        let got = poll(&mut f);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got[0].contains(&name(1))
                && got[0].contains("not a tachylog segment (no header (128 bytes, all zero)"),
            "{got:?}"
        );
        assert_eq!(got[1..], ["n 7", &format!("end of {} Sealed", name(2))]);
    }

    #[test]
    fn an_unsealed_segment_ends_only_when_a_later_one_has_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let live = unsealed(open(&[1, 2]), None, 4096);
        std::fs::write(dir.path().join(name(1)), &live).unwrap();
        let mut f = Follower::new(dir.path()).unwrap();
        assert_eq!(poll(&mut f), ["n 1", "n 2"]);
        std::fs::write(dir.path().join(name(2)), vec![0u8; 4096]).unwrap();
        assert!(poll(&mut f).is_empty());
        assert_eq!(
            f.current_segment(),
            Some(dir.path().join(name(1)).as_path())
        );
        std::fs::write(dir.path().join(name(2)), sealed(&[3])).unwrap();
        assert_eq!(
            poll(&mut f),
            [
                &format!("end of {} ZeroFilled", name(1)),
                "n 3",
                &format!("end of {} Sealed", name(2))
            ]
        );
    }

    #[test]
    fn an_abandoned_segment_yields_the_frames_past_committed_a_plain_reader_yields() {
        let dir = tempfile::tempdir().unwrap();
        // Two records frames; `committed` covers only the first.
        let one = [tag::U8, 1];
        let two = [tag::U8, 2];
        let seg = unclosed(&[
            (Kind::Callsite, build_callsite("n {}", &[""], 0)),
            records(1, &[&one]),
            records(1, &[&two]),
        ]);
        // A records frame of one record: 16 + 8 + 16 + 2 bytes, padded to 48.
        let first_frames = seg.len() - 48;
        let seg = unsealed(seg, Some(first_frames as u64), 1024);
        std::fs::write(dir.path().join(name(1)), &seg).unwrap();
        let mut f = Follower::new(dir.path()).unwrap();
        assert_eq!(poll(&mut f), ["n 1"]);
        std::fs::write(dir.path().join(name(2)), sealed(&[3])).unwrap();
        let followed = poll(&mut f);
        let plain = as_text(super::super::Reader::open([dir.path()]).unwrap());
        assert_eq!(plain[0], "n 1");
        assert_eq!(followed, plain[1..]);
        assert_eq!(followed[0], "n 2");
    }

    #[test]
    fn a_sealed_segment_without_its_end_frame_is_reported_as_a_plain_reader_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name(1)), open(&[4])).unwrap();
        let mut f = Follower::new(dir.path()).unwrap();
        let got = poll(&mut f);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], "n 4");
        assert!(got[1].contains("without the END frame"), "{got:?}");
        assert_eq!(got[2], format!("end of {} Clean", name(1)));
        let plain: Vec<String> = super::super::Reader::open([dir.path()])
            .unwrap()
            .filter_map(|e| e.err().map(|e| e.to_string()))
            .collect();
        assert_eq!(plain, got[1..2]);
    }

    #[test]
    fn segments_removed_from_the_directory_are_forgotten_and_a_name_taken_again_is_read() {
        let dir = tempfile::tempdir().unwrap();
        for seq in 1..=50u64 {
            std::fs::write(dir.path().join(name(seq)), sealed(&[seq as u8])).unwrap();
        }
        let mut f = Follower::new(dir.path()).unwrap();
        assert_eq!(poll(&mut f).len(), 100);
        assert_eq!(f.finished.len(), 50);
        // Retention removes the oldest 45; the next idle poll lists the directory.
        for seq in 1..=45u64 {
            std::fs::remove_file(dir.path().join(name(seq))).unwrap();
        }
        assert!(poll(&mut f).is_empty());
        assert_eq!(f.finished.len(), 5);
        // Everything is removed and a writer starts over at sequence 1: its segment is read.
        for seq in 46..=50u64 {
            std::fs::remove_file(dir.path().join(name(seq))).unwrap();
        }
        assert!(poll(&mut f).is_empty());
        assert!(f.finished.is_empty());
        std::fs::write(dir.path().join(name(1)), sealed(&[99])).unwrap();
        assert_eq!(
            poll(&mut f),
            ["n 99", &format!("end of {} Sealed", name(1))]
        );
    }

    #[test]
    fn frames_cut_by_a_read_are_completed_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<u8> = (0..200).collect();
        let seg = sealed(&values);
        std::fs::write(dir.path().join(name(1)), &seg).unwrap();
        for chunk in [1, 7, 64, 1000] {
            let mut f = Follower::new(dir.path()).unwrap();
            f.chunk = chunk;
            let got = poll(&mut f);
            assert_eq!(got.len(), 201, "chunk {chunk}: {got:?}");
            assert_eq!(got[199], "n 199");
            assert_eq!(got[200], format!("end of {} Sealed", name(1)));
        }
    }

    #[test]
    fn a_committed_length_past_the_file_reads_what_the_file_holds_then_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let lie = unsealed(open(&[5]), Some(4_000_000_000), 0);
        std::fs::write(dir.path().join(name(1)), &lie).unwrap();
        let mut f = Follower::new(dir.path()).unwrap();
        assert_eq!(poll(&mut f), ["n 5"]);
        // Nothing allocated for the claim: what the walker holds is what the file holds.
        let held = f.current.as_ref().unwrap().state.data.len();
        assert!(held < lie.len(), "{held}");
        std::fs::write(dir.path().join(name(2)), sealed(&[6])).unwrap();
        assert_eq!(
            poll(&mut f),
            [
                format!(
                    "{}: corrupt data at byte offset 72: the header says 4000000000 bytes are \
                     committed; the file holds {}",
                    dir.path().join(name(1)).display(),
                    lie.len()
                ),
                format!("end of {} Clean", name(1)),
                "n 6".into(),
                format!("end of {} Sealed", name(2)),
            ]
        );
    }

    #[test]
    fn a_sealed_segment_whose_committed_length_is_past_the_file_is_read_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut lie = sealed(&[8]);
        lie[COMMITTED_OFFSET..COMMITTED_OFFSET + 8]
            .copy_from_slice(&4_000_000_000u64.to_le_bytes());
        std::fs::write(dir.path().join(name(1)), &lie).unwrap();
        let mut f = Follower::new(dir.path()).unwrap();
        let got = poll(&mut f);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got[0].ends_with(&format!("the file holds {}", lie.len())),
            "{got:?}"
        );
        assert_eq!(got[1..], ["n 8", &format!("end of {} Sealed", name(1))]);
    }

    #[test]
    fn catching_up_takes_one_listing_and_each_idle_poll_at_most_one() {
        let dir = tempfile::tempdir().unwrap();
        for seq in 1..=50 {
            std::fs::write(dir.path().join(name(seq)), sealed(&[seq as u8])).unwrap();
        }
        let mut f = Follower::new(dir.path()).unwrap();
        let got = poll(&mut f);
        assert_eq!(got.len(), 100);
        assert_eq!(got[98], "n 50");
        // The listing at the start, which counts for the first poll.
        assert_eq!(f.listings, 1);
        // Then one per poll that finds nothing.
        for _ in 0..5 {
            assert!(poll(&mut f).is_empty());
        }
        assert_eq!(f.listings, 6);
        // A live segment with nothing new: one listing per poll, to look for a newer segment.
        std::fs::write(dir.path().join(name(51)), unsealed(open(&[51]), None, 4096)).unwrap();
        assert_eq!(poll(&mut f), ["n 51"]);
        let before = f.listings;
        for _ in 0..5 {
            assert!(poll(&mut f).is_empty());
        }
        assert_eq!(f.listings, before + 5);
    }
}
