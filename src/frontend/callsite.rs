//! Call sites: static metadata owned by each macro expansion, registered once on first use.
use crate::Level;
use crate::runtime;
use crate::sync::{
    AtomicU8, AtomicU32, AtomicU64, Break, Mutex, MutexGuard, Ordering, broken, const_unless_model,
    lock, model_static,
};

/// Static description of one macro call site.
#[derive(Debug)]
pub struct Metadata {
    /// Level of the call site.
    pub level: Level,
    /// Target (`target:` or the module path).
    pub target: &'static str,
    /// `module_path!()`.
    pub module_path: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
    /// The format string, as written.
    pub format: &'static str,
    /// Names of the encoded format arguments, in encoding order: `""` for each positional
    /// argument, then the names of named arguments, then captured identifiers.
    pub arg_names: &'static [&'static str],
    /// Names of the structured fields, encoded after the format arguments.
    pub field_names: &'static [&'static str],
}

/// A call site: its metadata and its registration id (0 until first use).
#[derive(Debug)]
pub struct Callsite {
    meta: Metadata,
    /// 0 until registered, then the index in [`REGISTRY`] plus one. Written once, under the
    /// registry lock, with release ordering after the entry is pushed.
    id: AtomicU32,
    /// The filter's cached decision: [`UNKNOWN`] until first use, then [`NEVER`] or
    /// [`ALWAYS`]. Written only under the registry lock (on registration and when the filter
    /// changes); read with one relaxed load on the hot path.
    interest: AtomicU8,
    /// `limit = N/s` only: the current one-second window (high 32 bits: the second of the
    /// monotonic clock) and the records kept in it so far (low 32 bits). Shared by every thread
    /// that logs here, which is what makes the limit per call site; untouched otherwise.
    pub(crate) limit_window: AtomicU64,
}

/// Interest not yet computed (the call site has not been used).
const UNKNOWN: u8 = 0;
/// The filter rejects this call site.
const NEVER: u8 = 1;
/// The filter accepts this call site.
const ALWAYS: u8 = 2;

model_static! {
    /// Every registered call site; append-only. Index `i` holds the call site with id `i + 1`.
    static REGISTRY: Mutex<Vec<&'static Callsite>> = Mutex::new(Vec::new());
}

impl Callsite {
    const_unless_model! {
        /// A new, unregistered call site (`const`, except under loom, whose atomics belong to
        /// one model execution: models create call sites inside it).
        pub fn new(meta: Metadata) -> Self {
            Callsite {
                meta,
                id: AtomicU32::new(0),
                interest: AtomicU8::new(UNKNOWN),
                limit_window: AtomicU64::new(0),
            }
        }
    }

    /// Whether the filter keeps this call site's records: one relaxed load once decided. The
    /// global level ceiling (`__private::enabled`) is checked before this. Relaxed suffices:
    /// the value is a hint that a concurrent `set_filter` may change at any moment, and the
    /// id that a record needs is read separately with acquire.
    #[inline(always)]
    pub fn enabled(&'static self) -> bool {
        match self.interest.load(Ordering::Relaxed) {
            ALWAYS => true,
            NEVER => false,
            _ => {
                self.register();
                self.interest.load(Ordering::Relaxed) == ALWAYS
            }
        }
    }

    /// Its metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// Its id, registering it on first use. After that: one acquire load (a plain load on
    /// x86-64). Acquire pairs with the release store in `register`, so any thread that sees the
    /// id also sees the registry entry behind it.
    #[inline(always)]
    pub(crate) fn id(&'static self) -> u32 {
        let id = self.id.load(Ordering::Acquire);
        if id != 0 { id } else { self.register() }
    }

    #[cold]
    #[inline(never)]
    fn register(&'static self) -> u32 {
        let mut reg = lock(&REGISTRY);
        // Another thread may have registered it while we waited for the lock.
        let id = self.id.load(Ordering::Acquire);
        if id != 0 {
            return id;
        }
        let id = reg.len() as u32 + 1;
        if broken(Break::CallsiteIdBeforePush) {
            reg = self.publish_id_early(id, reg);
        }
        reg.push(self);
        self.interest.store(decide(self), Ordering::Relaxed);
        self.id.store(id, Ordering::Release);
        id
    }
}

impl Callsite {
    /// The broken variant `CallsiteIdBeforePush` (loom models only): publishes the id, then
    /// lets other threads at the registry before the entry is pushed.
    fn publish_id_early(
        &'static self,
        id: u32,
        reg: MutexGuard<'static, Vec<&'static Callsite>>,
    ) -> MutexGuard<'static, Vec<&'static Callsite>> {
        self.id.store(id, Ordering::Release);
        drop(reg);
        lock(&REGISTRY)
    }
}

fn decide(cs: &Callsite) -> u8 {
    if runtime::decide(cs.meta.target, cs.meta.level) {
        ALWAYS
    } else {
        NEVER
    }
}

/// Runs `change` (which installs a new filter) under the registry lock, then recomputes the
/// cached decision of every registered call site, so that no call site registers in between
/// with a decision from the old filter and keeps it.
pub(crate) fn reconfigure(change: impl FnOnce()) {
    let reg = lock(&REGISTRY);
    change();
    for cs in reg.iter() {
        cs.interest.store(decide(cs), Ordering::Relaxed);
    }
}

/// Holds the call-site registry's lock until the result is dropped (across `fork`).
pub(crate) fn hold_for_fork() -> impl Sized + 'static {
    lock(&REGISTRY)
}

/// Looks up a registered call site by id (drain side, on a cache miss only).
pub(crate) fn lookup(id: u32) -> Option<&'static Callsite> {
    let reg = lock(&REGISTRY);
    reg.get((id as usize).checked_sub(1)?).copied()
}
