/// The importance of a record. `Error` is the most important; a filter set to `Info` keeps
/// `Error`, `Warn` and `Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Something failed.
    Error = 1,
    /// Something is off but work goes on.
    Warn = 2,
    /// Normal operation worth keeping.
    Info = 3,
    /// Detail for developers.
    Debug = 4,
    /// Very fine detail.
    Trace = 5,
}
