//! `tachylog stats`: counts by level, target, thread and call site, drops, time span and rate.
//! Nothing is formatted: a record's header and call site say everything counted here.
use crate::command::{Status, open_all, report, report_nothing, report_torn};
use crate::json;
use crate::ts::Rfc3339;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tachylog::Level;
use tachylog::reader::{Event, ReadError, Tail};

/// One call site's totals.
#[derive(Debug, Clone)]
pub struct Site {
    /// Source file.
    pub file: Arc<str>,
    /// Source line.
    pub line: u32,
    /// Format string.
    pub format: Arc<str>,
    /// Level.
    pub level: Level,
    /// Records.
    pub count: u64,
    /// Bytes of encoded records (16-byte header plus values).
    pub bytes: u64,
}

/// Totals over the input.
#[derive(Debug, Default)]
pub struct Stats {
    /// Segments read.
    pub segments: u64,
    /// Segments with a header (not the empty files a writer stopped before giving one).
    pub headed: u64,
    /// Records read.
    pub records: u64,
    /// Bytes of encoded records.
    pub record_bytes: u64,
    /// Records lost, as reported by drop notices (at most `u64::MAX`).
    pub dropped: u64,
    /// Earliest and latest record time, ns since the Unix epoch.
    pub span: Option<(i64, i64)>,
    /// Records per level (index: level value − 1, ERROR first).
    pub levels: [u64; 5],
    /// Records per target.
    pub targets: HashMap<Arc<str>, u64>,
    /// Records and drops per thread, by (writer pid, producer): (label, records, dropped).
    pub threads: HashMap<(u32, u32), (String, u64, u64)>,
    /// Per call site, by (file, line, format).
    pub sites: HashMap<(Arc<str>, u32, Arc<str>), Site>,
    /// Damaged regions skipped.
    pub damaged: u64,
}

fn label(name: Option<&str>, tid: u32) -> String {
    match name {
        Some(n) => format!("{n} (tid {tid})"),
        None => format!("tid {tid}"),
    }
}

impl Stats {
    /// Adds one event.
    pub fn add(&mut self, ev: &Event) {
        match ev {
            Event::Record(r) => {
                self.records += 1;
                let bytes = r.encoded_len() as u64;
                self.record_bytes += bytes;
                let ts = r.ts_unix_ns;
                self.span = Some(match self.span {
                    None => (ts, ts),
                    Some((a, b)) => (a.min(ts), b.max(ts)),
                });
                self.levels[(r.level as usize).clamp(1, 5) - 1] += 1;
                *self.targets.entry(r.callsite().target.clone()).or_insert(0) += 1;
                self.threads
                    .entry((r.pid, r.thread.producer))
                    .or_insert_with(|| (label(r.thread.name.as_deref(), r.thread.tid), 0, 0))
                    .1 += 1;
                let cs = r.callsite();
                let site = self
                    .sites
                    .entry((cs.file.clone(), cs.line, cs.format.clone()))
                    .or_insert_with(|| Site {
                        file: cs.file.clone(),
                        line: cs.line,
                        format: cs.format.clone(),
                        level: cs.level,
                        count: 0,
                        bytes: 0,
                    });
                site.count += 1;
                site.bytes += bytes;
            }
            Event::Dropped(d) => {
                // Saturating: a forged file can claim counts that add up past `u64::MAX`.
                self.dropped = self.dropped.saturating_add(d.count);
                if let Some(t) = &d.thread {
                    // Notices carry no pid; they are attributed by producer id and tid.
                    let key = self
                        .threads
                        .keys()
                        .find(|k| k.1 == t.producer)
                        .copied()
                        .unwrap_or((0, t.producer));
                    let entry = self
                        .threads
                        .entry(key)
                        .or_insert_with(|| (label(t.name.as_deref(), t.tid), 0, 0));
                    entry.2 = entry.2.saturating_add(d.count);
                }
            }
            Event::SegmentEnd { tail, .. } => {
                self.segments += 1;
                self.headed += (*tail != Tail::Empty) as u64;
            }
            _ => {}
        }
    }

    /// Adds what a reader yields; errors go to `report` and are counted.
    pub fn add_all(
        &mut self,
        input: impl Iterator<Item = Result<Event, ReadError>>,
        report: &mut impl FnMut(&ReadError),
    ) -> (bool, bool) {
        let (mut damaged, mut unusable) = (false, false);
        for item in input {
            match item {
                Ok(ev) => {
                    self.add(&ev);
                    // Counting decodes no values, but damage in them is still damage.
                    let bad = match &ev {
                        Event::Record(r) => r.check_values().err(),
                        Event::SegmentEnd {
                            path,
                            tail: Tail::Torn,
                        } => {
                            report_torn(path);
                            self.damaged += 1;
                            damaged = true;
                            None
                        }
                        _ => None,
                    };
                    if let Some(e) = bad {
                        self.damaged += 1;
                        damaged = true;
                        report(&e);
                    }
                }
                Err(e) => {
                    match e {
                        ReadError::Corrupt { .. } => {
                            self.damaged += 1;
                            damaged = true;
                        }
                        _ => unusable = true,
                    }
                    report(&e);
                }
            }
        }
        (damaged, unusable)
    }

    /// Records per second over the time span (0 with fewer than two distinct times).
    pub fn rate(&self) -> f64 {
        match self.span {
            // `abs_diff`: times from a forged anchor can be a whole `i64` apart.
            Some((a, b)) if b > a => self.records as f64 * 1e9 / b.abs_diff(a) as f64,
            _ => 0.0,
        }
    }

    fn top(&self, n: usize, by_bytes: bool) -> Vec<&Site> {
        let mut v: Vec<&Site> = self.sites.values().collect();
        v.sort_by(|a, b| {
            let (ka, kb) = if by_bytes {
                (a.bytes, b.bytes)
            } else {
                (a.count, b.count)
            };
            kb.cmp(&ka)
                .then_with(|| a.file.cmp(&b.file))
                .then(a.line.cmp(&b.line))
                .then(a.format.cmp(&b.format))
        });
        v.truncate(n);
        v
    }

    fn sorted<K: Ord + Clone, V: Clone>(
        map: impl Iterator<Item = (K, V)>,
        count: impl Fn(&V) -> u64,
    ) -> Vec<(K, V)> {
        let mut v: Vec<(K, V)> = map.collect();
        v.sort_by(|a, b| count(&b.1).cmp(&count(&a.1)).then(a.0.cmp(&b.0)));
        v
    }

    /// Writes the human-readable report.
    pub fn write_text(&self, out: &mut impl Write, top: usize) -> io::Result<()> {
        let mut ts = Rfc3339::default();
        writeln!(out, "segments      {}", self.segments)?;
        writeln!(out, "records       {}", self.records)?;
        writeln!(out, "record bytes  {}", self.record_bytes)?;
        writeln!(out, "dropped       {}", self.dropped)?;
        if let Some((a, b)) = self.span {
            let mut s = Vec::new();
            ts.write(&mut s, a);
            s.extend_from_slice(b" .. ");
            ts.write(&mut s, b);
            writeln!(
                out,
                "span          {} ({:.3} s)",
                String::from_utf8_lossy(&s),
                b.abs_diff(a) as f64 / 1e9
            )?;
            writeln!(out, "rate          {:.1} records/s", self.rate())?;
        }
        writeln!(out, "\nby level")?;
        for (i, n) in self.levels.iter().enumerate() {
            let l = Level::from_u8(i as u8 + 1).map_or("?", |l| l.as_str());
            writeln!(out, "  {l:<5} {n}")?;
        }
        writeln!(out, "\nby target")?;
        for (t, n) in Self::sorted(self.targets.iter().map(|(k, v)| (k.clone(), *v)), |v| *v) {
            writeln!(out, "  {n:>12}  {t}")?;
        }
        writeln!(out, "\nby thread (records, dropped)")?;
        for (_, (name, n, d)) in
            Self::sorted(self.threads.iter().map(|(k, v)| (*k, v.clone())), |v| v.1)
        {
            writeln!(out, "  {n:>12}  {d:>8}  {name}")?;
        }
        for (title, by_bytes) in [("count", false), ("bytes", true)] {
            writeln!(out, "\ntop call sites by {title} (records, bytes)")?;
            for s in self.top(top, by_bytes) {
                let mut f = Vec::new();
                json::string(&mut f, &s.format);
                writeln!(
                    out,
                    "  {:>12}  {:>12}  {:<5} {}:{} {}",
                    s.count,
                    s.bytes,
                    s.level.as_str(),
                    s.file,
                    s.line,
                    String::from_utf8_lossy(&f)
                )?;
            }
        }
        Ok(())
    }

    /// Writes the report as one JSON object (keys documented in docs/JSON.md).
    pub fn write_json(&self, out: &mut impl Write, top: usize) -> io::Result<()> {
        let mut o = Vec::new();
        let mut ts = Rfc3339::default();
        let _ = write!(
            o,
            "{{\"schema\":{},\"segments\":{},\"records\":{},\"record_bytes\":{},\"dropped\":{},\"damaged\":{}",
            crate::json::SCHEMA_VERSION,
            self.segments,
            self.records,
            self.record_bytes,
            self.dropped,
            self.damaged
        );
        match self.span {
            Some((a, b)) => {
                o.extend_from_slice(b",\"first\":\"");
                ts.write(&mut o, a);
                o.extend_from_slice(b"\",\"last\":\"");
                ts.write(&mut o, b);
                let _ = write!(
                    o,
                    "\",\"span_s\":{},\"rate\":{}",
                    b.abs_diff(a) as f64 / 1e9,
                    self.rate()
                );
            }
            None => o.extend_from_slice(b",\"first\":null,\"last\":null,\"span_s\":0,\"rate\":0"),
        }
        o.extend_from_slice(b",\"levels\":{");
        for (i, n) in self.levels.iter().enumerate() {
            let l = Level::from_u8(i as u8 + 1).map_or("?", |l| l.as_str());
            let _ = write!(o, "{}\"{l}\":{n}", if i > 0 { "," } else { "" });
        }
        o.extend_from_slice(b"},\"targets\":{");
        for (i, (t, n)) in Self::sorted(self.targets.iter().map(|(k, v)| (k.clone(), *v)), |v| *v)
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                o.push(b',');
            }
            json::string(&mut o, &t);
            let _ = write!(o, ":{n}");
        }
        o.extend_from_slice(b"},\"threads\":[");
        for (i, (_, (name, n, d))) in
            Self::sorted(self.threads.iter().map(|(k, v)| (*k, v.clone())), |v| v.1)
                .into_iter()
                .enumerate()
        {
            if i > 0 {
                o.push(b',');
            }
            o.extend_from_slice(b"{\"thread\":");
            json::string(&mut o, &name);
            let _ = write!(o, ",\"records\":{n},\"dropped\":{d}}}");
        }
        for (key, by_bytes) in [("top_by_count", false), ("top_by_bytes", true)] {
            let _ = write!(o, "],\"{key}\":[");
            for (i, s) in self.top(top, by_bytes).into_iter().enumerate() {
                if i > 0 {
                    o.push(b',');
                }
                o.extend_from_slice(b"{\"file\":");
                json::string(&mut o, &s.file);
                let _ = write!(
                    o,
                    ",\"line\":{},\"level\":\"{}\",\"format\":",
                    s.line,
                    s.level.as_str()
                );
                json::string(&mut o, &s.format);
                let _ = write!(o, ",\"records\":{},\"bytes\":{}}}", s.count, s.bytes);
            }
        }
        o.extend_from_slice(b"]}\n");
        out.write_all(&o)
    }
}

/// `tachylog stats`: the totals of `paths` on stdout, as a table or (`as_json`) one JSON object,
/// with the `top` call sites.
pub fn run(paths: &[PathBuf], as_json: bool, top: usize) -> io::Result<Status> {
    let mut status = Status::Clean;
    let readers = open_all(paths, &mut status);
    let mut st = Stats::default();
    let (damaged, unusable) = st.add_all(readers.into_iter().flatten(), &mut report);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if as_json {
        st.write_json(&mut out, top)?;
    } else {
        st.write_text(&mut out, top)?;
    }
    out.flush()?;
    if status == Status::Clean && !damaged && !unusable && st.headed == 0 {
        report_nothing(paths);
        return Ok(Status::Unusable);
    }
    Ok(status.max(Status::of(damaged, unusable)))
}
