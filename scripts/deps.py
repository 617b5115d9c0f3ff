#!/usr/bin/env python3
"""The library's import graph, checked: `python3 scripts/deps.py` prints which top-level module
imports which (and how many files say so), and fails (exit 1) when

- two files import each other, directly or around a circle;
- two top-level modules do;
- a domain module (probes, metrics, accounting, heartbeat, collectors, auth) or the bottom layer
  (base) mentions an AWS SDK crate, reqwest, lambda_http, or a module above it (adapters, http,
  jobs, wiring).

Imports are read as text: `crate::a::b` and `super::` paths, and `use` of a child module, in
`shared/src`, test modules left out (a test may use what its module does not).
`--files` also prints the file-level edges; `--root DIR` reads another tree's `src`.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "shared" / "src"
if "--root" in sys.argv:  # another checkout's library, e.g. to compare with an older commit
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
DOMAINS = {"probes", "metrics", "accounting", "heartbeat", "collectors", "auth", "outbox"}
BOTTOM = {"base"}
ABOVE_DOMAINS = {"adapters", "http", "jobs", "wiring"}
FORBIDDEN = re.compile(r"\b(aws_sdk_\w+|aws_config|aws_smithy_\w+|reqwest|lambda_http|lambda_runtime)\b")
PATH = re.compile(r"\b(crate|super|self)((?:::\w+)+)")
USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)


def module_of(path: Path) -> tuple:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def without_tests(text: str) -> str:
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+", text)
    return text[: cut.start()] if cut else text


def code_only(text: str) -> str:
    """Drops comments and string and char literals, so a doc line or message naming a module
    is no import. One pass, left to right, so a quote inside a string starts nothing."""
    token = re.compile(
        r'//[^\n]*|/\*.*?\*/|(?<!\w)b?r(#*)".*?"\1|b?"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])\'',
        re.S,
    )
    return token.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def main() -> int:
    files = {module_of(p): p for p in sorted(ROOT.rglob("*.rs"))}
    modules = set(files)

    def resolve(parts: list) -> tuple:
        """The longest prefix of `parts` that is a file's module."""
        for n in range(len(parts), 0, -1):
            if tuple(parts[:n]) in modules:
                return tuple(parts[:n])
        return ()

    edges = defaultdict(set)
    problems = []
    for mod, path in files.items():
        code = code_only(without_tests(path.read_text()))
        top = mod[0] if mod else ""
        if top in DOMAINS | BOTTOM:
            for m in FORBIDDEN.finditer(code):
                problems.append(f"{path.relative_to(ROOT.parent)}: {top} mentions `{m.group(1)}`")
        targets = []
        for m in PATH.finditer(code):
            kind, rest = m.group(1), m.group(2).split("::")[1:]
            if kind == "crate":
                base = []
            elif kind == "self":
                base = list(mod)
            else:
                base = list(mod[:-1])
                while rest and rest[0] == "super":
                    rest = rest[1:]
                    base = base[:-1]
            targets.append(base + rest)
        # `use child::X` and `use child::{..}` inside a module that declares `child`.
        for m in USE.finditer(code):
            first = re.split(r"::|\s|\{", m.group(1).strip(), maxsplit=1)[0]
            if tuple(list(mod) + [first]) in modules:
                targets.append(list(mod) + [first] + re.findall(r"\w+", m.group(1))[1:2])
        for t in targets:
            target = resolve(t)
            if target and target != mod:
                edges[mod].add(target)
    for mod, targets in edges.items():
        top = mod[0] if mod else ""
        for t in targets:
            if top in DOMAINS | BOTTOM and t and t[0] in ABOVE_DOMAINS:
                problems.append(f"{files[mod].relative_to(ROOT.parent)}: {top} imports {'::'.join(t)}")
            if top in BOTTOM and t and t[0] in DOMAINS:
                problems.append(f"{files[mod].relative_to(ROOT.parent)}: base imports {'::'.join(t)}")

    top_edges = defaultdict(lambda: defaultdict(int))
    for mod, targets in edges.items():
        for t in targets:
            if mod and t and mod[0] != t[0]:
                top_edges[mod[0]][t[0]] += 1

    def cycles(graph: dict) -> list:
        found, state, stack = [], {}, []

        def visit(n):
            state[n] = 1
            stack.append(n)
            for m in sorted(graph.get(n, ())):
                if state.get(m) == 1:
                    found.append(stack[stack.index(m):] + [m])
                elif m not in state:
                    visit(m)
            stack.pop()
            state[n] = 2

        for n in sorted(graph):
            if n not in state:
                visit(n)
        return found

    print("top-level modules (-> what each imports, with the number of files that do):")
    for top in sorted({m[0] for m in modules if m}):
        out = ", ".join(f"{t} ({n})" for t, n in sorted(top_edges[top].items()))
        print(f"  {top:<11} -> {out or '-'}")
    if "--files" in sys.argv:
        print("files:")
        for mod in sorted(edges):
            print(f"  {'::'.join(mod) or 'lib'} -> {', '.join('::'.join(t) for t in sorted(edges[mod]))}")

    for c in cycles({k: set(v) for k, v in top_edges.items()}):
        problems.append("top-level cycle: " + " -> ".join(c))
    for c in cycles(edges):
        problems.append("file cycle: " + " -> ".join("::".join(m) or "lib" for m in c))
    for p in problems:
        print("deps:", p, file=sys.stderr)
    print(f"deps: {len(modules)} files, {sum(len(v) for v in edges.values())} imports, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
