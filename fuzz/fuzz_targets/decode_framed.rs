//! Real checksums kept: the input is cut into frames (`kind`, `len`, payload) that this target
//! wraps in a valid segment header and correct CRC-32C checksums, plus raw bytes that follow
//! unchecked. The reader's checks all stay on.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tachylog::wire::{
    FRAME_HEADER_LEN, HEADER_CRC_SPAN, HEADER_LEN, MAGIC, VERSION, align_up, frame_crc,
};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut seg = vec![0u8; HEADER_LEN];
    seg[..8].copy_from_slice(&MAGIC);
    seg[8..10].copy_from_slice(&VERSION.to_le_bytes());
    seg[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    seg[48..56].copy_from_slice(&1e9f64.to_le_bytes());
    let crc = crc32c(&seg[..HEADER_CRC_SPAN]);
    seg[HEADER_CRC_SPAN..HEADER_CRC_SPAN + 4].copy_from_slice(&crc.to_le_bytes());
    let mut rest = data;
    // Each frame: kind (1 byte, 1..=7), length (2 bytes), payload.
    while rest.len() >= 3 {
        let kind = (rest[0] % 7 + 1) as u16;
        let len = (u16::from_le_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let payload = &rest[3..3 + len];
        rest = &rest[3 + len..];
        let mut head = [0u8; FRAME_HEADER_LEN];
        head[..4].copy_from_slice(&(len as u32).to_le_bytes());
        head[4..6].copy_from_slice(&kind.to_le_bytes());
        let crc = frame_crc(&head[..8], payload);
        head[8..12].copy_from_slice(&crc.to_le_bytes());
        seg.extend_from_slice(&head);
        seg.extend_from_slice(payload);
        seg.resize(align_up(seg.len()), 0);
    }
    seg.extend_from_slice(rest);
    let committed = seg.len() as u64;
    seg[72..80].copy_from_slice(&committed.to_le_bytes());
    common::read(&seg, false);
});

/// CRC-32C (Castagnoli), bitwise: the header checksum the reader expects.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
