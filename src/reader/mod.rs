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
//!
//! Memory: a reader keeps one description per distinct call site while a segment being read
//! or a record refers to it, and lets the others go as it leaves each segment; at most
//! [`MAX_CALLSITES`] of [`MAX_CALLSITE_BYTES`] in all.
//!
//! The parts, each in a file of its own: what goes wrong ([`ReadError`], `error.rs`), what is
//! read ([`Event`], [`Record`], `event.rs`), decoding values (`value.rs`) and rendering
//! messages (`render.rs`), which files a path stands for (`files.rs`), loading a segment
//! (`source.rs`), walking its frames (`walk.rs`), the call-site descriptions (`intern.rs`,
//! `parsed.rs`), and on top of them [`merge`], [`follow`] and [`verify`]. Only the file
//! format (`crate::wire`) and [`Level`](crate::Level) come from the rest of the crate.
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

mod error;
mod event;
mod files;
pub mod follow;
mod intern;
pub mod merge;
mod parsed;
mod render;
mod source;
mod value;
pub mod verify;
mod walk;

pub use error::{ReadError, Tail};
pub use event::{CallsiteInfo, DropNotice, Event, Record, SampledNotice, ThreadInfo};
pub use files::segment_files;
pub use intern::{MAX_CALLSITE_BYTES, MAX_CALLSITES};
pub use render::{MAX_MESSAGE_BYTES, TRUNCATED};
pub use source::{COMPRESSED_SUFFIX, MAX_SEGMENT_BYTES, load_segment};
pub use value::{FieldValue, ValueError};
use walk::{Context, SegmentState};

/// Iterates over the records of segment files, in file order and, within a file, in the
/// order they were written (per thread, in logging order).
pub struct Reader {
    files: VecDeque<PathBuf>,
    /// Segments handed over as bytes ([`Reader::from_memory`]), read before `files`.
    memory: VecDeque<(PathBuf, Vec<u8>)>,
    current: Option<SegmentState>,
    queue: VecDeque<Result<Event, ReadError>>,
    /// What is kept from one segment to the next.
    cx: Context,
    /// Fuzzing only: frame checksums are not checked.
    skip_crc: bool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
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
            cx: Context::default(),
            skip_crc: false,
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
            cx: Context::default(),
            skip_crc: false,
        }
    }

    /// For fuzzing only: this reader does not check frame checksums, so that random input
    /// reaches the frame and value parsers. Never use it on real data: damage then goes
    /// undetected, and garbage is decoded as if it were frames.
    #[doc(hidden)]
    pub fn skip_frame_checksums(mut self) -> Self {
        self.skip_crc = true;
        self
    }

    /// The files still to be read.
    pub fn pending_files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(PathBuf::as_path)
    }

    fn open_next(&mut self) -> Option<()> {
        let (path, data) = match self.memory.pop_front() {
            Some((path, data)) => (path, Ok((data.into(), None))),
            None => {
                let path = self.files.pop_front()?;
                let data = source::load_for_reading(&path);
                (path, data)
            }
        };
        match data {
            Err(e) => self.queue.push_back(Err(e)),
            // A segment the writer created but stopped before giving a header (killed between
            // creating the file and writing its first bytes). (Damaged lz4 data always yields
            // a header.)
            Ok((data, _)) if data.iter().all(|&b| b == 0) => {
                self.queue.push_back(Ok(Event::SegmentEnd {
                    path,
                    tail: Tail::Empty,
                }))
            }
            Ok((data, damage)) => match SegmentState::new(path, data) {
                Ok((mut st, warn)) => {
                    st.check_crc = !self.skip_crc;
                    st.damaged(damage);
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
                    if let Some(item) = st.next_record(&mut self.cx) {
                        return Some(item);
                    }
                    if st.done {
                        // Its call-site table goes with it: let go of the descriptions that
                        // nothing refers to now (those of earlier segments whose records are
                        // gone, and of this one if none of its records is still held).
                        self.current = None;
                        self.cx.callsites.sweep();
                    } else {
                        st.advance(&mut self.queue, &mut self.cx);
                    }
                }
                None => {
                    self.open_next()?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::walk::testing::{build_callsite, records, segment};
    use super::*;
    use crate::wire::{Kind, tag};

    /// Every record in `segments`, read by one reader.
    fn read(segments: &[&[u8]]) -> Vec<Record> {
        let input = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (PathBuf::from(format!("s{i}")), s.to_vec()));
        Reader::from_memory(input)
            .filter_map(|e| match e.expect("no damage") {
                Event::Record(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn records_keep_their_call_site_after_the_reader_is_gone() {
        let one = [tag::U8, 7];
        let seg = segment(&[
            (Kind::Callsite, build_callsite("x {}", &[""], 0)),
            records(1, &[&one, &one]),
        ]);
        let all = read(&[&seg, &seg]);
        assert_eq!(all.len(), 4);
        assert_eq!(all[3].message(), "x 7");
        // Described by both segments, the same description while records of both are held.
        assert!(std::ptr::eq(all[0].callsite(), all[3].callsite()));
        let kept = all[2].callsite_arc();
        assert!(std::ptr::eq(&*kept, all[0].callsite()));
        drop(all);
        // The last holder now.
        assert_eq!(std::sync::Arc::strong_count(&kept), 1);
        assert_eq!(&*kept.format, "x {}");
    }

    #[test]
    fn too_many_call_sites_stop_the_segment_with_an_error_and_the_next_one_is_read() {
        let callsite = |n: u32| {
            let mut p = build_callsite(&format!("call site {n} {{}}"), &[""], 0);
            p[..4].copy_from_slice(&n.to_le_bytes());
            (Kind::Callsite, p)
        };
        let one = [tag::U8, 7];
        let forged = segment(&[
            callsite(1),
            callsite(2),
            records(1, &[&one]),
            callsite(3),
            records(3, &[&one]),
        ]);
        let fine = segment(&[callsite(1), records(1, &[&one])]);
        let mut r = Reader::from_memory([
            (PathBuf::from("forged"), forged),
            (PathBuf::from("fine"), fine),
        ]);
        r.cx.callsites = intern::Interner::with_limits(2, usize::MAX);
        let got: Vec<String> = r
            .map(|e| match e {
                Ok(Event::Record(r)) => r.message(),
                Ok(Event::SegmentEnd { path, .. }) => format!("end of {}", path.display()),
                Ok(other) => format!("{other:?}"),
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(
            got,
            [
                "call site 1 7",
                "forged: call-site frame at byte offset 320: more call-site descriptions than a \
                 reader holds at once (at most 2 of 18446744073709551615 bytes in all); the rest \
                 of the segment is not read",
                "call site 1 7",
                "end of fine",
            ]
        );
    }

    #[test]
    fn frame_checksums_are_skipped_only_when_asked() {
        let one = [tag::U8, 7];
        let mut seg = segment(&[
            (Kind::Callsite, build_callsite("x {}", &[""], 0)),
            records(1, &[&one]),
        ]);
        // The records frame's checksum (the frame before the 32-byte END frame), wrong.
        let at = seg.len() - 32 - 48 + 8;
        seg[at] ^= 1;
        let outcomes = |r: Reader| {
            r.map(|e| match e {
                Ok(Event::Record(r)) => r.message(),
                Ok(_) => "other".to_string(),
                Err(e) => e.to_string(),
            })
            .collect::<Vec<_>>()
        };
        let input = || [(PathBuf::from("s"), seg.clone())];
        assert_eq!(
            outcomes(Reader::from_memory(input())),
            [
                "s: corrupt data at byte offset 192: frame checksum mismatch",
                "other"
            ]
        );
        assert_eq!(
            outcomes(Reader::from_memory(input()).skip_frame_checksums()),
            ["x 7", "other"]
        );
    }

    #[test]
    fn a_damaged_compressed_segment_yields_the_records_of_a_raw_one_cut_at_the_damage() {
        use source::tests::{blocks, lz4_with, new_settings};
        const BLOCK: usize = 64 << 10;
        let value = |i: u64| [&[tag::U64][..], &i.to_le_bytes()].concat();
        let values: Vec<Vec<u8>> = (0..20_000).map(value).collect();
        let mut frames = vec![(Kind::Callsite, build_callsite("n {}", &[""], 0))];
        for (i, chunk) in values.chunks(100).enumerate() {
            let chunk: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            frames.push(records(1, &chunk));
            if i == 9 {
                // A thread frame (of another producer) that ends where the first lz4 block
                // does: a segment cut there ends at a frame boundary.
                let len = segment(&frames).len();
                let mut thread = vec![0u8; BLOCK - len - crate::wire::FRAME_HEADER_LEN];
                thread[..4].copy_from_slice(&2u32.to_le_bytes());
                frames.push((Kind::Thread, thread));
            }
        }
        let mut seg = segment(&frames);
        // The header declares the segment's size, as a writer's does.
        let mut head = crate::wire::SegmentHeader::encode(&crate::wire::NewHeader {
            seq: 1,
            created_unix_ns: 0,
            anchor_ticks: 0,
            anchor_unix_ns: 0,
            ticks_per_sec: 1e9,
            segment_size: seg.len() as u64,
            pid: 1,
        });
        let kept = crate::wire::COMMITTED_OFFSET..crate::wire::FLAGS_OFFSET + 4;
        head[kept.clone()].copy_from_slice(&seg[kept]);
        seg[..crate::wire::HEADER_LEN].copy_from_slice(&head);
        let c = lz4_with(new_settings(), &seg);
        let (b, _) = blocks(&c);
        assert!(b.len() >= 6, "{} blocks", b.len());

        /// A reader's records (as messages), errors and segment tails.
        fn outcome(
            r: impl Iterator<Item = Result<Event, ReadError>>,
        ) -> (Vec<String>, Vec<ReadError>, Vec<Tail>) {
            let (mut msgs, mut errs, mut tails) = (Vec::new(), Vec::new(), Vec::new());
            for e in r {
                match e {
                    Ok(Event::Record(r)) => msgs.push(r.message()),
                    Ok(Event::SegmentEnd { tail, .. }) => tails.push(tail),
                    Ok(_) => {}
                    Err(e) => errs.push(e),
                }
            }
            (msgs, errs, tails)
        }
        let (all, errs, _) = outcome(Reader::from_memory([("raw".into(), seg.clone())]));
        assert!(errs.is_empty() && all.len() == values.len());

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t-0000000001.tlog.lz4");
        let flip = |at: usize| {
            let mut d = c.clone();
            d[at] ^= 0x20;
            d
        };
        // (what, the file, segment bytes kept, the tail)
        let cases = [
            // Cut at a frame boundary: a raw segment cut there reports its missing END frame;
            // here the lz4 frame's structure tells first.
            (
                "cut after block 1",
                c[..b[0].end].to_vec(),
                BLOCK,
                Tail::Torn,
            ),
            (
                "cut in block 2",
                c[..b[1].start + 7].to_vec(),
                BLOCK,
                Tail::Torn,
            ),
            (
                "cut after block 4",
                c[..b[3].end].to_vec(),
                4 * BLOCK,
                Tail::Torn,
            ),
            // Every block decoded: all the records, sealed; the damage is still reported.
            (
                "content checksum flipped",
                flip(c.len() - 2),
                seg.len(),
                Tail::Sealed,
            ),
        ];
        for (what, file, kept, tail) in cases {
            std::fs::write(&path, &file).expect("write");
            let (msgs, errs, tails) = outcome(Reader::open([&path]).expect("open"));
            // A raw segment cut where the damage is.
            let raw = Reader::from_memory([("raw".into(), seg[..kept].to_vec())]);
            let (want, _, _) = outcome(raw);
            assert!(!want.is_empty(), "{what}");
            assert_eq!(msgs, want, "{what}");
            assert_eq!(msgs[..], all[..want.len()], "{what}");
            assert_eq!(tails, [tail], "{what}");
            // The lz4 damage is the last thing reported, at the offset where the loss begins.
            match errs.last() {
                Some(ReadError::Corrupt {
                    path: p, offset, ..
                }) => {
                    assert_eq!(p, &path, "{what}");
                    assert_eq!(*offset, kept as u64, "{what}");
                }
                other => panic!("{what}: {other:?}"),
            }
            // Following the directory reads it the same way.
            let (fmsgs, ferrs, ftails) = outcome(follow::Follower::new(dir.path()).expect("dir"));
            assert_eq!(fmsgs, msgs, "{what}: follow");
            assert_eq!(ftails, tails, "{what}: follow");
            assert_eq!(
                ferrs.last().map(ToString::to_string),
                errs.last().map(ToString::to_string),
                "{what}: follow"
            );
        }

        // A damaged block in a file that goes on: the records of a raw segment whose bytes of
        // that block are lost (zeros), in the plain reader and in follow mode, and the end of
        // the segment is read.
        std::fs::write(&path, flip(b[2].start + 99)).expect("write");
        let mut holed = seg.clone();
        holed[2 * BLOCK..3 * BLOCK].fill(0);
        let (want, want_errs, want_tails) = outcome(Reader::from_memory([("raw".into(), holed)]));
        assert!(want.len() < all.len() && want.len() > all.len() / 2);
        assert_eq!(want_tails, [Tail::Sealed]);
        for (how, (msgs, errs, tails)) in [
            ("read", outcome(Reader::open([&path]).expect("open"))),
            (
                "follow",
                outcome(follow::Follower::new(dir.path()).expect("dir")),
            ),
        ] {
            assert_eq!(msgs, want, "{how}");
            assert!(msgs.last() == all.last(), "{how}: the last record is read");
            assert_eq!(tails, [Tail::Sealed], "{how}");
            // The walker's own report of the frame it lost, then the lz4 block's.
            assert_eq!(errs.len(), want_errs.len() + 1, "{how}: {errs:?}");
            match errs.last() {
                Some(ReadError::Corrupt { offset, reason, .. }) => {
                    assert_eq!(*offset, 2 * BLOCK as u64, "{how}");
                    assert!(reason.contains("lz4 block 3"), "{how}: {reason}");
                }
                other => panic!("{how}: {other:?}"),
            }
        }
    }
}
