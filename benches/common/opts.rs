//! The benchmarks' command line.

/// Command-line options shared by both benchmarks. `cargo bench` passes `--bench`; it is ignored.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Producer thread counts to run.
    pub threads: Vec<usize>,
    /// Tiny run that only proves the benchmark works (CI).
    pub quick: bool,
    /// Bursts of 20 calls per thread (latency).
    pub bursts: usize,
    /// Rounds the bursts are split into, the loggers taking turns (latency).
    pub rounds: usize,
    /// Records per thread per run (throughput).
    pub records: usize,
    /// Runs per configuration; the median is reported (throughput).
    pub runs: usize,
    /// Loggers to run (by table name); empty: all.
    pub loggers: Vec<String>,
    /// Throughput parts to run (`compare`, `sustained`, `burst`); empty: all.
    pub parts: Vec<String>,
    /// Records in all per sustained run (throughput), shared by the producers.
    pub sustained: usize,
    /// Records per producer in one back-to-back burst (throughput's burst-loss table).
    pub burst: usize,
    /// Pin producer `t` to core `t` and the drain (the floor's consumer) to the last core.
    pub pin: bool,
    /// tachylog runs with its development console on stderr (`Builder::console`), to show
    /// what the console costs the logging call.
    pub console: bool,
    /// Latency: run only Quill's `hot_path_latency` method (see `benches/latency.rs`).
    pub quill_method: bool,
}

/// `--console` was given: every tachylog started by a benchmark prints to the console.
pub static CONSOLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

const USAGE: &str = "options: --threads 1,2,4  --quick  --loggers floor,tachylog,...  --pin \
                     --bursts N --rounds N --quill-method (latency)  --records N --runs N --sustained N \
                     --burst N --parts compare,sustained,burst (throughput); \
                     --console: tachylog with its console on stderr (redirect it); \
                     TACHYLOG_BENCH_THREADS and TACHYLOG_BENCH_QUICK=1 do the same as \
                     --threads and --quick";

impl Opts {
    /// Whether the logger named `name` is to be run.
    pub fn wants(&self, name: &str) -> bool {
        self.loggers.is_empty() || self.loggers.iter().any(|l| l == name)
    }

    /// Whether the part named `name` is to be run.
    pub fn wants_part(&self, name: &str) -> bool {
        self.parts.is_empty() || self.parts.iter().any(|p| p == name)
    }

    /// Pins the calling thread to `core` if `--pin` was given (and the core exists).
    pub fn pin_to(&self, core: usize) {
        if self.pin {
            core_affinity::set_for_current(core_affinity::CoreId { id: core % cpus() });
        }
    }

    /// The core the drain (or the floor's consumer) is pinned to with `--pin`: the last one.
    pub fn drain_core(&self) -> Option<usize> {
        self.pin.then(|| cpus() - 1)
    }

    /// Parses `std::env::args()`; exits with a message on a bad option.
    pub fn parse() -> Opts {
        let mut o = Opts {
            threads: vec![1, 2],
            quick: std::env::var("TACHYLOG_BENCH_QUICK").is_ok_and(|v| v == "1"),
            bursts: 10_000,
            rounds: 5,
            records: 1_000_000,
            runs: 5,
            loggers: Vec::new(),
            parts: Vec::new(),
            sustained: 20_000_000,
            burst: 200_000,
            pin: false,
            console: false,
            quill_method: false,
        };
        if let Ok(t) = std::env::var("TACHYLOG_BENCH_THREADS") {
            o.threads = parse_list(&t);
        }
        let mut explicit = (false, false, false, false);
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .unwrap_or_else(|| fail(&format!("{name} needs a value")))
            };
            match a.as_str() {
                "--bench" => {}
                "--quick" => o.quick = true,
                "--threads" => o.threads = parse_list(&value("--threads")),
                "--bursts" => {
                    o.bursts = parse_num(&value("--bursts"));
                    explicit.0 = true;
                }
                "--records" => {
                    o.records = parse_num(&value("--records"));
                    explicit.1 = true;
                }
                "--runs" => o.runs = parse_num(&value("--runs")).max(1),
                "--sustained" => {
                    o.sustained = parse_num(&value("--sustained"));
                    explicit.2 = true;
                }
                "--burst" => {
                    o.burst = parse_num(&value("--burst"));
                    explicit.3 = true;
                }
                "--pin" => o.pin = true,
                "--quill-method" => o.quill_method = true,
                "--console" => {
                    o.console = true;
                    CONSOLE.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                "--parts" => {
                    o.parts = value("--parts")
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect()
                }
                "--rounds" => o.rounds = parse_num(&value("--rounds")).max(1),
                "--loggers" => {
                    o.loggers = value("--loggers")
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect()
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => fail(&format!("unknown option {other:?}")),
            }
        }
        if o.quick {
            if !explicit.0 {
                o.bursts = 100;
            }
            if !explicit.1 {
                o.records = 5_000;
            }
            if !explicit.2 {
                o.sustained = 100_000;
            }
            if !explicit.3 {
                o.burst = 20_000;
            }
            o.runs = 1;
            o.rounds = o.rounds.min(2);
        }
        if o.threads.is_empty() || o.threads.contains(&0) {
            fail("thread counts must be at least 1");
        }
        o
    }
}

/// CPUs this process may use.
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}\n{USAGE}");
    std::process::exit(2);
}

fn parse_num(s: &str) -> usize {
    s.trim()
        .parse()
        .unwrap_or_else(|_| fail(&format!("not a number: {s:?}")))
}

fn parse_list(s: &str) -> Vec<usize> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_num)
        .collect()
}
