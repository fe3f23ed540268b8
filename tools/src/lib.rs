//! The decoder behind the `tachylog` command: output formats, filters, the decode pipeline,
//! `verify`, `stats`, and shipping to syslog. The binary (`main.rs`) is the command line on
//! top.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod decode;
pub mod filter;
pub mod json;
pub mod message;
pub mod output;
pub mod ship;
pub mod stats;
pub mod syslog;
pub mod ts;
pub mod verify;
