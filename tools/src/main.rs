//! `tachylog`: decodes tachylog segment files into JSON Lines, readable text or logfmt; follows
//! a live directory; verifies segments; summarises them; ships them to syslog, an
//! OpenTelemetry collector or journald.
#![forbid(unsafe_code)]

mod args;

use args::{Cli, Command};
use clap::Parser;
use std::io;
use std::process::ExitCode;
use tachylog_cli::command::Status;
use tachylog_cli::{decode, recover, ship, stats, verify};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(status) => status.into(),
        // A closed pipe (`| head`) is a normal way to stop reading.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tachylog: {e}");
            Status::Unusable.into()
        }
    }
}

/// Runs the subcommand. Problems with the input are in the status; an `Err` is one writing
/// the output.
fn run(cli: Cli) -> io::Result<Status> {
    match cli.command {
        Command::Decode(args) => match args.options() {
            Ok(opts) => decode::run(opts),
            Err(e) => {
                eprintln!("tachylog: {e}");
                Ok(Status::Unusable)
            }
        },
        Command::Verify(args) => verify::run(&args.paths),
        Command::Recover(args) => recover::run(&args.dir, args.name.as_deref()),
        Command::Stats(args) => stats::run(&args.paths, args.json, args.top),
        Command::Ship(args) => match args.options() {
            Ok(opts) => ship::run(&opts),
            Err(e) => {
                eprintln!("tachylog: ship: {e}");
                Ok(Status::Unusable)
            }
        },
    }
}
