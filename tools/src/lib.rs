//! The decoder behind the `tachylog` command: output formats, filters, the decode pipeline,
//! `verify`, `stats`, and shipping to syslog, OpenTelemetry collectors and journald. Each
//! subcommand's module has a `run` that does its work, with what they share (the exit status,
//! opening inputs, Ctrl-C) in [`command`].
//! The binary is the command line on top: `main.rs` calls the `run` of the subcommand that
//! `args.rs` read from the arguments.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod command;
pub mod decode;
pub mod filter;
pub mod json;
pub mod message;
pub mod notice;
pub mod output;
pub mod recover;
pub mod ship;
pub mod stats;
pub mod syslog;
pub mod ts;
pub mod verify;
