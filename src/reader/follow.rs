//! Follow mode: records of a directory as the writer commits them, across rotation, like
//! `tail -F`.
//!
//! A live segment is read with `pread`, never mapped (another process may truncate it when it
//! seals), and only up to the `committed` length in its header: everything below it is complete
//! frames. Bytes already decoded are let go; records keep only the chunk they live in.
use super::{Context, Event, ReadError, SegmentState, Tail, segment_files};
use crate::wire::{self, COMMITTED_OFFSET, FLAGS_OFFSET, HEADER_LEN};
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Reads a directory's segments as they grow. As an iterator it yields what is there now and
/// returns `None` when it has caught up; call it again later for more.
pub struct Follower {
    dir: PathBuf,
    /// Segments finished, by their raw name (so the compressed copy of one is not read again).
    finished: HashSet<PathBuf>,
    current: Option<Live>,
    queue: VecDeque<Result<Event, ReadError>>,
    /// What is kept from one segment to the next.
    cx: Context,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

struct Live {
    file: Option<File>,
    state: SegmentState,
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

impl Follower {
    /// Follows the segments in `dir`, starting with the oldest one there.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Follower, ReadError> {
        let dir = dir.into();
        segment_files(&dir)?;
        Ok(Follower {
            dir,
            finished: HashSet::new(),
            current: None,
            queue: VecDeque::new(),
            cx: Context::default(),
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

    /// Opens the oldest segment not finished yet. False if there is none.
    fn open_next(&mut self) -> bool {
        let files = match segment_files(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                self.queue.push_back(Err(e));
                return false;
            }
        };
        let Some(path) = files
            .into_iter()
            .find(|p| !self.finished.contains(&raw_name(p)))
        else {
            return false;
        };
        let mut damage = None;
        let opened = if path.extension().is_some_and(|e| e == "lz4") {
            super::source::load_with_damage(&path).map(|(d, lz4)| {
                damage = lz4;
                (None, d)
            })
        } else {
            // Only a regular file: a FIFO or a device named like a segment is refused.
            super::source::open_regular(&path).map(|(f, _)| {
                let mut head = vec![0u8; HEADER_LEN];
                // Not even a header yet: treated as empty, and looked at again later.
                if f.read_exact_at(&mut head, 0).is_err() {
                    head.clear();
                }
                (Some(f), head)
            })
        };
        match opened {
            Ok((_, d)) if d.len() < HEADER_LEN => false,
            Ok((file, data)) => {
                let live = file.is_some();
                match SegmentState::new(path.clone(), data.into()) {
                    Ok((mut state, warn)) => {
                        state.damaged(damage);
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
                        }
                        self.current = Some(Live { file, state });
                        true
                    }
                    Err(e) => {
                        self.queue.push_back(Err(e));
                        self.finished.insert(raw_name(&path));
                        true
                    }
                }
            }
            Err(e) => {
                self.queue.push_back(Err(e));
                self.finished.insert(raw_name(&path));
                true
            }
        }
    }

    /// Reads newly committed bytes of the live segment. Returns whether there were any, and
    /// whether the writer has sealed it.
    fn refill(live: &mut Live) -> Result<(bool, bool), ReadError> {
        let Some(file) = &live.file else {
            return Ok((false, true));
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
        let committed = u64::from_le_bytes(word[..8].try_into().unwrap_or_default()) as usize;
        let flags = u32::from_le_bytes(word[8..].try_into().unwrap_or_default());
        let sealed = flags & wire::FLAG_SEALED != 0;
        let have = st.base + st.data.len();
        if committed <= have || committed as u64 > super::MAX_SEGMENT_BYTES {
            return Ok((false, sealed));
        }
        // Keep the bytes not decoded yet (normally none: data ends on a frame boundary).
        let keep = &st.data[st.off.min(st.data.len())..];
        let mut buf = Vec::with_capacity(keep.len() + committed - have);
        buf.extend_from_slice(keep);
        buf.resize(keep.len() + committed - have, 0);
        file.read_exact_at(&mut buf[keep.len()..], have as u64)
            .map_err(io)?;
        st.base += st.off.min(st.data.len());
        st.off = 0;
        st.committed = buf.len();
        st.set_bytes(buf.into());
        st.starved = false;
        Ok((true, sealed))
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
        match Self::refill(live) {
            Err(e) => {
                self.queue.push_back(Err(e));
                live.state.done = true;
                true
            }
            Ok((true, _)) => true,
            Ok((false, sealed)) => {
                // Everything committed is decoded. A segment the writer sealed ends with its END
                // frame, which `step` has seen; one it abandoned unsealed (a crash, or another
                // process) is over once a newer segment appears.
                if sealed || self.newer_exists() {
                    let live = self.current.as_mut().expect("checked above");
                    // Check once more for bytes committed just before the newer file appeared.
                    if let Ok((true, _)) = Self::refill(live) {
                        return true;
                    }
                    if !live.state.done {
                        live.state.finish(
                            if sealed { Tail::Sealed } else { Tail::Clean },
                            &mut self.queue,
                        );
                    }
                    return true;
                }
                false
            }
        }
    }

    fn newer_exists(&self) -> bool {
        let Some(cur) = self.current.as_ref() else {
            return false;
        };
        let cur = raw_name(&cur.state.path);
        segment_files(&self.dir).is_ok_and(|files| {
            files
                .iter()
                .map(|p| raw_name(p))
                .any(|p| p != cur && !self.finished.contains(&p) && p > cur)
        })
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
                return None;
            }
        }
    }
}
