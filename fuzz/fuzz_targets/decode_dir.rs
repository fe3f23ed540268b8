//! Whole directories: the input becomes a directory of up to eight entries (segment-like names,
//! odd ones and non-UTF-8 ones; regular files, empty files, symbolic links to other entries,
//! dangling and looping links, subdirectories, FIFOs; contents that are raw bytes or segments
//! built with correct checksums and then damaged, truncated or lz4-compressed), and every reader
//! entry point runs over it as the command does: `decode` (the reader in file order, then the
//! time-order merge with the command's filters and renderers), `stats`, `verify`, and
//! `decode --follow` polled a few times while the directory changes under it. Every record is
//! rendered as JSON, text and logfmt. Asserts "no panic, no hang, no huge allocation" (run with
//! `-timeout` and `-rss_limit_mb`), and that a follower catches up.
#![no_main]
use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use tachylog::reader::follow::Follower;
use tachylog::reader::{Event, ReadError, Reader};
use tachylog::text::{Message, TextLine};
use tachylog::wire::{
    self, AnchorBody, CallsiteHead, DroppedBody, EndBody, FRAME_HEADER_LEN, HEADER_CRC_SPAN,
    HEADER_LEN, NewHeader, RecordHead, RecordsHead, SampledEntry, SampledHead, SegmentHeader,
    ThreadHead, tag,
};
use tachylog_cli::decode::Decoder;
use tachylog_cli::filter::Filter;
use tachylog_cli::output::{Format, Renderer};

/// Largest number of entries in the directory.
const MAX_ENTRIES: usize = 8;
/// Events one poll of a follower may yield before it is taken for one that never catches up.
const MAX_EVENTS_PER_POLL: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir();
    let mut u = Unstructured::new(data);
    // Running out of input just ends the directory early: what was built is read.
    let mut names = Vec::new();
    let _ = build_dir(&mut u, &dir, &mut names);
    read_everything(&dir);
    follow(&mut u, &dir, &mut names);
    // Left behind only by an input that crashed (to look at); each process has its own.
    let _ = std::fs::remove_dir_all(&dir);
});

/// A fresh, empty directory for this process (`TACHYLOG_FUZZ_DIR`, else `/dev/shm` or `/tmp`).
fn scratch_dir() -> PathBuf {
    let base = std::env::var_os("TACHYLOG_FUZZ_DIR").map_or_else(
        || {
            PathBuf::from(if Path::new("/dev/shm").is_dir() {
                "/dev/shm"
            } else {
                "/tmp"
            })
        },
        PathBuf::from,
    );
    let dir = base.join(format!("tachylog-fuzz-dir-{}", std::process::id()));
    // Never follows links: what a link points at (in the directory or not) is left alone.
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot clear {}: {e}", dir.display()),
    }
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

fn build_dir(u: &mut Unstructured, dir: &Path, names: &mut Vec<Vec<u8>>) -> Result<()> {
    let n = u.int_in_range(0..=MAX_ENTRIES)?;
    for _ in 0..n {
        add_entry(u, dir, names)?;
    }
    Ok(())
}

/// Adds one entry. Names may repeat; creating an entry that exists already just fails.
fn add_entry(u: &mut Unstructured, dir: &Path, names: &mut Vec<Vec<u8>>) -> Result<()> {
    let name = name(u)?;
    let path = dir.join(OsStr::from_bytes(&name));
    if path.symlink_metadata().is_ok() {
        // Taken already (writing to it could open a FIFO and block).
        return Ok(());
    }
    match u.int_in_range(0..=15)? {
        // Regular files are the most interesting: most of the choices.
        0..=8 => {
            let bytes = contents(u)?;
            let _ = std::fs::write(&path, bytes);
            if u.ratio(1, 8)? {
                // Sparse zeros after the data: a preallocated segment, or a large file.
                let extra = *u.choose(&[4u64 << 10, 64 << 10, 4 << 20])?;
                if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&path) {
                    let len = f.metadata().map_or(0, |m| m.len());
                    let _ = f.set_len(len + extra);
                }
            }
        }
        9 => {
            let _ = std::fs::write(&path, b"");
        }
        // A link to another entry (a file, a link, a subdirectory or a FIFO).
        10 | 11 if !names.is_empty() => {
            let target = u.choose(names)?.clone();
            let _ = std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path);
        }
        10..=12 => {
            let target: &[u8] = u.choose(&[
                &b"app-0000000099.tlog"[..],
                b"missing/app-0000000001.tlog",
                b".",
                b"..",
            ])?;
            // A link to itself loops; the others dangle or point at a directory.
            let target = if u.ratio(1, 3)? { &name[..] } else { target };
            let _ = std::os::unix::fs::symlink(OsStr::from_bytes(target), &path);
        }
        13 => {
            if std::fs::create_dir(&path).is_ok() && u.arbitrary::<bool>()? {
                // A segment inside: never listed (the reader does not descend).
                let _ = std::fs::write(path.join("app-0000000001.tlog"), contents(u)?);
            }
        }
        _ => {
            let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in names");
            // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
            unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        }
    }
    names.push(name);
    Ok(())
}

/// A file name: mostly `<prefix>-<sequence><suffix>` with odd parts, sometimes raw bytes.
fn name(u: &mut Unstructured) -> Result<Vec<u8>> {
    if u.ratio(1, 8)? {
        let raw: &[u8] = u.arbitrary()?;
        let mut n: Vec<u8> = raw
            .iter()
            .take(200)
            .map(|&b| if b == b'/' || b == 0 { b'_' } else { b })
            .collect();
        if n.is_empty() || n == b"." || n == b".." {
            n = b"x".to_vec();
        }
        return Ok(n);
    }
    let prefix: &[u8] = u.choose(&[
        &b"app"[..],
        b"app",
        b"app",
        b"other",
        b"a-b-c",
        b"",
        b"-",
        b"app.tlog",
        b"app\xff",
        b"\xc3(",
        b"caf\xc3\xa9",
        b"app-",
    ])?;
    let seq: Vec<u8> = match u.int_in_range(0..=9)? {
        0..=4 => format!("{:010}", u.int_in_range(0..=6u64)?).into_bytes(),
        5 => u.arbitrary::<u64>()?.to_string().into_bytes(),
        6 => u64::MAX.to_string().into_bytes(),
        7 => b"18446744073709551616".to_vec(),
        8 => b"99999999999999999999999999999999".to_vec(),
        _ => u
            .choose(&[&b""[..], b"x", b"+1", b"0x10", b" 1", b"\xff"])?
            .to_vec(),
    };
    let sep: &[u8] = if u.ratio(1, 10)? { b"_" } else { b"-" };
    let suffix: &[u8] = u.choose(&[
        &b".tlog"[..],
        b".tlog",
        b".tlog",
        b".tlog.lz4",
        b".tlog.lz4",
        b".tlog.lz4.tmp",
        b".tlog.prep",
        b".lz4",
        b".tlog.tmp",
        b".TLOG",
        b"",
        b".tlog.lz4.lz4",
        b".tlog\xff",
    ])?;
    Ok([prefix, sep, &seq, suffix].concat())
}

/// A file's bytes: raw input, zeros, or a segment, damaged or not, compressed or not.
fn contents(u: &mut Unstructured) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0..=7)? {
        0 => u.arbitrary::<&[u8]>()?.to_vec(),
        1 => vec![0; *u.choose(&[1usize, HEADER_LEN - 1, HEADER_LEN, 4096])?],
        _ => {
            let mut seg = segment(u)?;
            damage(u, &mut seg)?;
            if u.ratio(1, 3)? {
                seg = compress(u, &seg)?;
                damage(u, &mut seg)?;
            }
            seg
        }
    })
}

/// A segment built as a writer would: header, then frames with correct checksums.
fn segment(u: &mut Unstructured) -> Result<Vec<u8>> {
    let header = NewHeader {
        seq: if u.arbitrary()? {
            u.int_in_range(0..=6)?
        } else {
            u.arbitrary()?
        },
        created_unix_ns: u.arbitrary()?,
        anchor_ticks: if u.arbitrary()? { 0 } else { u.arbitrary()? },
        anchor_unix_ns: if u.arbitrary()? {
            1_700_000_000_000_000_000
        } else {
            u.arbitrary()?
        },
        ticks_per_sec: ticks_per_sec(u)?,
        segment_size: match u.int_in_range(0..=3)? {
            0 => 0,
            1 => 64 << 10,
            2 => u64::MAX,
            _ => u.arbitrary()?,
        },
        pid: u.int_in_range(0..=3)?,
    };
    let mut seg = SegmentHeader::encode(&header).to_vec();
    if u.ratio(1, 8)? {
        // A version-1 segment (no FORMATTED values), checksum kept right.
        seg[8..10].copy_from_slice(&wire::MIN_VERSION.to_le_bytes());
        fix_header_crc(&mut seg);
    }
    let frames = u.int_in_range(0..=12)?;
    for _ in 0..frames {
        let (kind, payload) = frame(u)?;
        push_frame(u, &mut seg, kind, &payload)?;
    }
    let len = seg.len() as u64;
    set_u64(&mut seg, wire::COMMITTED_OFFSET, len);
    if u.arbitrary()? {
        set_u32(&mut seg, wire::FLAGS_OFFSET, wire::FLAG_SEALED);
    }
    Ok(seg)
}

fn ticks_per_sec(u: &mut Unstructured) -> Result<f64> {
    Ok(*u.choose(&[
        1e9,
        1e9,
        3.1e9,
        1.0,
        0.0,
        -1e9,
        f64::NAN,
        f64::INFINITY,
        f64::MIN_POSITIVE,
        1e300,
    ])?)
}

/// A frame's kind and payload: the known kinds with plausible bodies, or any kind and bytes.
fn frame(u: &mut Unstructured) -> Result<(u16, Vec<u8>)> {
    let mut p = Vec::new();
    let kind = match u.int_in_range(0..=11)? {
        0..=2 => {
            let n_args = u.int_in_range(0..=3u16)?;
            let n_fields = u.int_in_range(0..=2u16)?;
            let head = CallsiteHead {
                id: u.int_in_range(0..=3)?,
                line: u.arbitrary()?,
                level: u.int_in_range(0..=6)?,
                _pad: [0; 3],
                n_args,
                n_fields,
            };
            p.extend_from_slice(bytemuck::bytes_of(&head));
            let target = *u.choose(&["app", "app::db", "", "t\u{1b}[31m", "\u{2028}"])?;
            push_str(&mut p, target.as_bytes());
            push_str(&mut p, b"app::module");
            push_str(&mut p, b"src/main.rs");
            push_str(&mut p, &format_string(u, n_args)?);
            for i in 0..n_args + n_fields {
                let name = match u.int_in_range(0..=3)? {
                    0 => format!("a{i}").into_bytes(),
                    1 => b"".to_vec(),
                    2 => b"k\"=\n".to_vec(),
                    _ => u.arbitrary::<&[u8]>()?.iter().take(16).copied().collect(),
                };
                push_str(&mut p, &name);
            }
            wire::Kind::Callsite as u16
        }
        3 => {
            let name: &[u8] = if u.arbitrary()? {
                u.choose(&[&b"main"[..], b"", b"w\x00\x1b\xff", b"worker-1"])?
            } else {
                u.arbitrary()?
            };
            let head = ThreadHead {
                producer: u.int_in_range(0..=3)?,
                tid: u.arbitrary()?,
                has_name: u.int_in_range(0..=2)?,
                name_len: if u.ratio(1, 16)? {
                    u.arbitrary()?
                } else {
                    name.len() as u32
                },
            };
            p.extend_from_slice(bytemuck::bytes_of(&head));
            p.extend_from_slice(name);
            wire::Kind::Thread as u16
        }
        4..=7 => {
            let count = u.int_in_range(0..=6u32)?;
            let head = RecordsHead {
                producer: u.int_in_range(0..=3)?,
                count: if u.ratio(1, 16)? {
                    u.arbitrary()?
                } else {
                    count
                },
            };
            p.extend_from_slice(bytemuck::bytes_of(&head));
            for _ in 0..count {
                let mut values = Vec::new();
                for _ in 0..u.int_in_range(0..=4)? {
                    value(u, &mut values, 0)?;
                }
                let len = wire::RECORD_HEAD_LEN + values.len();
                let rec = RecordHead {
                    len: if u.ratio(1, 16)? {
                        u.arbitrary()?
                    } else {
                        len as u32
                    },
                    callsite: u.int_in_range(0..=3)?,
                    ticks: match u.int_in_range(0..=3u64)? {
                        0 => u.arbitrary()?,
                        n => n * 1000 + u.int_in_range(0..=2000)?,
                    },
                };
                p.extend_from_slice(bytemuck::bytes_of(&rec));
                p.extend_from_slice(&values);
            }
            wire::Kind::Records as u16
        }
        8 => {
            let body = DroppedBody {
                producer: u.int_in_range(0..=3)?,
                _pad: 0,
                count: u.arbitrary()?,
                ticks: u.arbitrary()?,
            };
            p.extend_from_slice(bytemuck::bytes_of(&body));
            wire::Kind::Dropped as u16
        }
        9 => {
            let body = AnchorBody {
                ticks: u.arbitrary()?,
                unix_ns: u.arbitrary()?,
                ticks_per_sec: ticks_per_sec(u)?,
            };
            p.extend_from_slice(bytemuck::bytes_of(&body));
            wire::Kind::Anchor as u16
        }
        10 => {
            let n = u.int_in_range(0..=3u32)?;
            let head = SampledHead { count: n, _pad: 0 };
            p.extend_from_slice(bytemuck::bytes_of(&head));
            for _ in 0..n {
                let e = SampledEntry {
                    callsite: u.int_in_range(0..=4)?,
                    _pad: 0,
                    kept: u.arbitrary()?,
                    skipped: u.arbitrary()?,
                };
                p.extend_from_slice(bytemuck::bytes_of(&e));
            }
            wire::Kind::Sampled as u16
        }
        _ => {
            if u.arbitrary()? {
                let body = EndBody {
                    next_seq: u.arbitrary()?,
                    records: u.arbitrary()?,
                };
                p.extend_from_slice(bytemuck::bytes_of(&body));
                wire::Kind::End as u16
            } else {
                p.extend_from_slice(u.arbitrary()?);
                u.arbitrary()?
            }
        }
    };
    Ok((kind, p))
}

/// A format string for `n_args` arguments, from pieces that exercise the renderer's specs.
fn format_string(u: &mut Unstructured, n_args: u16) -> Result<Vec<u8>> {
    let mut s = Vec::new();
    for _ in 0..u.int_in_range(0..=5)? {
        let piece: &[u8] = u.choose(&[
            &b"{}"[..],
            b"{}",
            b"{:?}",
            b"{0}",
            b"{1:>8.3}",
            b"{:#x}",
            b"{:08.2e}",
            b"{a0}",
            b"{0:65535}",
            b"{:.65535}",
            b"{:^*}",
            b"{{",
            b"}}",
            b"{",
            b"text ",
            b"\xe2\x80\xa8",
            b"\x1b[2J",
        ])?;
        s.extend_from_slice(piece);
    }
    if u.ratio(1, 8)? {
        s.extend_from_slice(u.arbitrary()?);
    }
    if s.is_empty() {
        s = "{} ".repeat(n_args as usize).into_bytes();
    }
    Ok(s)
}

/// An encoded value: a tag and its bytes, mostly well-formed.
fn value(u: &mut Unstructured, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    let t = u.int_in_range(0..=19u8)?;
    out.push(t);
    match t {
        tag::NONE => {}
        tag::SOME => {
            if depth < 20 {
                value(u, out, depth + 1)?;
            }
        }
        tag::U8 | tag::I8 | tag::BOOL => out.push(u.arbitrary()?),
        tag::U16 | tag::I16 => out.extend_from_slice(&u.arbitrary::<[u8; 2]>()?),
        tag::U32 | tag::I32 | tag::F32 | tag::CHAR => {
            out.extend_from_slice(&u.arbitrary::<[u8; 4]>()?)
        }
        tag::U64 | tag::I64 | tag::F64 => out.extend_from_slice(&u.arbitrary::<[u8; 8]>()?),
        tag::U128 | tag::I128 => out.extend_from_slice(&u.arbitrary::<[u8; 16]>()?),
        tag::STR | tag::PRE | tag::FORMATTED => {
            let s: &[u8] = if u.arbitrary()? {
                u.choose(&[&b"hello"[..], b"", b"a\x00b\x1b[31m\xc2\x85", b"\xff\xfe"])?
            } else {
                u.arbitrary()?
            };
            let len = if u.ratio(1, 16)? {
                u.arbitrary()?
            } else {
                s.len() as u32
            };
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(s);
        }
        _ => out.extend_from_slice(u.arbitrary::<&[u8]>()?),
    }
    Ok(())
}

/// Appends a frame at the next aligned offset, checksum right unless the input says otherwise.
fn push_frame(u: &mut Unstructured, seg: &mut Vec<u8>, kind: u16, payload: &[u8]) -> Result<()> {
    seg.resize(wire::align_up(seg.len()), 0);
    let mut head = [0u8; FRAME_HEADER_LEN];
    head[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    head[4..6].copy_from_slice(&kind.to_le_bytes());
    let crc = wire::frame_crc(&head[..8], payload);
    head[8..12].copy_from_slice(&crc.to_le_bytes());
    if u.ratio(1, 32)? {
        // A frame header claiming more (or less) than its payload, checksummed as claimed.
        let len: u32 = u.arbitrary()?;
        head[..4].copy_from_slice(&len.to_le_bytes());
        let crc = wire::frame_crc(&head[..8], payload);
        head[8..12].copy_from_slice(&crc.to_le_bytes());
    }
    seg.extend_from_slice(&head);
    seg.extend_from_slice(payload);
    seg.resize(wire::align_up(seg.len()), 0);
    Ok(())
}

/// Damage after the fact: truncation, flipped bits, overwritten header fields.
fn damage(u: &mut Unstructured, seg: &mut Vec<u8>) -> Result<()> {
    for _ in 0..u.int_in_range(0..=3)? {
        match u.int_in_range(0..=6)? {
            0 if !seg.is_empty() => {
                let at = u.int_in_range(0..=seg.len() - 1)?;
                seg.truncate(at);
            }
            1 if !seg.is_empty() => {
                let at = u.int_in_range(0..=seg.len() - 1)?;
                seg[at] ^= 1 << u.int_in_range(0..=7)?;
            }
            2 => {
                let committed = match u.int_in_range(0..=4)? {
                    0 => 0,
                    1 => HEADER_LEN as u64,
                    2 => 4_000_000_000,
                    3 => u64::MAX,
                    _ => u.arbitrary()?,
                };
                set_u64(seg, wire::COMMITTED_OFFSET, committed);
            }
            3 => {
                let flags = u.arbitrary()?;
                set_u32(seg, wire::FLAGS_OFFSET, flags);
            }
            4 => {
                // Any header field, then a checksum that holds: the reader trusts the header.
                let at = u.int_in_range(0..=HEADER_CRC_SPAN - 1)?;
                if at < seg.len() {
                    seg[at] = u.arbitrary()?;
                }
                fix_header_crc(seg);
            }
            5 => {
                let zeros = u.int_in_range(0..=4096)?;
                seg.resize(seg.len() + zeros, 0);
            }
            _ => seg.extend_from_slice(u.arbitrary()?),
        }
    }
    Ok(())
}

/// An lz4 frame of `seg`, as the writer's compression makes (or without a content checksum).
fn compress(u: &mut Unstructured, seg: &[u8]) -> Result<Vec<u8>> {
    let info = lz4_flex::frame::FrameInfo::new()
        .content_checksum(u.arbitrary()?)
        .block_checksums(u.arbitrary()?)
        .block_size(if u.arbitrary()? {
            lz4_flex::frame::BlockSize::Max64KB
        } else {
            lz4_flex::frame::BlockSize::Max4MB
        });
    let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    enc.write_all(seg).expect("compress into memory");
    Ok(enc.finish().expect("compress into memory"))
}

fn push_str(p: &mut Vec<u8>, s: &[u8]) {
    p.extend_from_slice(&(s.len() as u32).to_le_bytes());
    p.extend_from_slice(s);
}

fn set_u64(seg: &mut [u8], at: usize, v: u64) {
    if let Some(b) = seg.get_mut(at..at + 8) {
        b.copy_from_slice(&v.to_le_bytes());
    }
}

fn set_u32(seg: &mut [u8], at: usize, v: u32) {
    if let Some(b) = seg.get_mut(at..at + 4) {
        b.copy_from_slice(&v.to_le_bytes());
    }
}

fn fix_header_crc(seg: &mut [u8]) {
    if seg.len() >= HEADER_CRC_SPAN + 4 {
        let crc = crc32c(&seg[..HEADER_CRC_SPAN]);
        set_u32(seg, HEADER_CRC_SPAN, crc);
    }
}

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

/// `decode` (file order, then time order), `stats` and `verify` over the directory.
fn read_everything(dir: &Path) {
    // File order, every record rendered in each format by the library's and the command's
    // renderers.
    let reader = Reader::open([dir]).expect("the directory exists");
    let mut text = TextLine::new(true);
    let mut renderers =
        [Format::Json, Format::Text, Format::Logfmt].map(|f| Renderer::new(f, false));
    let (mut out, mut msg) = (Vec::new(), String::new());
    for item in reader {
        match item {
            Ok(Event::Record(r)) => {
                msg.clear();
                let mut fields = Vec::new();
                let ascii = match r.write_message_and_fields(&mut msg, |n, v| fields.push((n, v))) {
                    Ok(ascii) => ascii,
                    Err(e) => {
                        msg.clear();
                        r.write_undecodable(&mut msg, &e);
                        fields.clear();
                        false
                    }
                };
                let m = Message {
                    text: &msg,
                    ascii,
                    fields: &fields,
                };
                out.clear();
                text.record(&mut out, &r, &m, false);
                for renderer in &mut renderers {
                    renderer.record(&mut out, &r, &m, true);
                }
                let _ = r.message();
                let _ = r.check_values();
            }
            Ok(Event::Dropped(d)) => {
                out.clear();
                text.dropped(&mut out, &d, false);
                for renderer in &mut renderers {
                    renderer.dropped(&mut out, &d, false);
                }
            }
            Ok(other) => drop(format!("{other:?}")),
            Err(e) => drop(e.to_string()),
        }
    }

    // Time order through the command's pipeline: small windows make the merge emit late records.
    for (format, window, filter) in [
        (Format::Json, 1, Filter::default()),
        (Format::Text, 3, level_filter()),
        (Format::Logfmt, 100_000, Filter::default()),
    ] {
        let reader = Reader::open([dir]).expect("the directory exists");
        let mut decoder = Decoder::new(
            Box::new(reader),
            &filter,
            Renderer::new(format, false),
            window,
        );
        decoder
            .pump(&mut std::io::sink(), &mut |e| drop(e.to_string()))
            .expect("writing to a sink");
    }

    let mut stats = tachylog_cli::stats::Stats::default();
    let reader = Reader::open([dir]).expect("the directory exists");
    stats.add_all(reader, &mut |e: &ReadError| drop(e.to_string()));
    stats.write_text(&mut std::io::sink(), 10).expect("sink");
    stats.write_json(&mut std::io::sink(), 10).expect("sink");

    tachylog_cli::verify::verify_paths(&[dir], &mut std::io::sink(), &mut |e| drop(e.to_string()))
        .expect("writing to a sink");
}

fn level_filter() -> Filter {
    Filter {
        level: Some(tachylog::Level::Info),
        grep: regex::Regex::new("e").ok(),
        ..Filter::default()
    }
}

/// `decode --follow`: polled, the directory changed, polled again; each poll must catch up.
fn follow(u: &mut Unstructured, dir: &Path, names: &mut Vec<Vec<u8>>) {
    let Ok(follower) = Follower::new(dir) else {
        return;
    };
    let filter = Filter::default();
    let counted = Counted {
        inner: follower,
        n: 0,
    };
    let mut decoder = Decoder::new(
        Box::new(counted),
        &filter,
        Renderer::new(Format::Json, false),
        4,
    );
    for _ in 0..3 {
        decoder
            .pump(&mut std::io::sink(), &mut |e| drop(e.to_string()))
            .expect("writing to a sink");
        if change(u, dir, names).is_err() {
            break;
        }
    }
    decoder
        .pump(&mut std::io::sink(), &mut |e| drop(e.to_string()))
        .expect("writing to a sink");
}

/// A follower that panics if one poll never ends.
struct Counted {
    inner: Follower,
    n: usize,
}

impl Iterator for Counted {
    type Item = std::result::Result<Event, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next();
        self.n = if item.is_some() { self.n + 1 } else { 0 };
        assert!(
            self.n <= MAX_EVENTS_PER_POLL,
            "a follower never caught up: {} events in one poll",
            self.n
        );
        item
    }
}

/// What a writer (or someone else) does to the directory between two polls.
fn change(u: &mut Unstructured, dir: &Path, names: &mut Vec<Vec<u8>>) -> Result<()> {
    for _ in 0..u.int_in_range(0..=2)? {
        let target = if names.is_empty() {
            None
        } else {
            Some(dir.join(OsStr::from_bytes(u.choose(names)?)))
        };
        match (u.int_in_range(0..=4)?, target) {
            // The writer commits more frames (and maybe seals).
            (0 | 1, Some(path)) if is_file(&path) => {
                let Ok(mut seg) = std::fs::read(&path) else {
                    continue;
                };
                for _ in 0..u.int_in_range(1..=3)? {
                    let (kind, payload) = frame(u)?;
                    push_frame(u, &mut seg, kind, &payload)?;
                }
                let len = seg.len() as u64;
                set_u64(&mut seg, wire::COMMITTED_OFFSET, len);
                if u.arbitrary()? {
                    set_u32(&mut seg, wire::FLAGS_OFFSET, wire::FLAG_SEALED);
                }
                // In place, as the writer's mapping does (a link's target is written).
                let _ = std::fs::write(&path, seg);
            }
            // Bytes appended or the file cut, without the header saying so.
            (2, Some(path)) if is_file(&path) => {
                let Ok(mut seg) = std::fs::read(&path) else {
                    continue;
                };
                if u.arbitrary()? {
                    seg.extend_from_slice(u.arbitrary()?);
                } else {
                    seg.truncate(u.int_in_range(0..=seg.len())?);
                }
                let _ = std::fs::write(&path, seg);
            }
            (3, Some(path)) => {
                let _ = std::fs::remove_file(&path);
            }
            (0..=2, _) => {}
            // A new entry: the next segment, or anything else.
            _ => add_entry(u, dir, names)?,
        }
    }
    Ok(())
}

/// Whether `path` is (or links to) a regular file: only those are read and rewritten here, as
/// opening a FIFO would block the harness itself.
fn is_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}
