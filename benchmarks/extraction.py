"""How faithfully glyphpress reads real PDFs, against the converters users know.

    pip install -e '.[compare]'      # pdfplumber, pdfminer.six, markitdown
    python benchmarks/extraction.py [--cache DIR] [--files N] [--tools glyphpress,pdfplumber,...]

The PDFs are the sample and test files shipped in the source archives of pypdf, tabula-py and pikepdf
(pinned versions, fetched with ``pip download --no-binary :all:`` into ``--cache`` on the first run);
a file poppler's ``pdftotext`` finds fewer than 50 words in (a scan, a form with no text) is left out.
Each tool reads each file in this process, one after the other:

* reading order: the word sequence a tool gives against ``pdftotext``'s as difflib's ratio, 2 x matching
  words / (words of both), hyphens at line ends joined on both sides. poppler has two orders: its reading
  order (columns one after the other, but a table column by column) and ``-layout`` (a table row by row,
  but columns side by side line by line); each tool is scored against the one it agrees with better, per
  file;
* paragraph integrity: of the paragraphs a tool's output has (blocks apart by a blank line), the share
  that end a sentence or are a list item; headings and labels (one line without an end mark, at most
  eight words), table rows and code are not counted. pdfplumber gives lines, never paragraphs: n/a;
* tables: cells found against hand-made answers (benchmarks/extraction_tables.json): for each answer row,
  the most of its cells that one row of the tool's tables on that page holds. pdfminer.six has no
  tables: 0;
* speed: pages per second over all files.

Prints one row per tool, and per file with ``--per-file``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ARCHIVES = ("pypdf==7.1.1", "tabula-py==2.10.0", "pikepdf==10.18.0")
ANSWERS = Path(__file__).with_name("extraction_tables.json")
TOOLS = ("glyphpress", "pdfplumber", "pdfminer.six", "markitdown")
END = tuple(".!?:;\"'”’»)]。！？：；」』）")
ITEM = re.compile(r"\s*([-*•◦▪●–]|\(?\d{1,3}[.)]|\[\d{1,3}\]|\(?[a-z][.)])\s")


# ------------------------------------------------------------------------------------------------ files


def fetch(cache: Path) -> list[Path]:
    """The PDFs of the pinned source archives, fetched once into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    for spec in ARCHIVES:
        name = spec.split("==")[0].replace("-", "_")
        if not any(cache.glob(f"{name}-*.tar.gz")):
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                            spec, "-d", str(cache)], check=True)
    pdfs = []
    for archive in sorted(cache.glob("*.tar.gz")):
        root = cache / archive.name[: -len(".tar.gz")]
        if not root.exists():
            with tarfile.open(archive) as tar:
                tar.extractall(cache, members=[m for m in tar.getmembers() if m.name.endswith(".pdf")],
                               filter="data")
        pdfs += sorted(root.rglob("*.pdf"))
    return pdfs


def reference(path: Path) -> tuple[str, str] | None:
    """poppler's text of a file in its reading order and in its layout order."""
    out = []
    for mode in ([], ["-layout"]):
        p = subprocess.run(["pdftotext", *mode, "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=120)
        if p.returncode:
            return None
        out.append(p.stdout.decode("utf-8", "replace"))
    return out[0], out[1]


# ------------------------------------------------------------------------------------------------ tools


class Output:
    def __init__(self, text: str, tables: dict[int, list[list[list[str]]]], pages: int, paragraphs: bool = True):
        self.text, self.tables, self.pages, self.paragraphs = text, tables, pages, paragraphs


def run_glyphpress(path: Path) -> Output:
    from glyphpress.document.export import to_text
    from glyphpress.document.pdf import parse_pdf

    doc = parse_pdf(str(path), path.name)
    tables: dict[int, list] = {}
    for b in doc.blocks:
        if b.rows is not None:
            tables.setdefault(b.page, []).append([["".join(s.text for s in c) for c in r] for r in b.rows])
    return Output(to_text(doc), tables, max((b.page or 1 for b in doc.blocks), default=1))


def run_pdfplumber(path: Path) -> Output:
    import pdfplumber

    texts, tables = [], {}
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            texts.append(page.extract_text() or "")
            found = page.extract_tables()
            if found:
                tables[number] = [[[c or "" for c in row] for row in t] for t in found]
        pages = len(pdf.pages)
    return Output("\n".join(texts), tables, pages, paragraphs=False)


def run_pdfminer(path: Path) -> Output:
    from pdfminer.high_level import extract_text
    from pdfminer.pdfpage import PDFPage

    with open(path, "rb") as f:
        pages = sum(1 for _ in PDFPage.get_pages(f))
    return Output(extract_text(str(path)), {}, pages)


def run_markitdown(path: Path) -> Output:
    from markitdown import MarkItDown

    text = MarkItDown().convert(str(path)).text_content
    tables: dict[int, list] = {}
    rows: list[list[str]] = []
    for line in text.splitlines() + [""]:  # Markdown tables: pages are not told apart
        if line.strip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                rows.append(cells)
        elif rows:
            tables.setdefault(0, []).append(rows)
            rows = []
    return Output(text, tables, 0)


RUNNERS = {"glyphpress": run_glyphpress, "pdfplumber": run_pdfplumber, "pdfminer.six": run_pdfminer,
           "markitdown": run_markitdown}


# ------------------------------------------------------------------------------------------------ measures


def words(text: str) -> list[str]:
    out: list[str] = []
    joining = False
    for raw in text.split():
        w = re.sub(r"^[^\w]+|[^\w-]+$", "", raw.lower())
        if not w or not any(ch.isalnum() for ch in w):
            continue
        if joining and out:
            out[-1] += w
        else:
            out.append(w)
        joining = w.endswith("-") and len(w) > 1
        if joining:
            out[-1] = out[-1][:-1]
    return out


def order(ref: str, text: str) -> float:
    a, b = words(ref), words(text)
    if not a and not b:
        return 1.0
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return 2 * sum(x.size for x in m.get_matching_blocks()) / (len(a) + len(b))


def integrity(text: str) -> tuple[int, int]:
    """(paragraphs that end a sentence or are list items, paragraphs counted)."""
    good = total = 0
    in_code = False
    for para in re.split(r"\n\s*\n", text):
        lines = [x for x in para.strip().splitlines() if x.strip()]
        if not lines:
            continue
        if lines[0].startswith("```"):
            in_code = not lines[-1].endswith("```") or len(lines) == 1
            continue
        if in_code or any("\t" in x or x.lstrip().startswith("|") for x in lines) or lines[0].startswith("#"):
            continue
        flat = " ".join(x.strip() for x in lines)
        if len(lines) == 1 and not flat.endswith(END) and len(flat.split()) <= 8:
            continue  # a heading or a label
        total += 1
        good += flat.endswith(END) or bool(ITEM.match(flat))
    return good, total


def norm(cell: str) -> str:
    return " ".join(cell.split())


def cells_found(answer: dict, out: Output) -> tuple[int, int]:
    """Cells of the answer's rows found: for each row, the most of its cells one row of the tool's tables
    on that page holds."""
    tables = out.tables.get(answer["page"], []) + out.tables.get(0, [])
    rows = [[norm(c) for c in row] for t in tables for row in t]
    found = total = 0
    for want in answer["rows"]:
        cells = [norm(c) for c in want]
        total += len(cells)
        found += max((sum(1 for c in cells if c in row) for row in rows), default=0)
    return found, total


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "glyphpress" / "extraction-bench")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--files", type=int, default=0, help="only the first N files (0: all)")
    ap.add_argument("--per-file", action="store_true")
    args = ap.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    for t in tools:
        if t not in RUNNERS:
            raise SystemExit(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    pdfs = []
    for path in fetch(args.cache):
        ref = reference(path)
        if ref is not None and len(ref[0].split()) >= 50:
            pdfs.append((path, ref))
    if args.files:
        pdfs = pdfs[: args.files]
    answers = json.loads(ANSWERS.read_text())["tables"]
    print(f"{len(pdfs)} PDFs with text from {', '.join(ARCHIVES)}")
    rows = []
    for tool in tools:
        scores, good, total, seconds, pages, failed = [], 0, 0, 0.0, 0, 0
        outputs: dict[str, Output] = {}
        for path, ref in pdfs:
            start = time.perf_counter()
            try:
                out = RUNNERS[tool](path)
            except Exception as e:  # a tool that cannot read a file scores nothing for it
                failed += 1
                print(f"  {tool}: {path.name}: {type(e).__name__}: {str(e)[:80]}", file=sys.stderr)
                scores.append(0.0)
                continue
            seconds += time.perf_counter() - start
            pages += out.pages or int(subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True)
                                      .stdout.split("Pages:")[1].split()[0])
            outputs[str(path.relative_to(args.cache))] = out
            scores.append(max(order(r, out.text) for r in ref))
            g, t = integrity(out.text)
            good, total = good + g, total + t
            if args.per_file:
                print(f"  {tool:12s} {path.name:50s} order {scores[-1]:.3f}  paragraphs {g}/{t}")
        found = cells = 0
        for a in answers:
            out = outputs.get(a["file"])
            f, n = cells_found(a, out) if out else (0, sum(len(r) for r in a["rows"]))
            found, cells = found + f, cells + n
        paragraphs = f"{good / total:.3f} ({good}/{total})" if outputs and next(iter(outputs.values())).paragraphs \
            else "n/a"
        rows.append((tool, sum(scores) / max(len(scores), 1), paragraphs, f"{found}/{cells}",
                     pages / seconds if seconds else 0.0, failed))
    print(f"\n{'tool':14s} {'reading order':>14s} {'paragraphs':>20s} {'table cells':>12s} {'pages/s':>9s} failed")
    for tool, o, p, c, speed, failed in rows:
        print(f"{tool:14s} {o:14.3f} {p:>20s} {c:>12s} {speed:9.1f} {failed:6d}")


if __name__ == "__main__":
    main()
