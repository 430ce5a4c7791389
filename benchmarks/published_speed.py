"""Whole-process speed against the published Glyph pipeline, side by side on the essays corpus.

    python benchmarks/published_speed.py [--repeat 5] [--config glyph-en] [--set KEY=VALUE ...]

Each run is a fresh interpreter, from start-up to the last file written:

* published: the published renderer's pipeline, reproduced in this file with the libraries it uses
  (ReportLab's platypus builds the PDF, poppler's ``pdftoppm`` rasterises it at θ's dpi in batches of
  20 pages, as pdf2image calls it; each page scaled, cropped to its ink on the grey image with NumPy
  and saved by Pillow as ``page_001.png`` ...);
* glyphpress: ``glyphpress render`` with the same θ and font file (page PNGs, manifest, exact text and
  vision token accounting, which the published pipeline does not do at all).

The two alternate, after one unmeasured run of each (compiled bytecode and file caches warm, as on any
machine after the first use). Prints every run, the best and the median of each, and the ratio of
the medians. Needs the ``reference`` extra (ReportLab) and poppler-utils.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GROUP_LINES = 30  # source lines per ReportLab paragraph
BATCH = 20  # pages per pdftoppm call
MARKER = '<font color="#FF0000"> \\n </font>'


def published(text_file: str, theta_file: str, out: str) -> None:
    """The published pipeline: text -> ReportLab PDF -> poppler -> cropped PNG files."""
    import io
    import re
    from xml.sax.saxutils import escape

    import numpy as np
    from PIL import Image
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    t = json.loads(Path(theta_file).read_text())
    text = Path(text_file).read_text(encoding="utf-8")
    w, h = (float(v) for v in str(t["page-size"]).split(","))
    pdfmetrics.registerFont(TTFont("F", t["font-path"]))
    size = float(t["font-size"])
    style = ParagraphStyle(
        "p", parent=getSampleStyleSheet()["Normal"], fontName="F", fontSize=size,
        leading=float(t.get("line-height") or size + 1), textColor=colors.HexColor(t["font-color"]),
        backColor=colors.HexColor(t["para-bg-color"]), borderWidth=float(t["border-width"]),
        borderPadding=float(t["border-padding"]), firstLineIndent=float(t["first-line-indent"]),
        leftIndent=float(t["left-indent"]), rightIndent=float(t["right-indent"]),
        alignment={"LEFT": TA_LEFT, "CENTER": TA_CENTER, "RIGHT": TA_RIGHT}.get(t["alignment"], TA_JUSTIFY),
        spaceBefore=float(t["space-before"]), spaceAfter=float(t["space-after"]),
        wordWrap="CJK" if re.search("[\u4e00-\u9fff]", text) else None)
    markup = MARKER if t["newline-markup"] == "marker" else t["newline-markup"]
    clean = escape(text.replace("\xad", "").replace("\u200b", ""))
    lines = re.sub(" {2,}", lambda m: "&nbsp;" * len(m.group()), clean).split("\n")
    story = [Paragraph(markup.join(lines[i: i + GROUP_LINES]), style) for i in range(0, len(lines), GROUP_LINES)]
    bg = colors.HexColor(t["page-bg-color"])

    def paint(canvas, _doc):
        canvas.saveState()
        canvas.setFillColor(bg)
        canvas.rect(0, 0, w, h, stroke=0, fill=1)
        canvas.restoreState()

    buf = io.BytesIO()
    mx, my = float(t["margin-x"]), float(t["margin-y"])
    SimpleDocTemplate(buf, pagesize=(w, h), leftMargin=mx, rightMargin=mx, topMargin=my,
                      bottomMargin=my).build(story, onFirstPage=paint, onLaterPages=paint)
    Path(out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "doc.pdf"
        pdf.write_bytes(buf.getvalue())
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        n = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        for first in range(1, n + 1, BATCH):
            last = min(first + BATCH - 1, n)
            d = Path(tempfile.mkdtemp(dir=tmp))
            subprocess.run(["pdftoppm", "-r", str(t["dpi"]), "-f", str(first), "-l", str(last), str(pdf),
                            str(d / "p")], check=True)
            for k, f in enumerate(sorted(d.glob("p-*.ppm"), key=lambda f: int(f.stem.split("-")[-1]))):
                no = first + k
                img = Image.open(f).convert("RGB")
                if float(t["horizontal-scale"]) != 1.0:
                    img = img.resize((int(img.width * float(t["horizontal-scale"])), img.height))
                right, bottom = img.width, img.height
                if t["auto-crop-width"] or (t["auto-crop-last-page"] and no == n):
                    gray = np.asarray(img.convert("L"))
                    ink = np.abs(gray - np.median(gray[:2, :2])) > 5
                    cols, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
                    if t["auto-crop-width"] and len(cols):
                        right = min(img.width, int(cols[-1]) + 1 + int(mx))
                    if t["auto-crop-last-page"] and no == n and len(rows):
                        bottom = min(img.height, int(rows[-1]) + int(my))
                img.crop((0, 0, right, bottom)).save(Path(out) / f"page_{no:03d}.png")


def _run(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--config", default="glyph-en")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="a θ key for both, e.g. dpi=96")
    ap.add_argument("--jobs", type=int, default=0, help="glyphpress --jobs (0: one per core)")
    args = ap.parse_args()
    for tool in ("pdftoppm", "pdfinfo"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: install poppler-utils")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from corpus import essays

    from glyphpress.config import load_config
    from glyphpress.evaluate.published import font_file

    cfg = load_config(args.config, args.sets)
    font = font_file(cfg)
    theta = dict(cfg.to_dict(), **{"font-path": font})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    glyphpress = str(Path(sys.executable).with_name("glyphpress"))
    with tempfile.TemporaryDirectory() as tmp:
        text_file, theta_file = Path(tmp) / "essays.txt", Path(tmp) / "theta.json"
        text_file.write_text(essays(), encoding="utf-8")
        theta_file.write_text(json.dumps(theta))
        runs = {
            "published": [sys.executable, __file__, "--published-run", str(text_file), str(theta_file),
                          str(Path(tmp) / "published")],
            "glyphpress": [glyphpress, "render", str(text_file), "-o", str(Path(tmp) / "glyphpress"), "-c",
                           str(theta_file), "-j", str(args.jobs)],
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        for cmd in runs.values():  # unmeasured: bytecode compiled, caches warm
            _run(cmd, env)
        for i in range(args.repeat):
            for k, cmd in runs.items():
                times[k].append(_run(cmd, env))
                print(f"run {i + 1} {k:<10} {times[k][-1]:6.2f} s", flush=True)
        pages = {k: len(list((Path(tmp) / k).glob("page_*.png"))) for k in runs}
    print(f"\nessays: {len(essays()):,} characters, θ {args.config} {' '.join(args.sets)}, font {Path(font).name}")
    for k in runs:
        print(f"{k:<10} pages {pages[k]:4d}  best {min(times[k]):6.2f} s  median {statistics.median(times[k]):6.2f} s")
    ratio = statistics.median(times["published"]) / statistics.median(times["glyphpress"])
    print(f"glyphpress is {ratio:.1f}x faster (median against median)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--published-run":
        published(*sys.argv[2:])
    else:
        main()
