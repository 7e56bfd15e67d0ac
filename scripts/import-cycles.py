#!/usr/bin/env python3
"""Import cycles between files, and files over a line limit, in every crate of the workspace.

For each target of each crate (the library, binaries, tests, examples, benches) this builds the
module tree from `mod` declarations (`foo.rs`, `foo/mod.rs`, `#[path]`, inline `mod x { }`), then
a graph of files: an edge A -> B when code in A names an item that B defines, through a `use`
(`use crate::..`, `use super::..`, `use self::..`, `use child::..`) or a path in code
(`crate::x::y`, `super::x`, `$crate::x`, `child::x`, or a path through a name bound by a `use`).
Paths are followed through re-exports (`pub use` in `lib.rs` or a `mod.rs`) to the file that
defines the item; a `pub use` is module-tree plumbing and adds no edge unless the file's own code
uses the name it binds, and a `mod` declaration adds none. Comments, doc comments and string literals are ignored.

It prints each strongly connected component of more than one file (an import cycle), with the
references that make its edges, then every `.rs` file under `crates/` over the line limit, and a
summary line. Exit status 1 with `--check` when there is a cycle or a file over the limit.

    python3 scripts/import-cycles.py [--check] [--max-lines 600] [--crate NAME].. [WORKSPACE_DIR]

Standard library only; the parsing is lexical (no macro expansion, no `cfg` evaluation: of two
`mod x;` declarations under different `cfg`s, the first wins).
"""

import argparse
import os
import re
import sys
import tomllib
from collections import defaultdict

KEYWORDS = {
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "union", "macro_rules",
}
ITEM_KEYWORDS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}


# ---------------------------------------------------------------------------------------------
# Lexing: identifiers, `::`, punctuation and string literals (kept for `#[path = ".."]`).
# ---------------------------------------------------------------------------------------------

def is_ident_start(c):
    return c.isalpha() or c == "_"


def is_ident_char(c):
    return c.isalnum() or c == "_"


def lex(text):
    """Tokens of Rust source as (kind, value, line): kind is 'id', 'str' or 'p' (punctuation)."""
    tokens = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    line += text[i] == "\n"
                    i += 1
        elif c == '"':
            i, value, line = lex_string(text, i + 1, line)
            tokens.append(("str", value, line))
        elif c == "'":
            if i + 1 < n and text[i + 1] == "\\":
                j = text.find("'", i + 2)
                while j > 0 and text[j - 1] == "\\" and text[j - 2] != "\\":
                    j = text.find("'", j + 1)
                i = n if j < 0 else j + 1
            elif i + 2 < n and text[i + 2] == "'":
                i += 3
            else:
                i += 1  # a lifetime or label: the identifier follows
        elif c == "$" and text.startswith("$crate", i):
            tokens.append(("id", "crate", line))
            i += 6
        elif is_ident_start(c):
            j = i
            while j < n and is_ident_char(text[j]):
                j += 1
            word = text[i:j]
            if word in ("r", "br", "cr") and j < n and text[j] in '#"':
                k = j
                while k < n and text[k] == "#":
                    k += 1
                if k < n and text[k] == '"':
                    end = text.find('"' + "#" * (k - j), k + 1)
                    end = n if end < 0 else end
                    tokens.append(("str", text[k + 1:end], line))
                    line += text.count("\n", k, end)
                    i = end + 1 + (k - j)
                    continue
                if word == "r" and k == j + 1:  # raw identifier r#name
                    m = k
                    while m < n and is_ident_char(text[m]):
                        m += 1
                    tokens.append(("id", text[k:m], line))
                    i = m
                    continue
            if word in ("b", "c") and j < n and text[j] in "\"'":
                i = j  # the literal follows
                continue
            tokens.append(("id", word, line))
            i = j
        elif c.isdigit():
            j = i
            while j < n and (is_ident_char(text[j]) or text[j] == "."
                             and j + 1 < n and text[j + 1].isdigit()):
                j += 1
            i = j
        elif text.startswith("::", i):
            tokens.append(("p", "::", line))
            i += 2
        else:
            tokens.append(("p", c, line))
            i += 1
    return tokens


def lex_string(text, i, line):
    out = []
    n = len(text)
    while i < n and text[i] != '"':
        if text[i] == "\\":
            out.append(text[i:i + 2])
            line += text[i + 1:i + 2] == "\n"
            i += 2
        else:
            line += text[i] == "\n"
            out.append(text[i])
            i += 1
    return i + 1, "".join(out), line


# ---------------------------------------------------------------------------------------------
# Parsing one file: module declarations, `use` trees, item names and paths, each in its module.
# ---------------------------------------------------------------------------------------------

class Module:
    def __init__(self, file, dir_for_children):
        self.file = file
        self.dir = dir_for_children  # where `mod x;` inside this module looks for x.rs
        self.children = {}
        self.items = set()
        self.bindings = {}  # name -> (scope, segments)
        self.globs = []  # (scope, segments)


class Reference:
    def __init__(self, file, scope, segments, line, export, name=None):
        self.file, self.scope, self.segments, self.line = file, scope, segments, line
        # Part of a `pub use`: an edge only when the file's own code uses `name` too.
        self.export = export
        self.name = name


def parse_use_tree(tokens, i, prefix, out):
    """Parses a use tree from tokens[i]; appends (segments, alias, glob) to out; returns index."""
    segs = list(prefix)
    while i < len(tokens):
        kind, value, _ = tokens[i]
        if value == "{":
            i += 1
            while i < len(tokens) and tokens[i][1] != "}":
                i = parse_use_tree(tokens, i, segs, out)
                if i < len(tokens) and tokens[i][1] == ",":
                    i += 1
            return i + 1
        if value == "*":
            out.append((segs, None, True))
            return i + 1
        if kind == "id":
            if value == "self" and segs and segs == list(prefix) and prefix:
                alias = None
                if i + 2 < len(tokens) and tokens[i + 1][1] == "as":
                    alias = tokens[i + 2][1]
                    i += 2
                out.append((segs, alias or segs[-1], False))
                return i + 1
            segs.append(value)
            i += 1
            if i < len(tokens) and tokens[i][1] == "::":
                i += 1
                continue
            alias = segs[-1]
            if i + 1 < len(tokens) and tokens[i][1] == "as":
                alias = tokens[i + 1][1]
                i += 2
            out.append((segs, alias, False))
            return i
        i += 1
    return i


def module_file(directory, name, path_attr):
    if path_attr:
        return os.path.normpath(os.path.join(directory, path_attr))
    for candidate in (os.path.join(directory, name + ".rs"),
                      os.path.join(directory, name, "mod.rs")):
        if os.path.exists(candidate):
            return candidate
    return None


def child_dir(file):
    base = os.path.basename(file)
    if base in ("lib.rs", "main.rs", "mod.rs"):
        return os.path.dirname(file)
    return os.path.splitext(file)[0]


class Target:
    """One compilation target: a root file and the module tree under it."""

    def __init__(self, name, root):
        self.name, self.root = name, root
        self.modules = {(): Module(root, os.path.dirname(root))}
        self.references = []
        self.files = []
        self.names_used = defaultdict(set)  # scope -> identifiers in code (not in `use`)
        pending = [()]
        while pending:
            modid = pending.pop()
            self.parse_file(modid, pending)

    def parse_file(self, modid, pending):
        file = self.modules[modid].file
        if file in self.files:
            return
        self.files.append(file)
        with open(file, encoding="utf-8") as f:
            tokens = lex(f.read())
        scopes = [(modid, 0)]
        depth = 0
        i = 0
        while i < len(tokens):
            kind, value, line = tokens[i]
            scope = scopes[-1][0]
            module = self.modules[scope]
            at_module_level = depth == scopes[-1][1]
            if kind == "id":
                self.names_used[scope].add(value)
            if value == "{":
                depth += 1
            elif value == "}":
                depth -= 1
                if len(scopes) > 1 and depth < scopes[-1][1]:
                    scopes.pop()
            elif kind == "id" and value == "mod" and i + 2 < len(tokens) \
                    and tokens[i + 1][0] == "id":
                name = tokens[i + 1][1]
                child = scope + (name,)
                if tokens[i + 2][1] == ";":
                    if name not in module.children:
                        path = module_file(module.dir, name, path_attribute(tokens, i))
                        if path:
                            module.children[name] = child
                            self.modules[child] = Module(path, child_dir(path))
                            pending.append(child)
                    i += 3
                    continue
                if tokens[i + 2][1] == "{":
                    if name not in module.children:
                        module.children[name] = child
                        self.modules[child] = Module(file, os.path.join(module.dir, name))
                    depth += 1
                    scopes.append((child, depth))
                    i += 3
                    continue
            elif kind == "id" and value == "use" and i + 1 < len(tokens) \
                    and tokens[i + 1][1] != "<":
                export = is_pub(tokens, i)
                trees = []
                j = parse_use_tree(tokens, i + 1, [], trees)
                while j < len(tokens) and tokens[j][1] != ";":
                    j += 1
                for segs, alias, glob in trees:
                    if not segs or segs[0] in ("std", "core", "alloc"):
                        continue
                    if glob:
                        module.globs.append((scope, segs))
                    elif alias != "_":
                        module.bindings.setdefault(alias, (scope, segs))
                    self.references.append(
                        Reference(file, scope, segs, line, export, None if glob else alias))
                i = j + 1
                continue
            elif kind == "id" and at_module_level and value in ITEM_KEYWORDS \
                    and i + 1 < len(tokens) and tokens[i + 1][0] == "id" \
                    and tokens[i + 1][1] not in KEYWORDS:
                module.items.add(tokens[i + 1][1])
            elif kind == "id" and value == "macro_rules" and i + 2 < len(tokens):
                module.items.add(tokens[i + 2][1])
            elif kind == "id" and value != "Self" and i + 2 < len(tokens) \
                    and tokens[i + 1][1] == "::" and tokens[i + 2][0] == "id" \
                    and not (i > 0 and tokens[i - 1][1] == "::"):
                segs = [value]
                j = i + 1
                while j + 1 < len(tokens) and tokens[j][1] == "::" and tokens[j + 1][0] == "id":
                    segs.append(tokens[j + 1][1])
                    j += 2
                self.references.append(Reference(file, scope, segs, line, False))
                i = j
                continue
            i += 1

    # -- resolution ---------------------------------------------------------------------------

    def start(self, scope, segs, hops=0):
        """The absolute module path of `segs` named in `scope`, or None when it is external."""
        head = segs[0]
        if head == "crate":
            return list(segs[1:])
        if head == "self":
            return list(scope) + list(segs[1:])
        if head == "super":
            up = 0
            while up < len(segs) and segs[up] == "super":
                up += 1
            return list(scope[:max(0, len(scope) - up)]) + list(segs[up:])
        module = self.modules.get(tuple(scope))
        if module is None:
            return None
        if head in module.children or head in module.items or head in module.bindings:
            return list(scope) + list(segs)
        for gscope, gsegs in module.globs:
            base = self.start(gscope, gsegs, hops + 1) if hops < 16 else None
            if base is None or tuple(base) == tuple(scope):
                continue
            target = self.modules.get(tuple(base))
            if target and (head in target.children or head in target.items
                           or head in target.bindings):
                return base + list(segs)
        return None

    def walk(self, path, hops=0):
        """The module that defines the item at the absolute path (through re-exports)."""
        cur = ()
        for k, seg in enumerate(path):
            module = self.modules[cur]
            if seg in module.children:
                cur = module.children[seg]
                continue
            if seg in module.items:
                return cur
            if seg in module.bindings and hops < 16:
                bscope, bsegs = module.bindings[seg]
                base = self.start(bscope, bsegs)
                if base is None:
                    return None
                return self.walk(base + list(path[k + 1:]), hops + 1)
            for gscope, gsegs in module.globs:
                base = self.start(gscope, gsegs)
                if base is None or hops >= 16:
                    continue
                found = self.walk(base + [seg], hops + 1)
                if found is not None and found != self.walk(base, hops + 1):
                    return self.walk(base + list(path[k:]), hops + 1)
            return cur
        return cur

    def edges(self):
        """{(from_file, to_file): [reference, ..]} for every reference across files."""
        out = defaultdict(list)
        for ref in self.references:
            if ref.export and ref.name not in self.names_used[ref.scope]:
                continue
            base = self.start(ref.scope, ref.segments)
            if base is None:
                continue
            modid = self.walk(base)
            if modid is None:
                continue
            target = self.modules[modid].file
            if target != ref.file:
                out[(ref.file, target)].append(ref)
        return out


def is_pub(tokens, i):
    """Whether the `use` at tokens[i] is `pub use` or `pub(..) use`."""
    j = i - 1
    if j >= 0 and tokens[j][1] == ")":
        while j >= 0 and tokens[j][1] != "(":
            j -= 1
        j -= 1
    return j >= 0 and tokens[j][1] == "pub"


def path_attribute(tokens, i):
    """The value of a `#[path = ".."]` attribute right before the `mod` at tokens[i]."""
    j = i - 1
    if j >= 0 and tokens[j][1] == "pub":
        j -= 1
    elif j >= 0 and tokens[j][1] == ")":
        while j >= 0 and tokens[j][1] != "(":
            j -= 1
        j -= 2
    while j >= 0 and tokens[j][1] == "]":
        k = j
        while k >= 0 and tokens[k][1] != "[":
            k -= 1
        attr = tokens[k + 1:j]
        if len(attr) == 3 and attr[0][1] == "path" and attr[1][1] == "=" and attr[2][0] == "str":
            return attr[2][1]
        j = k - 2  # skip `#[`
    return None


# ---------------------------------------------------------------------------------------------
# Targets of a crate, strongly connected components, the report.
# ---------------------------------------------------------------------------------------------

def crate_targets(crate_dir):
    with open(os.path.join(crate_dir, "Cargo.toml"), "rb") as f:
        manifest = tomllib.load(f)
    roots = {}
    lib = manifest.get("lib", {}).get("path", "src/lib.rs")
    if os.path.exists(os.path.join(crate_dir, lib)):
        roots["lib"] = lib
    if os.path.exists(os.path.join(crate_dir, "src/main.rs")):
        roots["bin"] = "src/main.rs"
    for section, directory in (("bin", "src/bin"), ("test", "tests"), ("example", "examples"),
                               ("bench", "benches")):
        declared = {t.get("path") for t in manifest.get(section, []) if t.get("path")}
        for path in sorted(declared):
            roots[f"{section} {path}"] = path
        full = os.path.join(crate_dir, directory)
        if os.path.isdir(full):
            for entry in sorted(os.listdir(full)):
                rel = os.path.join(directory, entry)
                if entry.endswith(".rs"):
                    roots.setdefault(f"{section} {rel}", rel)
                elif os.path.exists(os.path.join(full, entry, "main.rs")):
                    roots.setdefault(f"{section} {rel}", os.path.join(rel, "main.rs"))
    seen, unique = set(), {}
    for name, path in roots.items():
        if path not in seen:
            seen.add(path)
            unique[name] = os.path.join(crate_dir, path)
    return unique


def strongly_connected(nodes, edges):
    """Tarjan's algorithm, iterative; components in a stable order."""
    graph = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def count_lines(path):
    with open(path, encoding="utf-8") as f:
        return sum(1 for _ in f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", nargs="?", default=".")
    parser.add_argument("--max-lines", type=int, default=600)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when there is a cycle or a file over the limit")
    parser.add_argument("--crate", action="append", dest="crates", metavar="NAME",
                        help="only this crate (the directory under crates/); repeatable")
    args = parser.parse_args()
    top = os.path.abspath(args.workspace)
    crates_dir = os.path.join(top, "crates")
    rel = lambda p: os.path.relpath(p, top)  # noqa: E731

    cycles = []  # (crate, target, component, edges)
    chosen = sorted(args.crates or os.listdir(crates_dir))
    for crate in chosen:
        crate_dir = os.path.join(crates_dir, crate)
        if not os.path.exists(os.path.join(crate_dir, "Cargo.toml")):
            if args.crates:
                parser.error(f"no crate {crate!r} in {crates_dir}")
            continue
        for name, root in crate_targets(crate_dir).items():
            target = Target(name, root)
            edges = target.edges()
            for component in strongly_connected(target.files, edges):
                if len(component) > 1:
                    inside = {e: refs for e, refs in edges.items()
                              if e[0] in component and e[1] in component}
                    cycles.append((crate, name, component, inside))

    seen = set()
    unique_cycles = []
    for crate, name, component, inside in cycles:
        key = tuple(component)
        if key not in seen:  # a module shared by several targets (tests' util) counts once
            seen.add(key)
            unique_cycles.append((crate, name, component, inside))
    for n, (crate, name, component, inside) in enumerate(unique_cycles, 1):
        print(f"cycle {n}: {crate} ({name}), {len(component)} files")
        for (a, b), refs in sorted(inside.items()):
            first = refs[0]
            print(f"  {rel(a)} -> {rel(b)}: {'::'.join(first.segments)} "
                  f"(line {first.line}{f', +{len(refs) - 1} more' if len(refs) > 1 else ''})")

    sizes = []
    for directory, _, names in os.walk(crates_dir):
        if os.sep + "target" in directory:
            continue
        if os.path.relpath(directory, crates_dir).split(os.sep)[0] not in chosen:
            continue
        for entry in names:
            if entry.endswith(".rs"):
                path = os.path.join(directory, entry)
                sizes.append((count_lines(path), rel(path)))
    sizes.sort(reverse=True)
    over = [(lines, path) for lines, path in sizes if lines > args.max_lines]
    for lines, path in over:
        print(f"over {args.max_lines} lines: {path} ({lines})")
    in_cycles = sum(len(c[2]) for c in unique_cycles)
    largest = f"{sizes[0][1]} ({sizes[0][0]} lines)" if sizes else "none"
    print(f"summary: {len(unique_cycles)} import cycles, {in_cycles} files in cycles, "
          f"{len(over)} files over {args.max_lines} lines, largest {largest}")
    return 1 if args.check and (unique_cycles or over) else 0


if __name__ == "__main__":
    sys.exit(main())
