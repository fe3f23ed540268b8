//! The position and the state file that keeps it between runs.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The default state file: `<dir>/.ship-<hash of the receiver>.state`, so shipping one
/// directory to two places keeps two positions. `receiver` is the target's name
/// ([`Target::name`](super::Target::name)).
pub fn default_state_path(dir: &Path, receiver: &str) -> PathBuf {
    // FNV-1a: stable across builds and platforms, which std's hasher does not promise.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in receiver.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    dir.join(format!(".ship-{h:016x}.state"))
}

/// How far shipping got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The segment's file name (raw form, without `.lz4`).
    pub segment: Rc<str>,
    /// Records, drop notices and sampling notices of that segment sent, in frame order.
    pub index: u64,
    /// Everything of the segment was sent (its end was read).
    pub complete: bool,
}

const STATE_MAGIC: &str = "tachylog-ship-state 1";

impl Position {
    /// Reads a state file; `Ok(None)` if there is none.
    pub fn load(path: &Path) -> Result<Option<Position>, String> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let bad = |why: &str| {
            format!(
                "{}: not a ship state file ({why}); remove it to ship from the oldest segment",
                path.display()
            )
        };
        let mut lines = text.lines();
        if lines.next() != Some(STATE_MAGIC) {
            return Err(bad("unknown first line"));
        }
        let (mut segment, mut index, mut complete) = (None, None, None);
        for l in lines {
            match l.split_once(' ') {
                Some(("segment", v)) if !v.is_empty() && !v.contains('/') => {
                    segment = Some(Rc::from(v))
                }
                Some(("index", v)) => index = v.parse().ok(),
                Some(("complete", v)) => complete = v.parse().ok(),
                _ => return Err(bad(&format!("unexpected line {l:?}"))),
            }
        }
        match (segment, index, complete) {
            (Some(segment), Some(index), Some(complete)) => Ok(Some(Position {
                segment,
                index,
                complete,
            })),
            _ => Err(bad("segment, index or complete missing")),
        }
    }

    /// Writes the state file atomically: a temporary file beside it, renamed over it.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let tmp = tmp_path(path);
        let text = format!(
            "{STATE_MAGIC}\nsegment {}\nindex {}\ncomplete {}\n",
            self.segment, self.index, self.complete
        );
        fs::write(&tmp, text)?;
        fs::rename(&tmp, path)
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Fails now, not after the first batch, if the position cannot be kept: writes and removes
/// the temporary file [`Position::save`] writes beside the state file.
pub(super) fn probe(path: &Path) -> io::Result<()> {
    let tmp = tmp_path(path);
    fs::write(&tmp, b"").and_then(|()| fs::remove_file(&tmp))
}
