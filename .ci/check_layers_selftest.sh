#!/usr/bin/env bash
# Tests .ci/check-layers.sh on two small crates made here, whose edges and cycles are known:
# cycles made by inline paths only, by `super::` and `super::super::`, by a grouped use over
# several lines and through a re-export of the crate root; and paths that must not count (doc,
# line and block comments, strings, `#[doc = ".."]`, `$crate::`, `#[cfg(test)]` code in the
# middle and at the end of a file, a `#[cfg(loom)]` module and items, `pub(in crate::..)`, a
# parent's relative path to its child, the crate root's own code).
# Usage: .ci/check_layers_selftest.sh     (exits non-zero on a wrong answer)
set -euo pipefail
check="$(cd "$(dirname "$0")" && pwd)/check-layers.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect NAME WANTED_STATUS COMMAND... ; the wanted output on stdin
expect() {
  local name="$1" want_rc="$2"; shift 2
  cat >"$tmp/want"
  local rc=0
  "$@" >"$tmp/got" 2>"$tmp/err" || rc=$?
  if ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
    echo "FAIL $name: output differs (- wanted, + got)"; cat "$tmp/diff"; fail=1
  elif [ "$rc" -ne "$want_rc" ]; then
    echo "FAIL $name: exit status $rc, wanted $want_rc"; cat "$tmp/err"; fail=1
  else
    echo "ok   $name"
  fi
}

# --- crate 1: four cycles -------------------------------------------------------------------
mkdir -p "$tmp/one/src/p"
cd "$tmp/one/src"
cat >lib.rs <<'EOF'
//! Root docs mention crate::a::f, which is no edge.
#[macro_use]
mod macros;
mod a;
mod b;
mod c;
mod d;
mod e;
mod f;
mod g;
pub mod p;
#[path = "renamed.rs"]
mod h;
#[cfg(loom)]
#[doc(hidden)]
#[path = "harness.rs"]
pub mod __harness;

pub use d::D;

#[doc(hidden)]
pub mod __private {
    pub use crate::f::F;
    pub fn go() -> crate::h::H {
        crate::h::H
    }
}

fn root_only() {
    crate::a::f();
}
EOF
cat >macros.rs <<'EOF'
macro_rules! call_a {
    () => {
        $crate::a::f()
    };
    ($x:expr) => {{
        use $crate::b::g;
        g() + $x
    }};
}
EOF
cat >a.rs <<'EOF'
pub fn f() -> u32 {
    crate::b::g() + 1
}
pub fn uses_g() -> crate::g::G {
    crate::g::G
}
#[cfg(loom)]
pub fn x() {
    crate::__harness::y()
}
pub fn list() -> Vec<u32> {
    vec![]
}
EOF
cat >b.rs <<'EOF'
pub fn g() -> u32 {
    let q = '"';
    let s = "crate::e::E1 \" crate::e::E2";
    let r = r#"a "raw" string: "crate::e::E2" "#;
    let lt: &'static str = s;
    if q == '\'' { 0 } else { crate::a::f() }
}
EOF
cat >c.rs <<'EOF'
pub struct C;
pub fn c() {
    let _ = crate::p::s::s;
}
EOF
cat >d.rs <<'EOF'
use crate::{
    e::{E1,
        E2},
    f::F,
};
pub struct D;
EOF
cat >e.rs <<'EOF'
pub struct E1;
pub struct E2;
pub fn e() -> crate::D {
    crate::D
}
EOF
cat >f.rs <<'EOF'
//! Module docs: [`crate::d::D`].
/// See [`crate::d::D`] and crate::e::E1.
pub struct F; // crate::d::D in a trailing comment
/* block crate::d::D /* nested crate::e::E1 */ still a comment: crate::d::D */
#[doc = "crate::d::D"]
pub fn f() {}
EOF
cat >g.rs <<'EOF'
pub struct G;
#[cfg(test)]
fn helper() -> u32 {
    crate::a::f()
}
pub fn after() {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::a::f;
    #[test]
    fn t() {
        assert_eq!(crate::b::g(), f());
    }
}
EOF
cat >renamed.rs <<'EOF'
pub struct H;
pub fn h() {
    for x in crate::a::list() {
        let _ = (x, crate::c::C);
    }
}
EOF
cat >harness.rs <<'EOF'
use crate::a::f;
pub fn y() {
    f();
}
EOF
cat >p/mod.rs <<'EOF'
pub mod q;
pub mod r;
pub mod s;
pub use q::Q;
pub struct P;
EOF
cat >p/q.rs <<'EOF'
use super::r::R;
pub struct Q(R);
pub(in crate::p) fn qq() {}
pub(crate) fn qc() {}
EOF
cat >p/r.rs <<'EOF'
pub struct R;
pub(super) fn r() -> super::q::Q {
    super::q::Q(R)
}
EOF
cat >p/s.rs <<'EOF'
use super::P;
pub fn s() -> (P, super::super::c::C) {
    (P, super::super::c::C)
}
EOF
cd "$tmp/one"

expect "graph" 0 "$check" --graph src <<'EOF'
__private -> f
__private -> h
a -> b
a -> g
b -> a
c -> p::s
d -> e
d -> f
e -> d
h -> a
h -> c
p::q -> p::r
p::r -> p::q
p::s -> c
p::s -> p

cycle (2 modules): a b
cycle (2 modules): c p::s
cycle (2 modules): d e
cycle (2 modules): p::q p::r
EOF

expect "floors" 0 "$check" --floors src <<'EOF'
floor 1: 6 modules, 44 lines
  f               6
  g              16
  macros          9
  p               5
  p::q            4  (cycle)
  p::r            4  (cycle)
floor 2: 6 modules, 39 lines
  a              13  (cycle)
  b               7  (cycle)
  c               4  (cycle)
  d               6  (cycle)
  e               5  (cycle)
  p::s            4  (cycle)
floor 3: 1 module, 6 lines
  h               6
floor 4: 1 module, 6 lines
  __private       6
total: 14 modules, 95 lines
EOF

expect "check (cycles)" 1 "$check" src <<'EOF'
check-layers: import cycle among 2 modules: a, b
  a -> b  src/a.rs:2
  b -> a  src/b.rs:6
check-layers: import cycle among 2 modules: c, p::s
  c -> p::s  src/c.rs:3
  p::s -> c  src/p/s.rs:2
check-layers: import cycle among 2 modules: d, e
  d -> e  src/d.rs:2
  e -> d  src/e.rs:3
check-layers: import cycle among 2 modules: p::q, p::r
  p::q -> p::r  src/p/q.rs:1
  p::r -> p::q  src/p/r.rs:2
EOF

# With loom's code scanned, the harness module and its edges appear.
expect "--cfg loom" 0 sh -c "\"$check\" --graph --cfg loom src | grep harness" <<'EOF'
__harness -> a
a -> __harness
cycle (3 modules): __harness a b
EOF

# --- crate 2: no cycle; a binary root (main.rs), foo/mod.rs and foo/bar.rs --------------------
mkdir -p "$tmp/two/src/x"
cd "$tmp/two/src"
cat >main.rs <<'EOF'
mod x;
mod y;
fn main() {
    crate::y::run()
}
EOF
cat >x/mod.rs <<'EOF'
pub mod inner;
pub fn x() {}
EOF
cat >x/inner.rs <<'EOF'
pub fn i() {
    super::x()
}
EOF
cat >y.rs <<'EOF'
pub fn run() {
    crate::x::inner::i()
}
EOF
cd "$tmp/two"

expect "graph (no cycle)" 0 "$check" --graph src <<'EOF'
x::inner -> x
y -> x::inner

no cycle among 3 modules
EOF

expect "check (no cycle)" 0 "$check" src <<'EOF'
check-layers: no import cycle among 3 modules
EOF

if [ "$fail" -ne 0 ]; then
  echo "check_layers_selftest: the checker gave a wrong answer" >&2
  exit 1
fi
echo "check_layers_selftest: all passed"
