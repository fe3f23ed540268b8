//! The text of the notices a segment holds besides records, as the shipping targets send them
//! (the decoder's own formats write the dropped-records text the same way).
use tachylog::reader::SampledNotice;

/// The message of a dropped-records notice: `3 records dropped`.
pub fn dropped_text(count: u64) -> String {
    format!("{count} records dropped")
}

/// The message of a sampling notice:
/// `sampling kept 5 and skipped 95 records at src/poll.rs:42 (app::poll)`.
pub fn sampled_text(s: &SampledNotice) -> String {
    format!(
        "sampling kept {} and skipped {} records at {}:{} ({})",
        s.kept, s.skipped, s.callsite.file, s.callsite.line, s.callsite.target
    )
}
