//! Interning: one description per distinct call site, however many segments describe it, kept
//! by one reader for as long as something refers to it.
use super::event::CallsiteInfo;
use std::collections::HashSet;
use std::sync::Arc;

/// Most call-site descriptions one reader holds at once. Far above any real program's (a
/// program has one per logging statement it runs), far below what a forged segment can hold.
pub const MAX_CALLSITES: usize = 1_000_000;

/// Most bytes of call-site descriptions (strings, parsed format strings and the descriptions
/// themselves, as made) one reader holds at once.
pub const MAX_CALLSITE_BYTES: usize = 256 << 20;

/// The call-site descriptions a reader holds: those that the segment being read, or a record or
/// notice not yet dropped, refers to, plus those let go since the last [`Interner::sweep`].
#[derive(Debug)]
pub(super) struct Interner {
    set: HashSet<Arc<CallsiteInfo>>,
    /// [`CallsiteInfo::footprint`] of everything in `set`.
    bytes: usize,
    max_callsites: usize,
    max_bytes: usize,
}

impl Default for Interner {
    fn default() -> Self {
        Interner::with_limits(MAX_CALLSITES, MAX_CALLSITE_BYTES)
    }
}

/// Adding a description would take an [`Interner`] past one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Full;

impl Interner {
    /// An interner that holds at most `max_callsites` descriptions of `max_bytes` in all.
    pub(super) fn with_limits(max_callsites: usize, max_bytes: usize) -> Interner {
        Interner {
            set: HashSet::new(),
            bytes: 0,
            max_callsites,
            max_bytes,
        }
    }

    /// The description equal to `info`: one already held, or `info`, added. `Full` if it is
    /// new and would not fit, even after letting go of what nothing refers to any more.
    pub(super) fn callsite(&mut self, info: CallsiteInfo) -> Result<Arc<CallsiteInfo>, Full> {
        if let Some(found) = self.set.get(&info) {
            return Ok(found.clone());
        }
        let size = info.footprint();
        let fits = |i: &Interner| {
            i.set.len() < i.max_callsites && i.bytes.saturating_add(size) <= i.max_bytes
        };
        if !fits(self) {
            self.sweep();
            if !fits(self) {
                return Err(Full);
            }
        }
        let new = Arc::new(info);
        self.set.insert(new.clone());
        self.bytes += size;
        Ok(new)
    }

    /// Lets go of the descriptions nothing but this interner refers to.
    pub(super) fn sweep(&mut self) {
        let bytes = &mut self.bytes;
        // A count of one is this set's own reference: no other can appear without it.
        self.set.retain(|cs| {
            let keep = Arc::strong_count(cs) > 1;
            if !keep {
                *bytes -= cs.footprint();
            }
            keep
        });
    }

    /// The limits: descriptions, and their bytes.
    pub(super) fn limits(&self) -> (usize, usize) {
        (self.max_callsites, self.max_bytes)
    }

    /// Descriptions held, and their bytes.
    #[cfg(test)]
    pub(super) fn held(&self) -> (usize, usize) {
        (self.set.len(), self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::super::walk::parse_callsite;
    use super::super::walk::testing::build_callsite;
    use super::*;

    #[test]
    fn call_sites_are_interned_by_what_the_segment_says() {
        let mut i = Interner::default();
        let mut cs = |fmt: &str, names: &[&str], fields: usize| {
            let info = parse_callsite(&build_callsite(fmt, names, fields))
                .unwrap()
                .1;
            i.callsite(info).unwrap()
        };
        // Described again (as each segment does): the same description.
        assert!(Arc::ptr_eq(&cs("x {}", &[""], 1), &cs("x {}", &[""], 1)));
        // Anything said differently: another one.
        assert!(!Arc::ptr_eq(&cs("x {}", &[""], 1), &cs("x {}", &[""], 0)));
        assert!(!Arc::ptr_eq(&cs("x {}", &[""], 1), &cs("y {}", &[""], 1)));
        assert!(!Arc::ptr_eq(
            &cs("x {a}", &["a"], 1),
            &cs("x {b}", &["b"], 1)
        ));
        let mut p = build_callsite("x {}", &[""], 1);
        p[4] = 9; // the line
        let other_line = i.callsite(parse_callsite(&p).unwrap().1).unwrap();
        assert_eq!(other_line.line, 9);
        let same_line = i.callsite(parse_callsite(&p).unwrap().1).unwrap();
        assert!(Arc::ptr_eq(&other_line, &same_line));
        let first = parse_callsite(&build_callsite("x {}", &[""], 1)).unwrap().1;
        assert!(!Arc::ptr_eq(&i.callsite(first).unwrap(), &other_line));
    }

    #[test]
    fn what_nothing_refers_to_goes_at_the_next_sweep_or_when_the_limits_are_reached() {
        let info = |n: usize| {
            let fmt = format!("call site {n} {{}}");
            parse_callsite(&build_callsite(&fmt, &[""], 0)).unwrap().1
        };
        let one = info(0).footprint();
        let mut i = Interner::with_limits(3, 10 * one);
        let kept = i.callsite(info(0)).unwrap();
        for n in 1..3 {
            i.callsite(info(n)).unwrap();
        }
        assert_eq!(i.held().0, 3);
        // Full: the two nobody holds make room.
        let held = i.callsite(info(3)).unwrap();
        assert_eq!(i.held().0, 2);
        i.callsite(info(4)).unwrap();
        // Full of descriptions still referred to (after the sweep lets `info(4)` go, two are).
        let also = i.callsite(info(5)).unwrap();
        assert!(i.callsite(info(6)).is_err());
        // Still found when asked for again, full or not.
        assert!(Arc::ptr_eq(&i.callsite(info(0)).unwrap(), &kept));
        drop((kept, held, also));
        i.sweep();
        assert_eq!(i.held(), (0, 0));
        // The byte limit holds as the count limit does.
        let mut i = Interner::with_limits(100, 2 * one + one / 2);
        let a = i.callsite(info(0)).unwrap();
        let b = i.callsite(info(1)).unwrap();
        assert!(i.callsite(info(2)).is_err());
        drop((a, b));
        assert!(i.callsite(info(2)).is_ok());
    }
}
