//! What the decoder hands to the writer of each output format: a record's formatted message and
//! its decoded fields. It has a module of its own so that `output` and `json` both take it
//! while `output` alone uses `json`.
use tachylog_fmt::Value;

/// A record's formatted message and its decoded fields, as the decoder hands them to a
/// `Renderer`
/// ([`Record::write_message_and_fields`](tachylog::reader::Record::write_message_and_fields)
/// gives both from one decoding).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The message.
    pub text: &'a str,
    /// `text` is [plain text](tachylog_fmt::is_plain_text): copied without looking for
    /// characters to escape.
    pub ascii: bool,
    /// The structured fields, by name, in order.
    pub fields: &'a [(&'a str, Value<'a>)],
}
