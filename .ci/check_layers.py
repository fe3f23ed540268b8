#!/usr/bin/env python3
"""Import layering of one crate's modules: fails on an import cycle, prints the module graph.

Usage: check_layers.py [--graph | --floors] [--cfg NAME]... [DIR]
  (no flag)  what CI runs: one line if there is no cycle; otherwise each cycle with the edges
             that form it (file:line of one occurrence of each) and exit status 1.
  --graph    every edge `a -> b`, sorted, then the cycles (strongly connected components).
  --floors   modules by floor, with line counts and the total per floor. Floor 1 imports
             nothing inside the crate; floor n is 1 + the highest floor of what it imports,
             on the graph with each cycle collapsed to one node.
  --cfg NAME treat `#[cfg(NAME)]` as enabled (`test` and `loom` are off by default; see below).
  DIR        the crate's source directory (default: src/ of this repository). Its root is
             lib.rs, or main.rs when there is no lib.rs.
--graph and --floors are for reading and exit 0; only the default mode fails on a cycle.

The rules (what is a module, what is an edge):
- Modules are found by following `mod` declarations from the crate root, so `#[path = "..."]`
  is honoured: src/foo.rs and src/foo/mod.rs are `foo`, src/foo/bar.rs is `foo::bar`. A .rs
  file that no declaration reaches is not part of the crate (main.rs beside lib.rs is a crate
  of its own, a binary, and reaches the library by its name, not by `crate::`).
- An edge a -> b is a `crate::` or `super::` path (`super::super::` too, resolved from the
  module the path is written in, inline modules included) in module a, in a `use` (grouped
  trees such as `use crate::{a::X, b::{Y, Z}}` across lines included) or inline in code
  (`crate::engine::MAX_LEVEL.load(..)`), whose longest prefix naming a module is b:
  `crate::reader::merge::Window` is `reader::merge`, `crate::reader::Event` is `reader`.
  `crate::Name` with no module in it goes through the root's `use`/`pub use` items: with
  `pub use level::Level;` in lib.rs, `crate::Level` is an edge to `level`.
- Not edges: `self::` paths and relative ones (`load::x`), which stay inside a module and the
  children it declares; `$crate::` (macro expansions, which belong to the caller's code); `mod`
  declarations; `pub(in crate::x)` visibilities; paths in comments (doc comments included,
  so [`crate::x`] links do not count), in string literals and in attributes; an edge from a
  module to itself (a file's inline modules are part of it).
- A module and its ancestors are modules like any other: `super::Event` in reader::merge is
  the edge reader::merge -> reader, and counts. A parent reaching its own children through a
  relative path (`load::x` in reader) is not seen, so a parent/child cycle made that way (the
  usual facade of a module and its private parts) is not reported.
- The crate root (lib.rs) is exempt: its re-exports and `mod` lines are not edges and it is no
  node of the graph. A module defined inline in lib.rs (`pub mod __private { .. }`) is a node
  of its own, named by its path (`__private`); its paths count like any module's.
- Test-only code is not scanned: an item under `#[cfg(test)]` or `#[cfg(loom)]` (a `mod tests
  { .. }` block, wherever it sits in the file: blocks are matched brace by brace, comments and
  strings set aside; a `use`, fn, field or statement under such an attribute), a module
  declared under one (`#[cfg(loom)] #[path = "loom_harness.rs"] pub mod __loom;`; paths into it
  are not edges either) and a file starting with `#![cfg(test)]`. Other cfgs (features) are
  scanned: shipped code. Only the plain forms `cfg(test)` and `cfg(loom)` are recognised.
- Line counts (--floors) are the lines of a module's file, tests included; for a module
  defined inline in lib.rs, the lines of its block.
"""
import argparse
import os
import re
import sys
from collections import defaultdict

TEST_CFGS = {"test", "loom"}
EXCLUDED = object()  # a test-only module: paths into it are not edges

IDENT = re.compile(r"[^\W\d]\w*")
NUMBER = re.compile(r"\d\w*(?:\.\d\w*)?")
CHAR = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]*\}|.)|[^\\'\n])'")
ITEM_KEYWORDS = {
    "fn", "mod", "struct", "enum", "union", "impl", "trait", "use", "const", "static", "type",
    "unsafe", "extern", "async", "macro_rules", "default", "auto",
}


class Tok:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind, self.text, self.line = kind, text, line

    def __repr__(self):
        return f"{self.kind}:{self.text}@{self.line}"


def tokenize(src):
    """Rust tokens with their line; comments dropped, strings and chars kept as one token."""
    toks = []
    i, n, line = 0, len(src), 1

    def string_end(k):  # k: index of the opening quote of a (non-raw) string
        k += 1
        while k < n and src[k] != '"':
            k += 2 if src[k] == "\\" else 1
        return min(k + 1, n)

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c.isspace():
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            line += src.count("\n", i, j)
            i = j
            continue
        m = IDENT.match(src, i)
        if m:
            word, j = m.group(), m.end()
            if word in ("r", "br", "cr") and j < n and src[j] in '"#':
                k = j
                while k < n and src[k] == "#":
                    k += 1
                hashes = k - j
                if k < n and src[k] == '"':
                    close = '"' + "#" * hashes
                    end = src.find(close, k + 1)
                    end = n if end < 0 else end + len(close)
                    toks.append(Tok("str", src[k + 1 : end - len(close)], line))
                    line += src.count("\n", i, end)
                    i = end
                    continue
                if word == "r" and hashes == 1:  # raw identifier r#name
                    m2 = IDENT.match(src, k)
                    if m2:
                        toks.append(Tok("ident", m2.group(), line))
                        i = m2.end()
                        continue
            if word in ("b", "c") and j < n and src[j] == '"':
                end = string_end(j)
                toks.append(Tok("str", src[j + 1 : end - 1], line))
                line += src.count("\n", i, end)
                i = end
                continue
            if word == "b" and j < n and src[j] == "'":
                m2 = CHAR.match(src, j)
                if m2:
                    toks.append(Tok("char", m2.group(), line))
                    i = m2.end()
                    continue
            toks.append(Tok("ident", word, line))
            i = j
            continue
        if c == '"':
            end = string_end(i)
            toks.append(Tok("str", src[i + 1 : end - 1], line))
            line += src.count("\n", i, end)
            i = end
            continue
        if c == "'":
            m = CHAR.match(src, i)
            if m:
                toks.append(Tok("char", m.group(), line))
                i = m.end()
                continue
            m = IDENT.match(src, i + 1)
            if m:
                toks.append(Tok("lifetime", "'" + m.group(), line))
                i = m.end()
                continue
            toks.append(Tok("punct", c, line))
            i += 1
            continue
        m = NUMBER.match(src, i)
        if m:
            toks.append(Tok("num", m.group(), line))
            i = m.end()
            continue
        if src.startswith("::", i):
            toks.append(Tok("punct", "::", line))
            i += 2
            continue
        toks.append(Tok("punct", c, line))
        i += 1
    return toks


class FileScan:
    """What one file says: its `mod` declarations, inline modules and crate/super paths."""

    def __init__(self):
        self.test_only = False
        self.decls = []  # (inline stack, name, path attribute or None, test-only, line)
        self.inline = []  # (inline stack + [name], first line, last line)
        self.paths = []  # (inline stack, segments, line)
        self.uses = []  # (inline stack, segments, alias, line, outside any block?): `use` leaves


def scan(src, enabled_cfgs):
    toks = tokenize(src)
    out = FileScan()
    n = len(toks)
    test_cfgs = TEST_CFGS - set(enabled_cfgs)

    def text(k):
        return toks[k].text if k < n else ""

    def kind(k):
        return toks[k].kind if k < n else ""

    def parse_attr(k):
        """k at '#'. Returns (end index, inner?, test-only?, path attribute or None)."""
        inner = text(k + 1) == "!"
        k += 2 if inner else 1
        start, depth = k, 0
        while k < n:
            t = text(k)
            if kind(k) == "punct" and t in "([{":
                depth += 1
            elif kind(k) == "punct" and t in ")]}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        body = toks[start + 1 : k]  # without the brackets
        words = [(t.kind, t.text) for t in body]
        test = (
            len(words) == 4
            and words[0] == ("ident", "cfg")
            and words[1] == ("punct", "(")
            and words[2][0] == "ident"
            and words[2][1] in test_cfgs
            and words[3] == ("punct", ")")
        )
        path = None
        if len(words) == 3 and words[0] == ("ident", "path") and words[1] == ("punct", "="):
            path = body[2].text if body[2].kind == "str" else None
        return k + 1, inner, test, path

    def skip_visibility(k):
        if text(k) == "pub":
            k += 1
            if text(k) == "(":
                depth = 0
                while k < n:
                    if text(k) == "(":
                        depth += 1
                    elif text(k) == ")":
                        depth -= 1
                        if depth == 0:
                            return k + 1
                    k += 1
        return k

    def skip_item(k):
        """k at the first token after the attributes of an item, field, arm or statement."""
        j = skip_visibility(k)
        while text(j) == "#":  # further attributes
            j, _, _, _ = parse_attr(j)
            j = skip_visibility(j)
        k = j
        is_item = text(k) in ITEM_KEYWORDS
        is_let = text(k) == "let"
        depth = 0
        while k < n:
            t, kd = text(k), kind(k)
            if kd == "punct" and t in "([{":
                depth += 1
            elif kd == "punct" and t in ")]}":
                depth -= 1
                if depth < 0:
                    return k
                if depth == 0 and t == "}" and not is_let:
                    return k + 1
            elif kd == "punct" and depth == 0 and (t == ";" or (t == "," and not is_item)):
                return k + 1
            k += 1
        return k

    def parse_use(k, stack):
        """k just after `use`. Records the leaves; returns the index after the `;`."""

        def tree(k, prefix):
            if text(k) == "::" and not prefix:
                k += 1
            if text(k) == "{":
                k += 1
                while k < n and text(k) != "}":
                    before = k
                    k = tree(k, prefix)
                    if text(k) == "," or k == before:
                        k += 1
                return k + 1
            if text(k) == "*":
                out.uses.append((stack, prefix + ["*"], None, toks[k].line, not braces))
                return k + 1
            segs = list(prefix)
            line = toks[k].line if k < n else 0
            while kind(k) == "ident":
                segs.append(text(k))
                line = toks[k].line
                if text(k + 1) == "::":
                    if text(k + 2) in ("{", "*"):
                        return tree(k + 2, segs)
                    k += 2
                else:
                    k += 1
                    break
            alias = None
            if text(k) == "as":
                alias = text(k + 1)
                k += 2
            if segs and segs[-1] == "self":
                segs.pop()
            if segs:
                out.uses.append((stack, segs, alias, line, not braces))
            return k

        while k < n and text(k) != ";":
            before = k
            # `use $crate::..` (in a macro) names the caller's crate: kept, but not as `crate`
            if text(k) == "$" and text(k + 1) == "crate" and text(k + 2) == "::":
                k = tree(k + 3, ["$crate"])
            else:
                k = tree(k, [])
            if k == before:
                k += 1  # not a use tree: step on rather than loop
        return k + 1

    braces = []  # per open brace: inline module name, or None
    pending_test, pending_path = False, None
    i = 0
    while i < n:
        t = toks[i]
        if t.kind == "punct" and t.text == "#" and text(i + 1) in ("[", "!"):
            end, inner, test, path = parse_attr(i)
            if inner:
                if test and not braces:
                    out.test_only = True
                    return out
            else:
                pending_test = pending_test or test
                pending_path = path or pending_path
            i = end
            continue
        stack = [b for b in braces if b is not None]
        if pending_test:
            j = skip_visibility(i)
            while text(j) == "#":
                j, _, _, _ = parse_attr(j)
                j = skip_visibility(j)
            if text(j) == "mod" and kind(j + 1) == "ident" and text(j + 2) == ";":
                out.decls.append((stack, text(j + 1), pending_path, True, toks[j].line))
            i = skip_item(i)
            pending_test, pending_path = False, None
            continue
        if t.text == "pub" and t.kind == "ident":
            i = skip_visibility(i)  # pending attributes still apply to the item
            continue
        if t.kind == "ident" and t.text == "mod" and kind(i + 1) == "ident":
            name = text(i + 1)
            if text(i + 2) == ";":
                out.decls.append((stack, name, pending_path, False, t.line))
                i += 3
            elif text(i + 2) == "{":
                braces.append(name)
                out.inline.append((stack + [name], t.line, None))
                i += 3
            else:
                i += 2
            pending_test, pending_path = False, None
            continue
        pending_test, pending_path = False, None
        if t.kind == "ident" and t.text == "use" and text(i + 1) != "<":  # not `impl T + use<'a>`
            i = parse_use(i + 1, stack)
            continue
        if t.kind == "punct" and t.text == "{":
            braces.append(None)
        elif t.kind == "punct" and t.text == "}":
            if braces:
                name = braces.pop()
                if name is not None:
                    full = stack
                    for idx in range(len(out.inline) - 1, -1, -1):
                        if out.inline[idx][0] == full and out.inline[idx][2] is None:
                            out.inline[idx] = (full, out.inline[idx][1], t.line)
                            break
        elif (
            t.kind == "ident"
            and t.text in ("crate", "super")
            and text(i + 1) == "::"
            and not (i > 0 and text(i - 1) in ("$", "::"))
        ):
            segs, k = [t.text], i
            while text(k + 1) == "::" and kind(k + 2) == "ident":
                segs.append(text(k + 2))
                k += 2
            out.paths.append((stack, segs, t.line))
            i = k + 1
            continue
        i += 1
    return out


def is_mod_rs(path):
    return os.path.basename(path) in ("lib.rs", "main.rs", "mod.rs")


class Crate:
    def __init__(self, srcdir, enabled_cfgs):
        self.srcdir = srcdir
        root = None
        for name in ("lib.rs", "main.rs"):
            if os.path.isfile(os.path.join(srcdir, name)):
                root = os.path.join(srcdir, name)
                break
        if root is None:
            sys.exit(f"check-layers: no lib.rs or main.rs in {srcdir}")
        self.root = root
        self.notes = []
        self.modmap = {}  # module path -> node name, or EXCLUDED
        self.node_file = {}  # node -> file
        self.node_lines = {}  # node -> line count
        self.scans = []  # (file, module path as list, FileScan)
        seen = set()
        queue = [(root, [])]
        while queue:
            path, mod = queue.pop(0)
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            with open(path, encoding="utf-8") as f:
                src = f.read()
            fs = scan(src, enabled_cfgs)
            name = "::".join(mod)
            if fs.test_only:
                self.modmap[name] = EXCLUDED
                continue
            if mod:
                self.modmap[name] = name
                self.node_file[name] = path
                self.node_lines[name] = src.count("\n") + (0 if src.endswith("\n") or not src else 1)
            for stack, first, last in fs.inline:
                full = "::".join(mod + stack)
                if mod:
                    self.modmap[full] = name
                else:  # inline in the root: a node named after its top-level module
                    top = stack[0]
                    self.modmap[full] = top
                    if len(stack) == 1:
                        self.node_file[top] = path
                        self.node_lines[top] = (last or first) - first + 1
            self.scans.append((path, mod, fs))
            base = os.path.dirname(path)
            for stack, decl, attr, test, line in fs.decls:
                child = mod + stack + [decl]
                if test:
                    self.modmap["::".join(child)] = EXCLUDED
                if attr is not None:
                    if stack:
                        d = base if is_mod_rs(path) else os.path.join(base, os.path.splitext(os.path.basename(path))[0])
                        cand = [os.path.join(d, *stack, attr)]
                    else:
                        cand = [os.path.join(base, attr)]
                else:
                    d = base if is_mod_rs(path) else os.path.join(base, os.path.splitext(os.path.basename(path))[0])
                    d = os.path.join(d, *stack)
                    cand = [os.path.join(d, decl + ".rs"), os.path.join(d, decl, "mod.rs")]
                found = next((c for c in cand if os.path.isfile(c)), None)
                if found is None:
                    self.notes.append(f"{rel(path)}:{line}: no file for module {'::'.join(child)}")
                    continue
                if test:
                    seen.add(os.path.realpath(found))
                    continue
                queue.append((found, child))
        for dirpath, dirnames, files in os.walk(srcdir):
            dirnames.sort()
            for f in sorted(files):
                p = os.path.join(dirpath, f)
                if f.endswith(".rs") and os.path.realpath(p) not in seen:
                    if f == "main.rs" and dirpath == srcdir or os.path.basename(dirpath) == "bin":
                        why = "a crate root of its own"
                    else:
                        why = "no `mod` declaration reaches it"
                    self.notes.append(f"{rel(p)}: not scanned ({why})")
        self.reexports = {}
        for path, mod, fs in self.scans:
            if mod:
                continue
            for stack, segs, alias, line, top in fs.uses:
                if not top or segs[-1] == "*":
                    continue
                target = segs[1:] if segs[0] in ("crate", "self") else segs
                node = self.resolve(target, root_names=False)
                if node is not None:
                    self.reexports[alias or segs[-1]] = node
        # A module's own `use` items are names other modules can path through (`pub(crate) use
        # drain::Drain;` in backend/mod.rs makes `crate::backend::Drain` an edge to
        # `backend::drain`, not to `backend`).
        self.mod_reexports = {}
        for path, mod, fs in self.scans:
            if not mod:
                continue
            for stack, segs, alias, line, top in fs.uses:
                if not top or segs[-1] == "*" or stack:
                    continue
                if segs[0] == "crate":
                    target = segs[1:]
                elif segs[0] == "self":
                    target = mod + segs[1:]
                elif segs[0] == "super":
                    ups = 0
                    while ups < len(segs) and segs[ups] == "super":
                        ups += 1
                    if ups > len(mod):
                        continue
                    target = mod[: len(mod) - ups] + segs[ups:]
                elif "::".join(mod + segs[:1]) in self.modmap:
                    target = mod + segs
                else:
                    continue  # an external crate
                node = self.resolve(target)
                here = self.modmap.get("::".join(mod))
                if node is not None and node is not EXCLUDED and node != here:
                    self.mod_reexports["::".join(mod + [alias or segs[-1]])] = node
        self.edges = {}  # (a, b) -> (file, line) of the first occurrence
        for path, mod, fs in self.scans:
            items = [(stack, segs, line) for stack, segs, line in fs.paths]
            items += [(st, segs, line) for st, segs, _, line, _ in fs.uses if segs[0] in ("crate", "super")]
            for stack, segs, line in sorted(items, key=lambda x: x[2]):
                here = mod + stack
                src_node = self.modmap.get("::".join(here)) if here else None
                if src_node is None or src_node is EXCLUDED:
                    continue  # the crate root
                if segs[0] == "crate":
                    target = segs[1:]
                else:
                    ups = 0
                    while ups < len(segs) and segs[ups] == "super":
                        ups += 1
                    if ups > len(here):
                        continue
                    target = here[: len(here) - ups] + segs[ups:]
                dst = self.resolve([s for s in target if s != "*"])
                if dst is None or dst is EXCLUDED or dst == src_node:
                    continue
                self.edges.setdefault((src_node, dst), (path, line))
        self.nodes = sorted(n for n in set(self.node_file))

    def resolve(self, segs, root_names=True):
        reexports = getattr(self, "mod_reexports", {})
        for k in range(len(segs), 0, -1):
            hit = reexports.get("::".join(segs[:k])) or self.modmap.get("::".join(segs[:k]))
            if hit is not None:
                return hit
        if root_names and segs and segs[0] in self.reexports:
            return self.reexports[segs[0]]
        return None


def rel(path):
    return os.path.relpath(path)


def sccs(nodes, succ):
    """Tarjan's algorithm, iterative. Returns the components, each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(succ[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(succ[w]))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def main():
    ap = argparse.ArgumentParser(
        prog="check-layers.sh",
        description="Fails on an import cycle among a crate's modules; prints the module graph.",
        epilog="The rules are at the top of .ci/check_layers.py.",
    )
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--graph", action="store_true", help="print the edges and the cycles")
    mode.add_argument("--floors", action="store_true", help="print the modules by floor")
    ap.add_argument("--cfg", action="append", default=[], metavar="NAME",
                    help="scan code under #[cfg(NAME)] too (test, loom)")
    ap.add_argument("dir", nargs="?", help="the crate's source directory (default: src/)")
    args = ap.parse_args()
    srcdir = args.dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    srcdir = os.path.normpath(srcdir)
    if not os.path.isdir(srcdir):
        sys.exit(f"check-layers: {srcdir}: not a directory")
    crate = Crate(srcdir, args.cfg)

    succ = defaultdict(set)
    for a, b in crate.edges:
        succ[a].add(b)
    for v in crate.nodes:
        succ[v]
    comps = sccs(crate.nodes, succ)
    cycles = sorted(c for c in comps if len(c) > 1)

    if args.graph or args.floors:
        for note in crate.notes:
            print(f"note: {note}", file=sys.stderr)

    if args.graph:
        for a, b in sorted(crate.edges):
            print(f"{a} -> {b}")
        print()
        if cycles:
            for c in cycles:
                print(f"cycle ({len(c)} modules): {' '.join(c)}")
        else:
            print(f"no cycle among {len(crate.nodes)} modules")
        return 0

    if args.floors:
        comp_of = {v: i for i, c in enumerate(comps) for v in c}
        floor = {}
        for i, c in enumerate(comps):  # Tarjan emits a component after all it reaches
            above = [floor[comp_of[w]] for v in c for w in succ[v] if comp_of[w] != i]
            floor[i] = 1 + max(above, default=0)
        by_floor = defaultdict(list)
        for v in crate.nodes:
            by_floor[floor[comp_of[v]]].append(v)
        width = max((len(v) for v in crate.nodes), default=0)
        total = 0
        for f in sorted(by_floor):
            mods = sorted(by_floor[f])
            lines = sum(crate.node_lines[v] for v in mods)
            total += lines
            print(f"floor {f}: {len(mods)} module{'s' if len(mods) != 1 else ''}, {lines} lines")
            for v in mods:
                mark = "  (cycle)" if len(comps[comp_of[v]]) > 1 else ""
                print(f"  {v:<{width}}  {crate.node_lines[v]:>6}{mark}")
        print(f"total: {len(crate.nodes)} modules, {total} lines")
        return 0

    if not cycles:
        print(f"check-layers: no import cycle among {len(crate.nodes)} modules")
        return 0
    for c in cycles:
        members = set(c)
        print(f"check-layers: import cycle among {len(c)} modules: {', '.join(c)}")
        inside = sorted((a, b) for (a, b) in crate.edges if a in members and b in members)
        width = max(len(f"{a} -> {b}") for a, b in inside)
        for a, b in inside:
            path, line = crate.edges[(a, b)]
            print(f"  {a + ' -> ' + b:<{width}}  {rel(path)}:{line}")
    print(f"check-layers: {len(cycles)} import cycle{'s' if len(cycles) != 1 else ''} in "
          f"{rel(srcdir)}: a module must not import, directly or not, one that imports it",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
