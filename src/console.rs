//! The development console (`Builder::console`, `TACHYLOG_CONSOLE`): a thread that follows
//! the engine's live segments with the library's reader and prints each record as a text line
//! (`crate::text`, the layout of `tachylog decode -f text`) once the drain has committed it.
//!
//! Nothing is added to the hot path or to the drain's loop: the console reads the files, as
//! `tachylog decode --follow` would from another process, polling every [`POLL`]. It stops
//! when the engine does, after the drain has sealed the last segment, so it prints
//! everything. Segments that retention deletes before the console opened them are counted,
//! and at the end the records they held (records written minus records read); at a crash the
//! console is best effort: what it has not printed when the process dies is only in the
//! segments.
use crate::reader::follow::Follower;
use crate::reader::{Event, ReadError, segment_files};
use crate::runtime::{Console, ConsoleStream, Shared};
use crate::sync::{Arc, AtomicBool, Ordering, idle, thread, unpark};
use crate::text::{Message, TextLine, use_color};
use crate::wire::SegmentName;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the console looks for newly committed records.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// The console thread of one engine.
pub(crate) struct ConsoleThread {
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

/// The segment files in `dir` now: what the console does not print (earlier runs' segments).
pub(crate) fn existing_segments(dir: &Path) -> Vec<PathBuf> {
    segment_files(dir).unwrap_or_default()
}

impl ConsoleThread {
    /// Starts a console printing the segments of `shared`'s engine, except those in `skip`.
    pub(crate) fn spawn(
        console: Console,
        shared: Arc<Shared>,
        skip: Vec<PathBuf>,
    ) -> std::io::Result<ConsoleThread> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = thread::Builder::new()
            .name("tachylog-console".into())
            .spawn(move || {
                let mut run = Run::new(console, &shared, skip);
                loop {
                    // Read before the pass: the pass after `stop` is seen reads what the drain
                    // sealed last.
                    let stopping = stop2.load(Ordering::Acquire);
                    run.pass();
                    if stopping {
                        break;
                    }
                    idle(u32::MAX, POLL);
                }
                run.finish(&shared);
            })?;
        Ok(ConsoleThread {
            stop,
            handle: Some(handle),
        })
    }

    /// Lets the console print what is left, flush its stream and end. Call it after the drain
    /// has sealed its last segment.
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            unpark(h.thread());
            let _ = h.join();
        }
    }

    /// In a child of `fork`: the thread is the parent's; nothing to stop.
    pub(crate) fn forget(&mut self) {
        std::mem::forget(self.handle.take());
    }
}

/// A console's state between passes.
struct Run {
    level: Level,
    stream: ConsoleStream,
    follower: Option<Follower>,
    dir: PathBuf,
    name: String,
    line: TextLine,
    out: Vec<u8>,
    msg: String,
    /// Records read (printed or below the console's level).
    seen: u64,
    /// The sequence number of the segment read last.
    last_seq: Option<u64>,
    /// Segments deleted before the console read them.
    segments_missed: u64,
}

use crate::Level;

impl Run {
    fn new(console: Console, shared: &Shared, skip: Vec<PathBuf>) -> Run {
        let stream = console.stream.unwrap_or(ConsoleStream::Stderr);
        let terminal = match stream {
            ConsoleStream::Stderr => std::io::stderr().is_terminal(),
            ConsoleStream::Stdout => std::io::stdout().is_terminal(),
        };
        let color = use_color(terminal, std::env::var_os("NO_COLOR").as_deref());
        let mut run = Run {
            level: console.level,
            stream,
            follower: None,
            dir: shared.cfg.dir.clone(),
            name: shared.cfg.name.clone(),
            line: TextLine::new(color),
            out: Vec::with_capacity(1 << 16),
            msg: String::new(),
            seen: 0,
            last_seq: None,
            segments_missed: 0,
        };
        match Follower::new(&run.dir) {
            Ok(mut f) => {
                for p in &skip {
                    f.skip_segment(p);
                }
                run.follower = Some(f);
            }
            Err(e) => run.note(&format!("cannot follow the segments: {e}")),
        }
        run.write();
        run
    }

    /// Prints everything committed since the last pass.
    fn pass(&mut self) {
        let Some(mut f) = self.follower.take() else {
            return;
        };
        // Segments of other writers sharing the directory are not ours to print.
        for p in segment_files(&self.dir).unwrap_or_default() {
            if self.seq_of(&p).is_none() {
                f.skip_segment(&p);
            }
        }
        while let Some(item) = f.next() {
            if let Some(seq) = f.current_segment().and_then(|p| self.seq_of(p)) {
                if let Some(last) = self.last_seq
                    && seq > last + 1
                {
                    let n = seq - last - 1;
                    self.segments_missed += n;
                    self.note(&format!(
                        "{n} segment(s) deleted by retention before the console read them"
                    ));
                }
                if self.last_seq.is_none_or(|l| seq > l) {
                    self.last_seq = Some(seq);
                }
            }
            match item {
                Ok(Event::Record(r)) => {
                    self.seen += 1;
                    if r.level as u8 > self.level as u8 {
                        continue;
                    }
                    self.msg.clear();
                    let mut fields = Vec::new();
                    let ascii = match r
                        .write_message_and_fields(&mut self.msg, |n, v| fields.push((n, v)))
                    {
                        Ok(a) => a,
                        Err(e) => {
                            self.msg.clear();
                            r.write_undecodable(&mut self.msg, &e);
                            false
                        }
                    };
                    let msg = Message {
                        text: &self.msg,
                        ascii,
                        fields: &fields,
                    };
                    self.line.record(&mut self.out, &r, &msg, false);
                }
                Ok(Event::Dropped(d)) => self.line.dropped(&mut self.out, &d, false),
                Ok(_) => {}
                Err(ReadError::Io { .. }) if !self.dir.exists() => {}
                Err(e) => self.note(&e.to_string()),
            }
            if self.out.len() >= 1 << 16 {
                self.write();
            }
        }
        self.follower = Some(f);
        self.write();
    }

    /// The sequence number of one of this engine's segment files.
    fn seq_of(&self, p: &Path) -> Option<u64> {
        let file = p.file_name()?.to_str()?;
        SegmentName::of(&self.name, file).map(|n| n.seq)
    }

    /// After the last pass: reports the records retention took before they were printed.
    fn finish(&mut self, shared: &Shared) {
        let written = shared.counters.records_written.load(Ordering::Relaxed);
        let missed = written.saturating_sub(self.seen);
        if missed > 0 && self.follower.is_some() && !shared.cfg.discard_records {
            self.note(&format!(
                "{missed} records were deleted by retention before the console printed them \
                 ({} segments)",
                self.segments_missed
            ));
        }
        self.write();
    }

    /// A line of the console's own.
    fn note(&mut self, text: &str) {
        self.out.extend_from_slice(b"tachylog console: ");
        crate::text::neutralise(&mut self.out, text);
        self.out.push(b'\n');
    }

    /// Writes what is buffered to the stream, and flushes it.
    fn write(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let _ = match self.stream {
            ConsoleStream::Stderr => {
                let mut s = std::io::stderr().lock();
                s.write_all(&self.out).and_then(|()| s.flush())
            }
            ConsoleStream::Stdout => {
                let mut s = std::io::stdout().lock();
                s.write_all(&self.out).and_then(|()| s.flush())
            }
        };
        self.out.clear();
    }
}
