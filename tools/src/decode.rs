//! `tachylog decode`, and the pipeline behind it: input events → filters (no formatting) →
//! time-order merge → message formatting and `--grep` → output lines.
use crate::command::{Status, open_all, report, report_nothing, report_torn, stop_on_ctrl_c};
use crate::filter::Filter;
use crate::message::Message;
use crate::output::Renderer;
use indicatif::ProgressBar;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tachylog::reader::follow::Follower;
use tachylog::reader::merge::Merge;
use tachylog::reader::{Event, ReadError, Reader, Tail};
use tachylog_fmt::Value;

/// What decoding found, for the exit status and for tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Records and notices written.
    pub written: u64,
    /// Messages formatted (records that passed the level, target, thread and time filters).
    pub formatted: u64,
    /// Records emitted out of time order (marked late).
    pub late: u64,
    /// Damaged data was found and skipped.
    pub damaged: bool,
    /// An input could not be used at all.
    pub unusable: bool,
    /// Segments with a header read to their end (empty ones, with no header, not counted).
    pub segments: u64,
}

type Input<'a> = Box<dyn Iterator<Item = Result<Event, ReadError>> + 'a>;

/// A record's fields, decoded along with its message (on the stack for up to eight).
type Fields<'a> = smallvec::SmallVec<[(&'a str, Value<'a>); 8]>;

/// Keeps what passes the record-level filters; everything else goes through.
struct Filtered<'a> {
    input: Input<'a>,
    filter: &'a Filter,
    /// The filter keeps every record and notice (none of its criteria is set).
    keeps_all: bool,
}

impl Iterator for Filtered<'_> {
    type Item = Result<Event, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.keeps_all {
            return self.input.next();
        }
        loop {
            let item = self.input.next()?;
            let keep = match &item {
                Ok(Event::Record(r)) => self.filter.keep_record(r),
                Ok(Event::Dropped(d)) => self.filter.keep_notice(d),
                _ => true,
            };
            if keep {
                return Some(item);
            }
        }
    }
}

/// A running decode: call [`Decoder::pump`] until the input is exhausted (once for files; again
/// and again in follow mode).
pub struct Decoder<'a> {
    merge: Merge<Filtered<'a>>,
    filter: &'a Filter,
    renderer: Renderer,
    msg: String,
    buf: Vec<u8>,
    /// What has happened so far.
    pub summary: Summary,
    progress: Option<ProgressBar>,
}

/// Bytes gathered before a write to the output.
const CHUNK: usize = 1 << 16;

impl<'a> Decoder<'a> {
    /// A decoder of `input`, holding at most `window` records for time ordering.
    pub fn new(input: Input<'a>, filter: &'a Filter, renderer: Renderer, window: usize) -> Self {
        Decoder {
            merge: Merge::new(
                Filtered {
                    input,
                    filter,
                    keeps_all: filter.keeps_all(),
                },
                window,
            ),
            filter,
            renderer,
            msg: String::with_capacity(256),
            buf: Vec::with_capacity(CHUNK + 4096),
            summary: Summary::default(),
            progress: None,
        }
    }

    /// Shows progress on `bar`, advanced by each finished segment's size.
    pub fn with_progress(mut self, bar: ProgressBar) -> Self {
        self.progress = Some(bar);
        self
    }

    /// Decodes everything the input has now, writing it to `out`; damage and unusable inputs
    /// are reported through `report`. Returns when the input returns `None`.
    pub fn pump(
        &mut self,
        out: &mut impl Write,
        report: &mut impl FnMut(&ReadError),
    ) -> io::Result<()> {
        for item in self.merge.by_ref() {
            match item {
                Ok(o) => match o.event {
                    Event::Record(r) => {
                        self.msg.clear();
                        // Made only for a record that has fields (most have none).
                        let mut fields: Option<Fields> = None;
                        let message = r.write_message_and_fields(&mut self.msg, |name, v| {
                            fields.get_or_insert_with(Fields::new).push((name, v))
                        });
                        let ascii = match message {
                            Ok(ascii) => ascii,
                            Err(e) => {
                                // Damage the frame checksum did not catch (or a writer's bug):
                                // written as what could be read, and reported.
                                self.summary.damaged = true;
                                out.write_all(&self.buf)?;
                                self.buf.clear();
                                out.flush()?;
                                report(&r.undecodable(&e));
                                self.msg.clear();
                                r.write_undecodable(&mut self.msg, &e);
                                false
                            }
                        };
                        self.summary.formatted += 1;
                        if !self.filter.keep_message(&self.msg) {
                            continue;
                        }
                        let msg = Message {
                            text: &self.msg,
                            ascii,
                            fields: fields.as_deref().unwrap_or_default(),
                        };
                        self.renderer.record(&mut self.buf, &r, &msg, o.late);
                        self.summary.written += 1;
                        self.summary.late += o.late as u64;
                    }
                    Event::Dropped(d) => {
                        self.renderer.dropped(&mut self.buf, &d, o.late);
                        self.summary.written += 1;
                        self.summary.late += o.late as u64;
                    }
                    Event::SegmentEnd { path, tail } => {
                        self.summary.segments += (tail != Tail::Empty) as u64;
                        if tail == Tail::Torn {
                            self.summary.damaged = true;
                            out.write_all(&self.buf)?;
                            self.buf.clear();
                            out.flush()?;
                            report_torn(&path);
                        }
                        if let Some(bar) = &self.progress {
                            bar.inc(std::fs::metadata(&path).map_or(0, |m| m.len()));
                        }
                    }
                    _ => {}
                },
                Err(e) => {
                    out.write_all(&self.buf)?;
                    self.buf.clear();
                    out.flush()?;
                    match e {
                        ReadError::Corrupt { .. } => self.summary.damaged = true,
                        _ => self.summary.unusable = true,
                    }
                    report(&e);
                }
            }
            if self.buf.len() >= CHUNK {
                out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        out.write_all(&self.buf)?;
        self.buf.clear();
        out.flush()
    }
}

/// What `tachylog decode` is asked to do.
#[derive(Debug)]
pub struct Options {
    /// Segment files or directories holding them.
    pub paths: Vec<PathBuf>,
    /// Which records to keep.
    pub filter: Filter,
    /// How to write them.
    pub renderer: Renderer,
    /// Records held for time ordering (the bound on the merge's memory).
    pub window: usize,
    /// Follow the one directory in `paths`, looking for new records this often, until Ctrl-C.
    pub follow: Option<Duration>,
}

/// Inputs at least this large get a progress bar (when stderr is a terminal and stdout is not).
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// `tachylog decode`: writes the records of `opts.paths` to stdout; damage and unusable inputs
/// are reported on stderr and in the status.
pub fn run(opts: Options) -> io::Result<Status> {
    match opts.follow {
        Some(interval) => follow(
            &opts.paths,
            &opts.filter,
            opts.renderer,
            opts.window,
            interval,
        ),
        None => decode(&opts.paths, &opts.filter, opts.renderer, opts.window),
    }
}

fn decode(
    paths: &[PathBuf],
    filter: &Filter,
    renderer: Renderer,
    window: usize,
) -> io::Result<Status> {
    let mut status = Status::Clean;
    let readers = open_all(paths, &mut status);
    let total: u64 = readers
        .iter()
        .flat_map(|r| r.pending_files())
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // One reader (one path, the usual case) is decoded without the `flatten` layer: every
    // record then passes through one iterator fewer on its way to the merge.
    let input: Box<dyn Iterator<Item = Result<Event, ReadError>>> =
        match <[Reader; 1]>::try_from(readers) {
            Ok([one]) => Box::new(one),
            Err(readers) => Box::new(readers.into_iter().flatten()),
        };
    let mut decoder = Decoder::new(input, filter, renderer, window);
    let bar =
        (total >= PROGRESS_MIN_BYTES && !io::stdout().is_terminal() && io::stderr().is_terminal())
            .then(|| {
                let bar = indicatif::ProgressBar::new(total);
                bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
                bar
            });
    if let Some(bar) = &bar {
        decoder = decoder.with_progress(bar.clone());
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = decoder.pump(&mut out, &mut report);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result?;
    let sum = decoder.summary;
    if status == Status::Clean && !sum.damaged && !sum.unusable && sum.segments == 0 {
        report_nothing(paths);
        return Ok(Status::Unusable);
    }
    Ok(status.max(Status::of(sum.damaged, sum.unusable)))
}

fn follow(
    paths: &[PathBuf],
    filter: &Filter,
    renderer: Renderer,
    window: usize,
    interval: Duration,
) -> io::Result<Status> {
    let [dir] = paths else {
        eprintln!("tachylog: --follow takes exactly one directory");
        return Ok(Status::Unusable);
    };
    let follower = match Follower::new(dir) {
        Ok(f) => f,
        Err(e) => {
            report(&e);
            return Ok(Status::Unusable);
        }
    };
    let stop = stop_on_ctrl_c();
    let mut decoder = Decoder::new(Box::new(follower), filter, renderer, window);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    while !stop.load(Ordering::Relaxed) {
        decoder.pump(&mut out, &mut report)?;
        std::thread::sleep(interval);
    }
    out.flush()?;
    Ok(Status::of(
        decoder.summary.damaged,
        decoder.summary.unusable,
    ))
}
