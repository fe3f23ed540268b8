//! What both benchmarks share: the clock, the options, the message shapes, and one
//! implementation of each logger under test behind the [`Subject`] trait.
//!
//! Every logger writes real files under `target/bench/tmp/` and reports, when finished, how many
//! records reached its files and how many it says it dropped, so a row that lost records shows
//! it instead of looking fast.
//!
//! One file a concern, each using only those listed before it:
//! - `clock`: the time-stamp counter, its rate and its resolution.
//! - `opts`: the command line.
//! - `files`: where the benchmarks write, and counting lines in a log file.
//! - `shapes`: the workload, the message shapes every logger logs.
//! - `subject`: the [`Subject`] trait every logger under test implements, its [`Setup`] and
//!   [`Finish`], and [`call`], which logs one message of a shape.
//! - `floor`, `tachy`, `competitors`: the loggers: the floor (no logger, the same bytes into
//!   a ring), tachylog, and the others (tracing, slog, a synchronous write).
//! - `report`: Markdown tables, the machine and the date.
#![allow(dead_code)] // each bench uses a different part of this module

mod clock;
mod competitors;
mod files;
mod floor;
mod opts;
mod report;
mod shapes;
mod subject;
mod tachy;

// Each bench (and examples/hotpath_floor.rs) uses a different part of these.
#[allow(unused_imports)]
pub use {
    clock::{calibrate, tick_step, ticks},
    competitors::{Slog, SyncWrite, Tracing},
    files::{count_lines, out_dir, scratch},
    floor::{Floor, FloorLocal, preallocate},
    opts::Opts,
    report::{load_average, machine, print_table, today_utc},
    shapes::{STR20, STR200, Shape},
    subject::{Finish, Setup, Subject, call},
    tachy::Tachy,
};
