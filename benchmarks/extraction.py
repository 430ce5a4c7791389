"""How faithfully glyphpress reads real PDFs, against the converters users know.

    pip install -e '.[compare]'      # pdfplumber, pdfminer.six, markitdown
    python benchmarks/extraction.py [--cache DIR] [--kinds pdf,html,docx] [--tools glyphpress,...] [--per-file]

The PDFs are the sample and test files shipped in the source archives of pypdf, tabula-py and pikepdf
(pinned versions, fetched with ``pip download --no-binary :all:`` into ``--cache`` on the first run),
and the HTML and DOCX files of trafilatura's and python-docx's tests (real web pages; Word files with
tables, styles and pictures). A PDF or HTML file with fewer than 50 words of text (a scan, a form with no
text, a stub) and a Word file with fewer than 5 are left out.
Each tool reads each file in this process, one after the other:

* reading order: the word sequence a tool gives against ``pdftotext``'s as difflib's ratio, 2 x matching
  words / (words of both), hyphens at line ends joined on both sides. poppler has two orders: its reading
  order (columns one after the other, but a table column by column) and ``-layout`` (a table row by row,
  but columns side by side line by line); each tool is scored against the one it agrees with better, per
  file;
* paragraph integrity: of the paragraphs a tool's output has (blocks apart by a blank line), the share
  that end a sentence or are a list item; headings and labels (one line without an end mark, at most
  eight words), table rows and code are not counted. pdfplumber gives lines, never paragraphs: n/a.
  Markdown (glyphpress's and markitdown's output) is read as the words it shows: links as their text,
  no comments, no escapes, no pictures' alt text (the reference has none);
* tables: cells found against hand-made answers (benchmarks/extraction_tables.json): for each answer row,
  the most of its cells that one row of the tool's tables on that page holds. pdfminer.six has no
  tables: 0;
* speed: pages per second over all PDFs (files per second for HTML and DOCX), the tool's own time.

Prints one row per tool and kind, and per file with ``--per-file``. markitdown reads all three kinds;
pdfplumber and pdfminer.six only PDFs.
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

ARCHIVES = ("pypdf==7.1.1", "tabula-py==2.10.0", "pikepdf==10.18.0", "trafilatura==2.3.1", "python-docx==1.2.0")
KINDS = (".pdf", ".html", ".docx")
ANSWERS = Path(__file__).with_name("extraction_tables.json")
TOOLS = ("glyphpress", "pdfplumber", "pdfminer.six", "markitdown")
END = tuple(".!?:;\"'”’»)]。！？：；」』）")
ITEM = re.compile(r"\s*([-*•◦▪●–]|\(?\d{1,3}[.)]|\[\d{1,3}\]|\(?[a-z][.)])\s")


# ------------------------------------------------------------------------------------------------ files


def fetch(cache: Path) -> list[Path]:
    """The PDF, HTML and DOCX files of the pinned source archives' tests and samples, fetched once into
    ``cache`` (templates and documentation pages left out)."""
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
                tar.extractall(cache, members=[m for m in tar.getmembers() if m.name.endswith(KINDS)],
                               filter="data")
        pdfs += sorted(p for p in root.rglob("*") if p.suffix in KINDS and "test" in str(p.relative_to(root))
                       or p.suffix == ".pdf")
    return pdfs


def reference(path: Path) -> tuple[str, ...] | None:
    """What a file says, to compare a tool's words with: for a PDF, poppler's text in its reading order and
    in its layout order; for HTML, the text of the body in document order without scripts, styles,
    templates and drop-down lists, a closed one showing one option (BeautifulSoup with lxml); for DOCX,
    the text of the body's paragraphs and table cells in document order (its XML read directly)."""
    if path.suffix == ".html":
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(path.read_bytes(), "lxml")
        for tag in soup(["script", "style", "noscript", "template", "head", "select"]):
            tag.decompose()
        return (soup.get_text("\n"),)
    if path.suffix == ".docx":
        import zipfile
        from xml.etree import ElementTree

        try:
            with zipfile.ZipFile(path) as z:
                root = ElementTree.fromstring(z.read("word/document.xml"))
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
            return None
        w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        return ("\n".join("".join(t.text or "" for t in p.iter(f"{w}t")) for p in root.iter(f"{w}p")),)
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
    from glyphpress.document import parse_docx, parse_html
    from glyphpress.document.export import to_markdown
    from glyphpress.document.pdf import parse_pdf
    from glyphpress.io import read_bytes

    if path.suffix == ".pdf":
        doc = parse_pdf(str(path), path.name)
    elif path.suffix == ".html":
        doc = parse_html(read_bytes(path.read_bytes(), path.name).text, path.name)
    else:
        doc = parse_docx(path.read_bytes(), path.name)
    tables: dict[int, list] = {}
    for b in doc.blocks:
        if b.rows is not None:
            tables.setdefault(b.page or 0, []).append([["".join(s.text for s in c) for c in r] for r in b.rows])
    return Output(to_markdown(doc), tables, max((b.page or 1 for b in doc.blocks), default=1))


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
    return Output(text, tables, 0 if path.suffix == ".pdf" else 1)


RUNNERS = {"glyphpress": run_glyphpress, "pdfplumber": run_pdfplumber, "pdfminer.six": run_pdfminer,
           "markitdown": run_markitdown}
READS = {"glyphpress": KINDS, "pdfplumber": (".pdf",), "pdfminer.six": (".pdf",), "markitdown": KINDS}


# ------------------------------------------------------------------------------------------------ measures


def words(text: str) -> list[str]:
    text = plain(text)
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


LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # a Markdown link: its text only
PICTURE = re.compile(r"!\[[^\]]*\]\([^)]*\)|\*?\\?\[image: [^\]]*\\?\]\*?")  # alt text (not in the reference)
ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")


def plain(text: str) -> str:
    """Markdown as the words it shows: comments, pictures and escapes out, links as their text."""
    text = PICTURE.sub("", re.sub(r"<!--.*?-->", "", text, flags=re.S))
    return LINK.sub(r"\1", ESCAPE.sub(r"\1", text))


def integrity(text: str) -> tuple[int, int]:
    """(paragraphs that end a sentence or are list items, paragraphs counted)."""
    text = plain(text)
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


def measure(tool: str, files: list, answers: list[dict], cache: Path, per_file: bool) -> tuple:
    """One tool over files of one kind: (reading order, paragraphs, table cells, speed, failures)."""
    scores, good, total, seconds, units, failed = [], 0, 0, 0.0, 0, 0
    outputs: dict[str, Output] = {}
    for path, ref in files:
        start = time.perf_counter()
        try:
            out = RUNNERS[tool](path)
        except Exception as e:  # a tool that cannot read a file scores nothing for it
            failed += 1
            print(f"  {tool}: {path.name}: {type(e).__name__}: {str(e)[:80]}", file=sys.stderr)
            scores.append(0.0)
            continue
        seconds += time.perf_counter() - start
        units += out.pages or int(subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True)
                                  .stdout.split("Pages:")[1].split()[0])
        outputs[str(path.relative_to(cache))] = out
        scores.append(max(order(r, out.text) for r in ref))
        g, t = integrity(out.text)
        good, total = good + g, total + t
        if per_file:
            print(f"  {tool:12s} {path.name:50s} order {scores[-1]:.3f}  paragraphs {g}/{t}")
    found = cells = 0
    for a in answers:
        out = outputs.get(a["file"])
        f, n = cells_found(a, out) if out else (0, sum(len(r) for r in a["rows"]))
        found, cells = found + f, cells + n
    paragraphs = f"{good / total:.3f} ({good}/{total})" if total and next(iter(outputs.values())).paragraphs \
        else "n/a"
    return (sum(scores) / max(len(scores), 1), paragraphs, f"{found}/{cells}" if cells else "-",
            units / seconds if seconds else 0.0, failed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "glyphpress" / "extraction-bench")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--kinds", default="pdf,html,docx")
    ap.add_argument("--per-file", action="store_true")
    args = ap.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    for t in tools:
        if t not in RUNNERS:
            raise SystemExit(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    by_kind: dict[str, list] = {}
    for path in fetch(args.cache):
        ref = reference(path)
        if ref is not None and len(ref[0].split()) >= (5 if path.suffix == ".docx" else 50):
            by_kind.setdefault(path.suffix, []).append((path, ref))
    answers = json.loads(ANSWERS.read_text())["tables"]
    for kind in ("." + k for k in args.kinds.split(",")):
        files = by_kind.get(kind, [])
        unit = "pages/s" if kind == ".pdf" else "files/s"
        sources = sorted({path.relative_to(args.cache).parts[0] for path, _ in files})
        print(f"\n{kind[1:].upper()}: {len(files)} files from {', '.join(sources)}")
        print(f"{'tool':14s} {'word order':>11s} {'paragraphs':>20s} {'table cells':>12s} {unit:>9s} failed")
        mine = [a for a in answers if a["file"].endswith(kind)]
        for tool in tools:
            if kind in READS[tool]:
                o, p, c, speed, failed = measure(tool, files, mine, args.cache, args.per_file)
                print(f"{tool:14s} {o:11.3f} {p:>20s} {c:>12s} {speed:9.1f} {failed:6d}")


if __name__ == "__main__":
    main()
