use crate::Level;
use std::sync::atomic::AtomicU32;

/// Static description of one macro call site.
#[derive(Debug)]
pub struct Metadata {
    /// Level of the call site.
    pub level: Level,
    /// Target (`target:` or the module path).
    pub target: &'static str,
    /// `module_path!()`.
    pub module_path: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
    /// The format string, as written.
    pub format: &'static str,
    /// Names of the encoded format arguments, in encoding order: `""` for each positional
    /// argument, then the names of named arguments, then captured identifiers.
    pub arg_names: &'static [&'static str],
    /// Names of the structured fields, encoded after the format arguments.
    pub field_names: &'static [&'static str],
}

/// A call site: its metadata and its registration id (0 until first use).
#[derive(Debug)]
pub struct Callsite {
    meta: Metadata,
    id: AtomicU32,
}

impl Callsite {
    /// A new, unregistered call site.
    pub const fn new(meta: Metadata) -> Self {
        Callsite { meta, id: AtomicU32::new(0) }
    }

    /// Its metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }
}
