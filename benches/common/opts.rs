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
}

const USAGE: &str = "options: --threads 1,2,4  --quick  --loggers floor,tachylog,... \
                     --bursts N --rounds N (latency)  --records N --runs N (throughput); \
                     TACHYLOG_BENCH_THREADS and TACHYLOG_BENCH_QUICK=1 do the same as \
                     --threads and --quick";

impl Opts {
    /// Whether the logger named `name` is to be run.
    pub fn wants(&self, name: &str) -> bool {
        self.loggers.is_empty() || self.loggers.iter().any(|l| l == name)
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
        };
        if let Ok(t) = std::env::var("TACHYLOG_BENCH_THREADS") {
            o.threads = parse_list(&t);
        }
        let mut explicit = (false, false);
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
            o.runs = 1;
            o.rounds = o.rounds.min(2);
        }
        if o.threads.is_empty() || o.threads.contains(&0) {
            fail("thread counts must be at least 1");
        }
        o
    }
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
