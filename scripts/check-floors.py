#!/usr/bin/env python3
"""Checks the floors of the C++ tree: which area may include which.

Run by test/structure/floors.test.

Every area is include/mafat/<Area>/ plus lib/<Area>/, built as one library
(or two, for Planning/Plan). An area may include its own headers and those
of the areas its entry below lists, nothing else, so the layering in
docs/Design.md ("Floors") cannot rot one include at a time. `llvm` and
`mlir` say whether the area may include LLVM and MLIR headers at all: the
bottom floors are plain C++ (Support, Geometry) or LLVM Support only (Plan,
Graph, CostModel, Planning), so their unit tests and a Python extension link
no compiler.

  check-floors.py [SOURCE_DIR]   prints every offending include and exits 1,
                                 or prints "floors: OK" and exits 0.
"""

import os
import re
import sys

# Area -> (areas it may include, may include llvm/, may include mlir/).
# A "Dialect/Mafat/AttrNames.h" entry allows that one header-only file (the
# names of discardable attributes) without the dialect library.
FLOORS = {
    "Support": ((), False, False),
    "Geometry": ((), False, False),
    "Plan": (("Geometry",), True, False),
    "Graph": (("Geometry", "Plan"), True, False),
    "CostModel": (("Support", "Geometry", "Plan", "Graph"), True, False),
    "Planning": (("Support", "Geometry", "Plan", "Graph", "CostModel"), True, False),
    "Dialect": (("Geometry", "Plan"), True, True),
    "Analysis": (("Geometry", "Plan", "Graph", "Dialect/Mafat/AttrNames.h"), True, True),
    "Transforms": (("Support", "Geometry", "Plan", "Graph", "Dialect", "Analysis", "CostModel", "Planning",
                    "runtime.h"), True, True),
    "Pipelines": (("Support", "Geometry", "Plan", "Graph", "Dialect", "Analysis", "CostModel", "Planning",
                   "Transforms"), True, True),
    "Target": (("Dialect/Mafat/AttrNames.h", "runtime.h"), True, True),
}

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]')


def allowed(area: str, path: str) -> bool:
    targets, llvm, mlir = FLOORS[area]
    if path.startswith("llvm/") or path.startswith("llvm-c/"):
        return llvm
    if path.startswith("mlir/"):
        return mlir
    if not path.startswith("mafat/"):
        return True  # the C++ library, gtest, ...
    rest = path[len("mafat/"):]
    if rest.startswith(area + "/"):
        return True
    return any(rest == t or rest.startswith(t + "/") for t in targets)


def main() -> int:
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    bad = []
    seen = set()
    for top in ("include/mafat", "lib"):
        root = os.path.join(src, top)
        if not os.path.isdir(root):
            continue
        for area in sorted(os.listdir(root)):
            if not os.path.isdir(os.path.join(root, area)):
                continue
            seen.add(area)
            if area not in FLOORS:
                bad.append(f"{top}/{area}: an area without a floor; add it to FLOORS in {sys.argv[0]} "
                           "and to docs/Design.md")
                continue
            for dirpath, _, files in os.walk(os.path.join(root, area)):
                for name in sorted(files):
                    if not name.endswith((".h", ".cpp", ".td", ".inc")):
                        continue
                    file = os.path.join(dirpath, name)
                    with open(file, encoding="utf-8") as f:
                        for lineno, line in enumerate(f, 1):
                            m = INCLUDE.match(line)
                            if m and not allowed(area, m.group(1)):
                                bad.append(f"{os.path.relpath(file, src)}:{lineno}: {area} may not include "
                                           f"{m.group(1)}")
    for line in bad:
        print(line)
    if bad:
        return 1
    print(f"floors: OK ({len(seen)} areas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
