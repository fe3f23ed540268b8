//! What the decoder hands to the writer of each output format: a record's formatted message and
//! its decoded fields, the library's [`tachylog::text::Message`] (the console's text lines
//! take the same).
pub use tachylog::text::Message;
