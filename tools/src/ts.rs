//! RFC 3339 timestamps: the library's writer (`tachylog::text`), which the text line shares.
pub use tachylog::text::{Rfc3339, civil_from_days, rfc3339};
