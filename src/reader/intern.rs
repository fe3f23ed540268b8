//! Interning: one description per distinct call site, however many segments describe it.
use super::event::CallsiteInfo;
use std::collections::HashSet;
use std::sync::Mutex;

/// The interned description equal to `info` (see [`CallsiteInfo`]). Bounded by the distinct
/// call sites in the input, as [`intern`] is by the distinct strings.
pub(super) fn intern_callsite(info: CallsiteInfo) -> &'static CallsiteInfo {
    static SET: Interned<CallsiteInfo> = Mutex::new(None);
    intern_in(&SET, info)
}

/// A set of values kept for the life of the process.
type Interned<T> = Mutex<Option<HashSet<&'static T>>>;

/// The value in `set` equal to `v`, added if there is none.
fn intern_in<T, B>(set: &Interned<T>, v: B) -> &'static T
where
    T: ?Sized + Eq + std::hash::Hash + 'static,
    B: std::borrow::Borrow<T> + Into<Box<T>>,
{
    let mut g = set.lock().unwrap_or_else(|e| e.into_inner());
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(&found) = set.get(v.borrow()) {
        return found;
    }
    let new: &'static T = Box::leak(v.into());
    set.insert(new);
    new
}

/// Interns strings for the life of the process, so parsed format strings can be shared by
/// every record of a call site. Bounded by the distinct strings in the input.
pub(super) fn intern(s: &str) -> &'static str {
    static SET: Interned<str> = Mutex::new(None);
    intern_in(&SET, s)
}

#[cfg(test)]
mod tests {
    use super::super::walk::parse_callsite;
    use super::super::walk::testing::build_callsite;
    use super::*;

    #[test]
    fn call_sites_and_format_strings_are_interned_by_what_the_segment_says() {
        let cs = |fmt: &str, names: &[&str], fields: usize| {
            intern_callsite(
                parse_callsite(&build_callsite(fmt, names, fields))
                    .unwrap()
                    .1,
            )
        };
        // Described again (as each segment does): the same description.
        assert!(std::ptr::eq(cs("x {}", &[""], 1), cs("x {}", &[""], 1)));
        // Anything said differently: another one.
        assert!(!std::ptr::eq(cs("x {}", &[""], 1), cs("x {}", &[""], 0)));
        assert!(!std::ptr::eq(cs("x {}", &[""], 1), cs("y {}", &[""], 1)));
        assert!(!std::ptr::eq(
            cs("x {a}", &["a"], 1),
            cs("x {b}", &["b"], 1)
        ));
        let mut p = build_callsite("x {}", &[""], 1);
        p[4] = 9; // the line
        let other_line = intern_callsite(parse_callsite(&p).unwrap().1);
        assert_eq!(other_line.line, 9);
        assert!(!std::ptr::eq(cs("x {}", &[""], 1), other_line));
        assert!(std::ptr::eq(
            intern("fmt {}"),
            intern(&String::from("fmt {}"))
        ));
    }
}
