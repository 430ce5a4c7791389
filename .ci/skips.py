"""Print the tests that skipped, with their reasons, and fail when one skipped that the allowed list
does not name (a missing optional tool must not hide tests silently).

    python .ci/skips.py JUNIT_XML ALLOWED_LIST

The allowed list holds one test id per line (``path/to/test_file.py::test_name[params]``; ``*`` matches
anything, brackets are literal), each with a comment after # saying why it may skip.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET


def skipped(junit: str) -> list[tuple[str, str]]:
    """(test id, reason) of every skipped test in a JUnit XML report written by pytest."""
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        skip = case.find("skipped")
        if skip is None:
            continue
        # classname is the module's dotted path (tests here are functions, not classes)
        path = case.get("classname", "").replace(".", "/") + ".py"
        out.append((f"{path}::{case.get('name')}", (skip.get("message") or "").strip()))
    return out


def allowed(path: str) -> list[re.Pattern]:
    patterns = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                patterns.append(re.compile(".*".join(map(re.escape, line.split("*")))))
    return patterns


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    found, patterns = skipped(argv[1]), allowed(argv[2])
    bad = [(t, why) for t, why in found if not any(p.fullmatch(t) for p in patterns)]
    for t, why in found:
        mark = "NOT ALLOWED" if (t, why) in bad else "allowed"
        print(f"skipped ({mark}): {t}: {why}")
    if bad:
        print(f"{len(bad)} test(s) skipped that {argv[2]} does not allow", file=sys.stderr)
        return 1
    print(f"{len(found)} test(s) skipped, all allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
