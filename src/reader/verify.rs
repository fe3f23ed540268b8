//! Checking segments frame by frame: what `tachylog verify` prints.
use super::{Context, Event, ReadError, SegmentState, Tail};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// What checking one segment found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SegmentReport {
    /// The file.
    pub path: PathBuf,
    /// Segment sequence number from its header.
    pub seq: u64,
    /// Bytes of segment data (after decompression).
    pub bytes: u64,
    /// Frames whose checksum and structure verified.
    pub frames: u64,
    /// Records decoded.
    pub records: u64,
    /// Records the writer reported lost (drop notices), at most `u64::MAX`.
    pub dropped: u64,
    /// How the segment ends.
    pub tail: Tail,
    /// Recovery sealed it: its writer died without sealing it (the header's recovered flag;
    /// docs/FORMAT.md).
    pub recovered: bool,
    /// Damaged byte ranges (`start..end` file offsets of decompressed data) with the reason.
    /// A range ends where reading resumed (the next frame that verifies, or the end of the data).
    pub damage: Vec<(u64, u64, String)>,
}

impl SegmentReport {
    /// True if nothing is damaged and the tail is not torn.
    pub fn is_clean(&self) -> bool {
        self.damage.is_empty() && self.tail != Tail::Torn
    }
}

/// Checks every frame of the segment at `path`. `Err` if it cannot be used at all (unreadable,
/// not a segment, unknown version, a compressed segment whose lz4 data does not yield even
/// the segment header). Damaged lz4 data after the header is a damaged range of its own: the
/// bytes lost, listed after any damage in the bytes before them.
pub fn verify_segment(path: &Path) -> Result<SegmentReport, ReadError> {
    let (data, lz4) = super::source::load_for_reading(path)?;
    let bytes = data.len() as u64;
    if data.iter().all(|&b| b == 0) {
        // Created, but the writer stopped before writing its header: nothing to check, as the
        // reader says (`Tail::Empty`).
        return Ok(SegmentReport {
            path: path.to_owned(),
            seq: 0,
            bytes,
            frames: 0,
            records: 0,
            dropped: 0,
            tail: Tail::Empty,
            recovered: false,
            damage: Vec::new(),
        });
    }
    let recovered = crate::wire::SegmentHeader::parse(&data).is_ok_and(|p| p.header.is_recovered());
    let (mut st, warn) = SegmentState::new(path.to_owned(), data)?;
    // Damaged lz4 data: the bytes lost are reported here, as a range, not by the walker.
    let lost: Vec<(ReadError, u64)> = lz4.map_or_else(Vec::new, |d| {
        st.cut = d.cut;
        d.ranges().collect()
    });
    let mut report = SegmentReport {
        path: path.to_owned(),
        seq: st.seq,
        bytes,
        frames: 0,
        records: 0,
        dropped: 0,
        tail: Tail::Clean,
        recovered,
        damage: Vec::new(),
    };
    if let Some(ReadError::Corrupt { reason, .. }) = warn {
        report
            .damage
            .push((0, crate::wire::HEADER_LEN as u64, reason));
    }
    let mut queue = VecDeque::new();
    let mut cx = Context::default();
    while !st.done {
        st.step(&mut queue, &mut cx);
        for item in queue.drain(..) {
            match item {
                Ok(Event::Record(r)) => {
                    report.records += 1;
                    if let Err(ReadError::Corrupt { offset, reason, .. }) = r.check_values() {
                        let end = offset + r.encoded_len() as u64;
                        report.damage.push((offset, end, reason));
                    }
                }
                // Saturating: a forged file can claim counts that add up past `u64::MAX`.
                Ok(Event::Dropped(d)) => report.dropped = report.dropped.saturating_add(d.count),
                Ok(Event::SegmentEnd { tail, .. }) => report.tail = tail,
                Ok(_) => {}
                Err(ReadError::Corrupt { offset, reason, .. }) => {
                    let end = if st.done {
                        bytes
                    } else {
                        (st.base + st.off) as u64
                    };
                    report.damage.push((offset, end.max(offset), reason));
                }
                Err(e) => return Err(e),
            }
        }
    }
    for (e, end) in lost {
        if let ReadError::Corrupt { offset, reason, .. } = e {
            report.damage.push((offset, end.max(offset), reason));
        }
    }
    report.frames = st.frames;
    Ok(report)
}
