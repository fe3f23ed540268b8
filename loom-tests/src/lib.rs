//! Loom models of tachylog's concurrency protocol. The models are in `tests/models.rs` and
//! build only with `--cfg loom`:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom -C debug_assertions" LOOM_MAX_PREEMPTIONS=2 \
//!     CARGO_TARGET_DIR=target/loom cargo test --release -p tachylog-loom-tests -- --nocapture
//! ```
//!
//! `docs/CONCURRENCY.md` describes the protocol and which model checks which part of it.

#[cfg(all(test, not(loom)))]
mod tests {
    #[test]
    fn engine_links_as_a_dependency() {
        assert_eq!(tachylog::Level::Info.as_str(), "INFO");
    }
}
