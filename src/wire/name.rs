//! Segment file names, both ways: `<name>-<seq>.tlog` (raw), `<name>-<seq>.tlog.lz4`
//! (compressed), `<name>-<seq>.tlog.lz4.tmp` (a compression in progress) and
//! `<name>-<seq>.tlog.prep` (a segment prepared ahead of use). `<seq>` has at least ten decimal
//! digits (zero-padded, so names sort by sequence). No other module splits or builds a segment
//! file name.

/// What a compressed segment's file name adds after the raw name's `.tlog`.
pub const COMPRESSED_SUFFIX: &str = ".lz4";

/// Which of the four forms a segment file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    /// `.tlog`: written by the engine, live or sealed.
    Raw,
    /// `.tlog.lz4`: a sealed segment, compressed.
    Compressed,
    /// `.tlog.lz4.tmp`: a compression in progress; readers and retention ignore it.
    CompressTmp,
    /// `.tlog.prep`: a segment file created, reserved and mapped ahead of use, holding no
    /// frames; the engine renames it to a raw name when it starts writing it. Readers,
    /// retention and the compressor ignore it.
    Prepared,
}

impl Form {
    /// What a file name of this form ends with.
    pub const fn suffix(self) -> &'static str {
        match self {
            Form::Raw => ".tlog",
            Form::Compressed => ".tlog.lz4",
            Form::CompressTmp => ".tlog.lz4.tmp",
            Form::Prepared => ".tlog.prep",
        }
    }

    /// What follows the raw name's `.tlog` in this form (`""`, `".lz4"`, `".lz4.tmp"`,
    /// `".prep"`).
    pub const fn extra(self) -> &'static str {
        match self {
            Form::Raw => "",
            Form::Compressed => COMPRESSED_SUFFIX,
            Form::CompressTmp => ".lz4.tmp",
            Form::Prepared => ".prep",
        }
    }

    /// Splits `file` into its stem and form, if it ends like a segment file.
    pub fn split(file: &str) -> Option<(&str, Form)> {
        [
            Form::Raw,
            Form::Compressed,
            Form::CompressTmp,
            Form::Prepared,
        ]
        .into_iter()
        .find_map(|f| file.strip_suffix(f.suffix()).map(|stem| (stem, f)))
    }
}

/// A segment file name, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentName<'a> {
    /// The writer's name (`Builder::name`).
    pub prefix: &'a str,
    /// The segment sequence number.
    pub seq: u64,
    /// Raw, compressed, a compression in progress, or prepared ahead of use.
    pub form: Form,
}

impl<'a> SegmentName<'a> {
    /// Parses `<prefix>-<digits><suffix>`; `None` for any other name (or digits beyond `u64`).
    pub fn parse(file: &'a str) -> Option<SegmentName<'a>> {
        let (stem, form) = Form::split(file)?;
        let (prefix, digits) = stem.rsplit_once('-')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(SegmentName {
            prefix,
            seq: digits.parse().ok()?,
            form,
        })
    }

    /// Parses `file` as a segment of the writer named `prefix`.
    pub fn of(prefix: &str, file: &'a str) -> Option<SegmentName<'a>> {
        SegmentName::parse(file).filter(|n| n.prefix == prefix)
    }

    /// The file name.
    pub fn file_name(&self) -> String {
        format!("{}-{:010}{}", self.prefix, self.seq, self.form.suffix())
    }
}

/// Where a file belongs in reading order: by writer name, then sequence. Any `*.tlog` or
/// `*.tlog.lz4` name has a place (one that is not `<name>-<digits>` sorts as sequence 0 of its
/// whole stem; digits beyond `u64` sort last), so readers can list files that were renamed
/// by hand.
pub fn order_key(file: &str) -> (&str, u64) {
    let stem = file
        .strip_suffix(COMPRESSED_SUFFIX)
        .unwrap_or(file)
        .strip_suffix(Form::Raw.suffix())
        .unwrap_or(file);
    match stem.rsplit_once('-') {
        Some((p, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
            (p, d.parse().unwrap_or(u64::MAX))
        }
        _ => (stem, 0),
    }
}

/// The file name of raw segment `seq` of the writer named `name`: `<name>-<seq>.tlog`, the
/// sequence zero-padded to ten digits (`tachylog::segment_file_name` at the crate root).
///
/// ```
/// assert_eq!(tachylog::segment_file_name("app", 7), "app-0000000007.tlog");
/// ```
pub fn file_name(name: &str, seq: u64) -> String {
    SegmentName {
        prefix: name,
        seq,
        form: Form::Raw,
    }
    .file_name()
}

/// The sequence number in a raw segment file name of the writer named `name`, as
/// [`segment_file_name`](crate::segment_file_name) makes it (`tachylog::segment_seq` at the
/// crate root); `None` for any other file, a compressed one included.
///
/// ```
/// assert_eq!(tachylog::segment_seq("app", "app-0000000007.tlog"), Some(7));
/// assert_eq!(tachylog::segment_seq("app", "other-0000000007.tlog"), None);
/// ```
pub fn parse_seq(name: &str, file: &str) -> Option<u64> {
    SegmentName::of(name, file)
        .filter(|n| n.form == Form::Raw)
        .map(|n| n.seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_every_form_and_sort_by_sequence() {
        for form in [
            Form::Raw,
            Form::Compressed,
            Form::CompressTmp,
            Form::Prepared,
        ] {
            for seq in [1, 9, 10, 12345, 9_999_999_999, u64::MAX] {
                let n = SegmentName {
                    prefix: "app-v2",
                    seq,
                    form,
                };
                let s = n.file_name();
                assert_eq!(SegmentName::parse(&s), Some(n), "{s}");
                assert_eq!(SegmentName::of("app-v2", &s), Some(n));
                assert_eq!(SegmentName::of("app", &s), None);
            }
        }
        assert_eq!(parse_seq("app", &file_name("app", 7)), Some(7));
        assert!(file_name("a", 9) < file_name("a", 10));
    }

    #[test]
    fn other_names_are_refused() {
        for bad in [
            "app-.tlog",
            "app-12x.tlog",
            "app.tlog",
            "app-1.tlo",
            "app-1.tlog.gz",
            "app-99999999999999999999.tlog",
        ] {
            assert_eq!(SegmentName::parse(bad), None, "{bad}");
        }
        assert_eq!(parse_seq("app", "other-0000000001.tlog"), None);
        assert_eq!(parse_seq("app", "app-0000000001.tlog.lz4"), None);
        assert_eq!(parse_seq("app", "app-0000000001.tlog.prep"), None);
    }

    #[test]
    fn order_keys_sort_by_name_then_sequence_for_any_segment_name() {
        assert_eq!(order_key("a-b-0000000012.tlog"), ("a-b", 12));
        assert_eq!(order_key("a-b-0000000012.tlog.lz4"), ("a-b", 12));
        assert_eq!(order_key("renamed.tlog"), ("renamed", 0));
        assert_eq!(order_key("x-99999999999999999999.tlog"), ("x", u64::MAX));
    }
}
