//! Interning: one description per distinct call site, however many segments describe it, kept
//! by one reader for as long as something refers to it.
use super::event::CallsiteInfo;
use std::collections::HashSet;
use std::sync::Arc;

/// The call-site descriptions a reader holds: those that the segment being read, or a record or
/// notice not yet dropped, refers to, plus those let go since the last [`Interner::sweep`].
#[derive(Debug, Default)]
pub(super) struct Interner {
    set: HashSet<Arc<CallsiteInfo>>,
    /// [`CallsiteInfo::footprint`] of everything in `set`.
    bytes: usize,
}

impl Interner {
    /// The description equal to `info`: one already held, or `info`, added.
    pub(super) fn callsite(&mut self, info: CallsiteInfo) -> Arc<CallsiteInfo> {
        if let Some(found) = self.set.get(&info) {
            return found.clone();
        }
        self.bytes += info.footprint();
        let new = Arc::new(info);
        self.set.insert(new.clone());
        new
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
            i.callsite(info)
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
        let other_line = i.callsite(parse_callsite(&p).unwrap().1);
        assert_eq!(other_line.line, 9);
        let same_line = i.callsite(parse_callsite(&p).unwrap().1);
        assert!(Arc::ptr_eq(&other_line, &same_line));
        let first = parse_callsite(&build_callsite("x {}", &[""], 1)).unwrap().1;
        assert!(!Arc::ptr_eq(&i.callsite(first), &other_line));
    }

    #[test]
    fn what_nothing_refers_to_goes_at_the_next_sweep() {
        let info = |n: usize| {
            let fmt = format!("call site {n} {{}}");
            parse_callsite(&build_callsite(&fmt, &[""], 0)).unwrap().1
        };
        let mut i = Interner::default();
        let kept = i.callsite(info(0));
        for n in 1..3 {
            i.callsite(info(n));
        }
        assert_eq!(i.held().0, 3);
        i.sweep();
        assert_eq!(i.held(), (1, kept.footprint()));
        assert!(Arc::ptr_eq(&i.callsite(info(0)), &kept));
        drop(kept);
        i.sweep();
        assert_eq!(i.held(), (0, 0));
    }
}
