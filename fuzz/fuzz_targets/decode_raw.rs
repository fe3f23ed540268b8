//! Arbitrary bytes as a segment file, with frame checksums switched off so that the fuzzer
//! reaches the frame and value parsers. Asserts only "no panic, no hang, no huge allocation"
//! (libFuzzer's -rss_limit_mb and -malloc_limit_mb catch the last).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::read(data, true);
});
