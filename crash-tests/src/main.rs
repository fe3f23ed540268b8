//! `crash-child MODE DIR [--plain]`: logs 1,000 records and a fatal one into DIR, without
//! flushing, then dies the way MODE says. With `--plain` it does the same without starting
//! tachylog (the baseline: how the program ends without the logger).
//!
//! Core dumps are off (`RLIMIT_CORE` 0) in both runs, so the two exit statuses compare.
//! `crash-tests/tests/dying.rs` runs it.
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Records logged before the fatal one.
const RECORDS: u64 = 1_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: crash-child MODE DIR [--plain]");
        return ExitCode::from(2);
    };
    let plain = args.iter().any(|a| a == "--plain");
    no_core_dumps();
    default_termination_signals();
    if mode == "term-handler-before" {
        install_flag_handler(libc::SIGTERM);
    }
    let guard = (!plain).then(|| {
        tachylog::Builder::new()
            .dir(dir)
            .name("crash")
            .segment_size(16 << 20)
            .init()
            .expect("init")
    });
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if mode == "term-signal-hook-after" {
        signal_hook::flag::register(libc::SIGTERM, flag.clone()).expect("signal-hook");
    }
    if mode == "fork" {
        return fork(guard);
    }
    if mode == "panic-worker" {
        let worker = std::thread::Builder::new()
            .name("worker".into())
            .spawn(|| {
                log_records();
                panic!("fatal panic in a worker");
            })
            .unwrap();
        // Unwinding: the worker's panic ends it; main then exits with a status of its own.
        // Under panic = "abort" the process ends in the worker.
        let joined = worker.join();
        std::mem::forget(guard);
        return ExitCode::from(if joined.is_err() { 5 } else { 0 });
    }
    log_records();
    match mode.as_str() {
        "exit" => {
            tachylog::error!("fatal exit");
            std::process::exit(3);
        }
        "return-forgotten" => {
            tachylog::error!("fatal return");
            std::mem::forget(guard);
            ExitCode::from(4)
        }
        "panic-main" => {
            let _guard = guard;
            panic!("fatal panic in main");
        }
        "abort" => {
            tachylog::error!("fatal abort");
            std::process::abort();
        }
        "segv" => {
            tachylog::error!("fatal segv");
            write_to_null();
        }
        "bus" => {
            tachylog::error!("fatal bus");
            touch_past_truncated_mapping(dir);
        }
        "fpe" => {
            tachylog::error!("fatal fpe");
            divide_by_zero();
        }
        "ill" => {
            tachylog::error!("fatal ill");
            undefined_instruction();
        }
        "stack-overflow" => {
            tachylog::error!("fatal stack overflow");
            let depth = recurse(std::hint::black_box(1));
            ExitCode::from(depth as u8)
        }
        "term" | "int" | "term-handler-before" | "term-signal-hook-after" => {
            tachylog::error!("fatal {}", tachylog::display(mode));
            // Tell the parent it may send the signal now.
            println!("ready");
            let _ = std::io::stdout().flush();
            for _ in 0..30_000 {
                if flag.load(std::sync::atomic::Ordering::Relaxed)
                    || HANDLED.load(std::sync::atomic::Ordering::Relaxed)
                {
                    // The application's own handler ran: a graceful shutdown.
                    tachylog::warn!("graceful shutdown after SIGTERM");
                    drop(guard);
                    println!("graceful");
                    return ExitCode::from(0);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            ExitCode::from(7)
        }
        other => {
            eprintln!("unknown mode {other}");
            ExitCode::from(2)
        }
    }
}

/// Logs, forks, and has the child log, read its counters, flush and drop the `Guard`, each
/// timed; the parent then logs once more and ends normally. Prints what the child saw.
fn fork(guard: Option<tachylog::Guard>) -> ExitCode {
    log_records();
    tachylog::flush();
    let before = tachylog::stats().records_dropped;
    // SAFETY: fork(2); the child only logs, reads counters, flushes and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        for seq in 0..100u64 {
            tachylog::info!(seq = seq, "child {}", seq);
        }
        let dropped = tachylog::stats().records_dropped - before;
        let t = std::time::Instant::now();
        tachylog::flush();
        let flush_ms = t.elapsed().as_millis();
        let t = std::time::Instant::now();
        drop(guard);
        let drop_ms = t.elapsed().as_millis();
        println!("child dropped={dropped} flush_ms={flush_ms} drop_ms={drop_ms}");
        let _ = std::io::stdout().flush();
        std::process::exit(0);
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    tachylog::info!("parent after fork");
    drop(guard);
    println!("child status={status}");
    ExitCode::from(0)
}

fn log_records() {
    for seq in 0..RECORDS {
        tachylog::info!(seq = seq, "record {}", seq);
    }
}

fn no_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit; lowering a limit needs no privilege.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
}

static HANDLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn set_handled(_: libc::c_int) {
    // An atomic store: async-signal-safe.
    HANDLED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A handler installed with plain sigaction before tachylog starts.
fn install_flag_handler(sig: libc::c_int) {
    // SAFETY: a zeroed sigaction with a handler that only stores an atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = set_handled as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// A store through a null pointer (a field at offset 16 of a null struct pointer), done in
/// assembly so that neither the compiler nor a debug check turns it into something else.
fn write_to_null() -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: deliberately faults: address 16 is in the never-mapped first page.
    unsafe {
        std::arch::asm!("mov byte ptr [{0}], 1", in(reg) std::hint::black_box(16usize));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as above.
    unsafe {
        std::ptr::write_volatile(std::hint::black_box(16usize) as *mut u8, 1);
    }
    unreachable!("the store faults")
}

/// Maps two pages of a file, cuts the file to nothing, and touches the mapping: SIGBUS.
fn touch_past_truncated_mapping(dir: &str) -> ! {
    use std::os::fd::AsRawFd;
    let path = std::path::Path::new(dir).join("bus.bin");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    f.set_len(8192).unwrap();
    // SAFETY: a shared mapping of our own file; it faults by design once the file is cut.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            8192,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    f.set_len(0).unwrap();
    // SAFETY: deliberately faults: the page is past the end of the file.
    unsafe { std::ptr::write_volatile(p.cast::<u8>().add(4096), 1) };
    unreachable!("the store raises SIGBUS")
}

/// An integer division by zero by the processor (Rust's `/` would panic instead).
fn divide_by_zero() -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: deliberately faults: idiv by zero raises #DE, which Linux turns into SIGFPE.
    unsafe {
        std::arch::asm!(
            "cdq",
            "idiv {d:e}",
            d = in(reg) std::hint::black_box(0u32),
            inout("eax") 1u32 => _,
            out("edx") _,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: no hardware trap on this architecture; send the signal instead.
    unsafe {
        libc::raise(libc::SIGFPE);
    }
    unreachable!("the division faults")
}

/// An undefined instruction.
fn undefined_instruction() -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: deliberately faults: ud2 raises #UD, which Linux turns into SIGILL.
    unsafe {
        std::arch::asm!("ud2");
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as above.
    unsafe {
        libc::raise(libc::SIGILL);
    }
    unreachable!("the instruction faults")
}

/// Recurses until the stack runs out (the buffer keeps frames from being merged).
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let buf = std::hint::black_box([n; 64]);
    recurse(buf[3] + 1) + buf[7]
}

/// Gives the termination signals their default disposition, as an interactive program has:
/// a shell that starts a job in the background without job control makes it ignore SIGINT and
/// SIGQUIT, and the ignored disposition would be inherited, so these tests would test nothing.
fn default_termination_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: setting a valid signal's disposition to SIG_DFL before any thread starts.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}
