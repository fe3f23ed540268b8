//! Segments in memory, for the loom models (`--cfg loom` builds only): what a mapped file is
//! outside loom. Each file's frame bytes are watched by loom cells, so that a reader that reads
//! a byte whose write by the drain does not happen before the read is reported by loom.
use crate::sync::{AtomicU32, AtomicU64};
use crate::wire::{COMMITTED_OFFSET, FLAGS_OFFSET, HEADER_LEN};
use std::ops::{Index, IndexMut, Range, RangeTo};
use std::path::{Path, PathBuf};

loom::lazy_static! {
    /// The in-memory "file system": every segment created in this execution, in order. A
    /// std mutex, invisible to loom: it stands for the kernel, which makes a file visible to
    /// readers only after it was created; its critical sections do nothing loom sees.
    static ref FILES: std::sync::Mutex<Vec<std::sync::Arc<FileBytes>>> =
        std::sync::Mutex::new(Vec::new());
}

/// Creates this execution's file system now, before the model starts threads (so that the lazy
/// initialisation adds no synchronisation of its own between them).
pub(crate) fn init() {
    drop(FILES.lock());
}

/// An in-memory segment file.
struct FileBytes {
    path: PathBuf,
    /// The bytes; frame bytes are accessed only together with their `track` cell.
    data: Box<[std::cell::UnsafeCell<u8>]>,
    /// One loom cell per 8-byte word after the header: the drain's writes and a reader's reads
    /// of a word go through it, so loom checks that the reads happen after the writes.
    track: Box<[loom::cell::UnsafeCell<()>]>,
    committed: AtomicU64,
    flags: AtomicU32,
}

// SAFETY: the drain writes only bytes past `committed` (which readers do not read, unless the
// protocol is broken, and then loom reports the race on the `track` cell before the access);
// the header bytes are written once, before the file is listed in `FILES`.
unsafe impl Sync for FileBytes {}
// SAFETY: as above.
unsafe impl Send for FileBytes {}

impl FileBytes {
    /// The loom cells of the words overlapping `range` (the header has none).
    fn words(&self, range: &Range<usize>) -> Range<usize> {
        let start = range.start.max(HEADER_LEN);
        if range.end <= start {
            return 0..0;
        }
        (start - HEADER_LEN) / 8..(range.end - HEADER_LEN).div_ceil(8)
    }
}

/// The drain's view of an in-memory segment: what `MmapMut` is outside loom.
pub(crate) struct MemFile(std::sync::Arc<FileBytes>);

impl MemFile {
    /// Creates the in-memory file `path` of `size` bytes, zero-filled like a new mapping.
    pub(crate) fn create(path: &Path, size: usize) -> std::io::Result<MemFile> {
        let file = std::sync::Arc::new(FileBytes {
            path: path.to_owned(),
            data: (0..size).map(|_| std::cell::UnsafeCell::new(0)).collect(),
            track: (0..size.saturating_sub(HEADER_LEN).div_ceil(8))
                .map(|_| loom::cell::UnsafeCell::new(()))
                .collect(),
            committed: AtomicU64::new(HEADER_LEN as u64),
            flags: AtomicU32::new(0),
        });
        FILES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(file.clone());
        Ok(MemFile(file))
    }

    /// An in-memory directory starts empty.
    pub(crate) fn first_free_seq(_dir: &Path, _name: &str) -> Result<u64, crate::Error> {
        Ok(1)
    }

    /// Nothing is left over in memory.
    pub(crate) fn recover_leftovers(_dir: &Path, _name: &str) -> u64 {
        0
    }

    /// Nothing to unmap or cut in memory.
    pub(crate) fn finish(self, _used: u64) -> std::io::Result<()> {
        Ok(())
    }

    /// Nothing to fault in: memory (models never prepare segments ahead).
    pub(crate) fn prefault(&mut self) {}

    pub(crate) fn len(&self) -> usize {
        self.0.data.len()
    }

    /// The header's committed length.
    pub(crate) fn header_u64(&self, offset: usize) -> &AtomicU64 {
        assert_eq!(offset, COMMITTED_OFFSET, "only `committed` is shared");
        &self.0.committed
    }

    /// The header's flags.
    pub(crate) fn header_u32(&self, offset: usize) -> &AtomicU32 {
        assert_eq!(offset, FLAGS_OFFSET, "only `flags` is shared");
        &self.0.flags
    }

    fn slice_mut(&mut self, range: Range<usize>) -> &mut [u8] {
        for w in self.0.words(&range) {
            self.0.track[w].with_mut(|_| ());
        }
        let bytes = &self.0.data[range];
        // SAFETY: `UnsafeCell<u8>` has the layout of `u8`; the drain (holder of `&mut self`)
        // is the only writer, and no reader reads these bytes concurrently (checked by loom
        // through `track` just above).
        unsafe { std::slice::from_raw_parts_mut(bytes.as_ptr() as *mut u8, bytes.len()) }
    }
}

impl Index<Range<usize>> for MemFile {
    type Output = [u8];
    fn index(&self, range: Range<usize>) -> &[u8] {
        for w in self.0.words(&range) {
            self.0.track[w].with(|_| ());
        }
        let bytes = &self.0.data[range];
        // SAFETY: as in `slice_mut`; reads by the writer itself never race with its writes.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const u8, bytes.len()) }
    }
}

impl IndexMut<Range<usize>> for MemFile {
    fn index_mut(&mut self, range: Range<usize>) -> &mut [u8] {
        self.slice_mut(range)
    }
}

impl Index<RangeTo<usize>> for MemFile {
    type Output = [u8];
    fn index(&self, range: RangeTo<usize>) -> &[u8] {
        &self[0..range.end]
    }
}

impl IndexMut<RangeTo<usize>> for MemFile {
    fn index_mut(&mut self, range: RangeTo<usize>) -> &mut [u8] {
        self.slice_mut(0..range.end)
    }
}

/// Reads every segment as a live reader would: the committed length with acquire, then the
/// bytes below it (each word's read checked by loom against the drain's write of it).
pub(crate) fn read_published() -> Vec<(PathBuf, Vec<u8>)> {
    let files: Vec<_> = FILES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    files
        .iter()
        .map(|f| {
            let committed = (f.committed.load(crate::sync::Ordering::Acquire) as usize)
                .clamp(HEADER_LEN, f.data.len());
            let flags = f.flags.load(crate::sync::Ordering::Acquire);
            for w in f.words(&(HEADER_LEN..committed)) {
                f.track[w].with(|_| ());
            }
            let bytes: Vec<u8> = f.data[..committed]
                .iter()
                // SAFETY: header bytes are written before the file is listed; frame bytes
                // below `committed` were written before its release store (checked by loom
                // through `track` just above).
                .map(|b| unsafe { *b.get() })
                .collect();
            let mut bytes = bytes;
            bytes[COMMITTED_OFFSET..COMMITTED_OFFSET + 8]
                .copy_from_slice(&(committed as u64).to_le_bytes());
            bytes[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&flags.to_le_bytes());
            (f.path.clone(), bytes)
        })
        .collect()
}
