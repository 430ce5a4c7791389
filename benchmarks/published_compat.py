"""Compatibility with the published Glyph renderer, page by page, on the essays corpus.

    python benchmarks/published_compat.py [--config glyph-en] [--set KEY=VALUE ...] [--text FILE]
                                          [--markup br,marker] [--ocr-pages 12|all] [--quiet]

For each newline markup (real line breaks ``<br/>``, and the red marker), the essays are laid out by
the published renderer's pipeline (ReportLab, then poppler's ``pdftoppm``, reproduced in
``glyphpress.evaluate.published``) and by glyphpress with the same θ and the same font file. Printed
per page: whether both pages hold exactly the same text (white space aside), the mean absolute
difference of their pixels (grey levels 0-255, over the larger page), and, with real line breaks, the
OCR character error rate of each renderer's page read by RapidOCR (PP-OCR models, 2x Lanczos
upscale) against the page's source text. ``--ocr-pages`` reads that many pages spread over the
document (OCR takes about 6 s a page on a laptop core), or ``all``.

``--text`` compares on another UTF-8 text file instead of the essays (OCR reads Latin script only: give
``--ocr-pages 0`` for other scripts). Then a summary: page counts, the share of pages with the same
text, mean and worst pixel difference, and the CER of both renderers over the pages read (weighted by
characters). Targets: same page count, at least 98% of pages with the same text, glyphpress's CER no
worse than the published pages'. Needs the ``reference`` and ``ocr`` extras and poppler-utils.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import essays  # noqa: E402

from glyphpress import load_config, render  # noqa: E402
from glyphpress.evaluate import published as P  # noqa: E402
from glyphpress.evaluate.legibility import cer, ocr  # noqa: E402

MARKUPS = {"br": "<br/>", "marker": "marker"}


def chosen(n: int, k: str) -> list[int]:
    """``k`` page numbers (0-based) spread evenly over ``n`` pages, or all of them."""
    if k == "all" or int(k) >= n:
        return list(range(n))
    k = int(k)
    return sorted({round(i * (n - 1) / max(1, k - 1)) for i in range(k)}) if k > 0 else []


def compare(text: str, config: str, sets: list[str], markup: str, ocr_pages: str, quiet: bool) -> dict:
    cfg = load_config(config, [*sets, f"newline-markup={MARKUPS[markup]}"])
    t = time.perf_counter()
    pdf = P.build_pdf(text, cfg)
    theirs_img = P.rasterize(pdf, cfg)
    theirs_text = P.page_texts(pdf)
    t_pub = time.perf_counter() - t
    t = time.perf_counter()
    ours = render(text, cfg, count_text=False)
    t_ours = time.perf_counter() - t
    marker = (cfg.newline.text or "").strip()

    def norm(s: str) -> str:
        return P.normalise(s.replace(marker, "") if marker else s)

    read = set(chosen(min(len(ours.pages), len(theirs_img)), ocr_pages)) if markup == "br" else set()
    rows = []
    for i in range(max(len(ours.pages), len(theirs_img))):
        row = {"page": i + 1, "same": False, "diff": None, "cer_ours": None, "cer_published": None, "chars": 0}
        if i < len(ours.pages) and i < len(theirs_img):
            page = ours.pages[i]
            a, b = page.source_range
            row["same"] = norm(text[a:b]) == norm(theirs_text[i])
            row["diff"] = P.mean_abs_diff(page.image, theirs_img[i])
            if i in read:
                row["chars"] = b - a
                row["cer_ours"] = cer(ocr(page.image), text[a:b])
                # the published page's own text: its source range where both agree, else its PDF's text layer
                row["cer_published"] = cer(ocr(theirs_img[i]), text[a:b] if row["same"] else theirs_text[i])
        rows.append(row)
        if not quiet:
            cells = [f"page {row['page']:4d}", "same text" if row["same"] else "DIFFERENT"]
            if row["diff"] is not None:
                cells.append(f"pixel diff {row['diff']:6.3f}")
            if row["cer_ours"] is not None:
                cells.append(f"CER glyphpress {100 * row['cer_ours']:5.2f}%  "
                             f"published {100 * row['cer_published']:5.2f}%")
            print(f"[{markup}] " + "  ".join(cells), flush=True)
    diffs = [r["diff"] for r in rows if r["diff"] is not None]
    ocr_rows = [r for r in rows if r["cer_ours"] is not None]
    chars = sum(r["chars"] for r in ocr_rows)
    return {
        "markup": markup, "published_pages": len(theirs_img), "glyphpress_pages": len(ours.pages),
        "same": sum(r["same"] for r in rows), "mean_diff": sum(diffs) / max(1, len(diffs)),
        "max_diff": max(diffs, default=0.0), "ocr_pages": len(ocr_rows),
        "cer_ours": sum(r["cer_ours"] * r["chars"] for r in ocr_rows) / max(1, chars),
        "cer_published": sum(r["cer_published"] * r["chars"] for r in ocr_rows) / max(1, chars),
        "t_published": t_pub, "t_ours": t_ours,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="glyph-en")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="a θ key for both, e.g. dpi=96")
    ap.add_argument("--markup", default="br,marker", help="br, marker or both (comma-separated)")
    ap.add_argument("--ocr-pages", default="12", help="pages to read with OCR (with real line breaks), or all")
    ap.add_argument("--quiet", action="store_true", help="the summary only")
    ap.add_argument("--text", help="a UTF-8 text file to compare on instead of the essays")
    args = ap.parse_args()
    if args.ocr_pages != "all" and not args.ocr_pages.isdigit():
        ap.error("--ocr-pages takes a number or 'all'")
    text = Path(args.text).read_text(encoding="utf-8") if args.text else essays()
    summaries = [compare(text, args.config, args.sets, m.strip(), args.ocr_pages, args.quiet)
                 for m in args.markup.split(",")]
    font = Path(P.font_file(load_config(args.config, args.sets))).name
    source = Path(args.text).name if args.text else "essays"
    print(f"\n{source}: {len(text):,} characters, θ {args.config} {' '.join(args.sets)}, font {font}")
    for s in summaries:
        n = max(s["published_pages"], s["glyphpress_pages"])
        print(f"[{s['markup']}] pages: published {s['published_pages']}, glyphpress {s['glyphpress_pages']}; "
              f"same text on {s['same']}/{n} ({100 * s['same'] / max(1, n):.1f}%); pixel difference mean "
              f"{s['mean_diff']:.3f}, worst {s['max_diff']:.3f} grey levels")
        if s["ocr_pages"]:
            print(f"[{s['markup']}] OCR CER over {s['ocr_pages']} pages: glyphpress {100 * s['cer_ours']:.2f}%, "
                  f"published {100 * s['cer_published']:.2f}%")


if __name__ == "__main__":
    main()
