"""Peak memory of rendering and counting a long scanned-style PDF in raster mode (its pages kept as images).

    python benchmarks/raster_memory.py [--pages 600] [--dpi 150] [--jobs 0] [--compare-pages 50,600]

Builds the test PDF in a temporary folder: A4 pages, each a full-page photographic-looking scan (a smooth
random colour field with film grain, different on every page, embedded as a JPEG at 150 pixels per inch)
with one line of real text on top, so that every page has a text layer for the token accounting. Then runs,
each as its own process, ``glyphpress render PDF --pdf-mode raster --pdf-dpi DPI -o OUT`` and ``glyphpress
count PDF --pdf-mode raster --pdf-dpi DPI``, and every ~20 ms adds up the resident memory (VmRSS) of the
glyphpress process and all of its descendants, keeping the peak. A command that fails, or a render that does
not leave one page file per PDF page and a manifest.json, stops the benchmark.

Prints the pages, the PDF's size and the size of one rendered page in memory, then for each command its wall
time and the peak summed RSS in MB (10^6 bytes) against the target (600 MB, whatever the page count), with
each process's own peak and its share at the moment of the summed peak (anon: anonymous memory, file: mapped
files such as libraries; the children are glyphpress's token-counting process, the short-lived process that
parses the PDF under the time limit, and the one that renders the pages, all forked from the glyphpress
process). Memory a forked child still shares with its parent counts in both RSS figures, as the target's
definition asks; the summed PSS beside the peak (shared pages split among their sharers, read right after the
peak sample) shows how much of it is such sharing. ``--compare-pages 50,600`` runs several page counts and
prints one line per count, to show whether memory grows with the number of pages. Exits with status 1 when a
peak is over the target.

Linux only: memory is read from /proc. Needs NumPy, Pillow and ReportLab (the ``reference`` extra).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TARGET_MB = 600
SCAN_DPI = 150  # pixels per inch of the embedded page images
JPEG_QUALITY = 45
GRAIN = 8  # the film grain, uniform in -GRAIN..GRAIN 8-bit levels
MB = 1e6
A4_POINTS = (595.2756, 841.8898)

SENTENCES = [
    "The committee met on the third floor of the old customs house and agreed to postpone the vote.",
    "Rainfall in the upper valley was twice the seasonal average, and the river rose above its banks.",
    "A ledger from 1887 records the sale of forty barrels of salted herring to a merchant in Bergen.",
    "The survey team measured every field boundary again, since the earlier maps disagreed by a metre.",
    "Her letter describes the harbour at dawn: fishing boats, gulls, and a thin fog over the water.",
    "Minutes of the annual meeting, including the treasurer's report and the election of officers.",
    "The engine was rebuilt in the winter of 1931 with parts salvaged from a wrecked locomotive.",
    "Appendix C lists the parish registers consulted, with their shelf marks and dates of coverage.",
]


def page_image(i: int, width: int, height: int):
    """Page ``i``'s scan: a smooth random colour field (different on every page) with grain, as a JPEG."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(i)
    low = rng.integers(0, 256, (12, 9, 3), dtype=np.uint8)
    field_ = np.asarray(Image.fromarray(low).resize((width, height), Image.BICUBIC), dtype=np.int16)
    grain = rng.integers(-GRAIN, GRAIN + 1, (height, width, 1), dtype=np.int16)
    img = Image.fromarray(np.clip(field_ + grain, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY)
    buf.seek(0)
    return buf


def build_pdf(path: Path, pages: int) -> None:
    """``pages`` A4 pages, each a full-page scan (JPEG, embedded as it is) and one line of real text."""
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    rl_config.useA85 = 0  # the JPEGs go in as binary streams, not a quarter larger in ASCII85

    w, h = A4
    px = (round(w / 72 * SCAN_DPI), round(h / 72 * SCAN_DPI))
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("raster memory benchmark")
    for i in range(pages):
        c.drawImage(ImageReader(page_image(i, *px)), 0, 0, w, h)
        line = f"Page {i + 1}. {SENTENCES[i % len(SENTENCES)]}"
        c.setFillColorRGB(1, 1, 1)
        c.rect(40, h - 62, c.stringWidth(line, "Helvetica", 9) + 16, 24, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.setFont("Helvetica", 9)
        c.drawString(48, h - 53, line)
        c.showPage()
    c.save()


# -- memory of a process tree, from /proc


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])  # the name in (...) may hold spaces
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _tree(root: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def _status(pid: int) -> dict[str, int] | None:
    """VmRSS, RssAnon, RssFile, RssShmem in bytes (0 for a zombie); None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            text = f.read().decode("ascii", "replace")
    except OSError:
        return None
    out = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "RssShmem": 0}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in out:
            out[key] = int(value.split()[0]) * 1024
    return out


def _pss(pid: int) -> int:
    """Proportional set size in bytes: pages shared with other processes (a forked child's inherited heap)
    split among them; 0 where unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Proc:
    pid: int
    first: float
    last: float = 0.0
    peak: int = 0


@dataclass
class Measure:
    seconds: float = 0.0
    peak: int = 0  # summed VmRSS, bytes
    peak_pss: int = 0  # summed Pss of the same processes, read right after the peak sample
    at_peak: dict[int, dict[str, int]] = field(default_factory=dict)  # each process's share then
    procs: dict[int, Proc] = field(default_factory=dict)
    samples: int = 0
    stdout: str = ""


def measure(cmd: list[str], interval: float) -> Measure:
    """Run ``cmd``, sampling the summed RSS of it and its descendants every ``interval`` seconds."""
    m = Measure()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        while True:
            done = proc.poll() is not None
            now = time.perf_counter() - t0
            total, shares = 0, {}
            for pid in _tree(proc.pid):
                st = _status(pid)
                if st is None:
                    continue
                total += st["VmRSS"]
                shares[pid] = st
                p = m.procs.setdefault(pid, Proc(pid, now))
                p.last, p.peak = now, max(p.peak, st["VmRSS"])
            m.samples += 1
            if total > m.peak:
                m.peak, m.at_peak = total, shares
                m.peak_pss = sum(_pss(pid) for pid in shares)
            if done:
                break
            time.sleep(interval)
        m.seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        m.stdout = out.read().decode("utf-8", "replace")
        if proc.returncode != 0:
            sys.stderr.write(err.read().decode("utf-8", "replace"))
            raise SystemExit(f"FAILED (exit status {proc.returncode}): {' '.join(cmd)}")
    return m


def report(label: str, m: Measure) -> None:
    ok = "yes" if m.peak < TARGET_MB * MB else "NO"
    print(f"{label:7s} wall {m.seconds:7.1f} s   peak summed RSS {m.peak / MB:5.0f} MB   under {TARGET_MB:g} MB: "
          f"{ok:3s}  (summed PSS then {m.peak_pss / MB:.0f} MB; {len(m.procs)} processes, {m.samples} samples)")
    main_pid = min(m.procs, key=lambda pid: m.procs[pid].first) if m.procs else None
    for pid, p in sorted(m.procs.items(), key=lambda kv: (kv[1].first, kv[0])):
        role = "glyphpress" if pid == main_pid else "child"
        share = m.at_peak.get(pid)
        then = (f"at the summed peak {share['VmRSS'] / MB:5.0f} MB (anon {share['RssAnon'] / MB:.0f}, "
                f"file {share['RssFile'] / MB:.0f}, shmem {share['RssShmem'] / MB:.0f})") if share else \
            "gone at the summed peak"
        print(f"          pid {pid:<7d} {role:10s} seen {p.first:6.1f}-{p.last:6.1f} s   own peak "
              f"{p.peak / MB:5.0f} MB   {then}")


def check_render(out: Path, pages: int) -> None:
    files = sorted(out.glob("page_*.*"))
    if len(files) != pages:
        raise SystemExit(f"FAILED: render wrote {len(files)} page files for {pages} PDF pages")
    if not (out / "manifest.json").is_file():
        raise SystemExit("FAILED: render wrote no manifest.json")


def run(pages: int, args, tmp: Path) -> tuple[Measure, Measure]:
    import json

    pdf = tmp / f"scan_{pages}.pdf"
    t = time.perf_counter()
    build_pdf(pdf, pages)
    build_s = time.perf_counter() - t
    w, h = (math.ceil(v / 72 * args.dpi) for v in A4_POINTS)  # as pdfium renders it
    print(f"-- {pages} pages: PDF {pdf.stat().st_size / MB:.1f} MB ({pdf.stat().st_size / pages / 1e3:.0f} kB a "
          f"page, built in {build_s:.1f} s); one page at {args.dpi:g} dpi is about {w}x{h} RGB = "
          f"{w * h * 3 / MB:.1f} MB in memory ({pages * w * h * 3 / MB:,.0f} MB for all pages)")
    exe = str(Path(sys.executable).with_name("glyphpress"))
    common = ["--pdf-mode", "raster", "--pdf-dpi", f"{args.dpi:g}", "--max-pages", str(max(pages, 2000)),
              "--json"]
    out = tmp / f"out_{pages}"
    _settle()
    r = measure([exe, "render", str(pdf), "-o", str(out), "--jobs", str(args.jobs), *common], args.interval)
    check_render(out, pages)
    report("render", r)
    shutil.rmtree(out)
    _settle()
    c = measure([exe, "count", str(pdf), *common], args.interval)
    counted = json.loads(c.stdout)
    n = _pages_of(counted)
    if n is not None and n != pages:
        raise SystemExit(f"FAILED: count reported {n} pages for {pages} PDF pages")
    report("count", c)
    pdf.unlink()
    return r, c


def _pages_of(counted) -> int | None:
    """The page count in ``glyphpress count --json`` output (one input: an object with "pages")."""
    if isinstance(counted, list) and len(counted) == 1:
        counted = counted[0]
    pages = counted.get("pages") if isinstance(counted, dict) else None
    return pages if isinstance(pages, int) else None


def _settle() -> None:
    """Write out files earlier runs left to the disk, so that their write-back does not slow this one."""
    if hasattr(os, "sync"):
        os.sync()


def main() -> None:
    global TARGET_MB
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=600, help="pages of the test PDF (default 600)")
    ap.add_argument("--dpi", type=float, default=150, help="--pdf-dpi passed to glyphpress (default 150)")
    ap.add_argument("--jobs", type=int, default=0, help="--jobs passed to glyphpress render (0: one per core)")
    ap.add_argument("--compare-pages", default="",
                    help="comma-separated page counts to run one after another, e.g. 50,600 (overrides --pages)")
    ap.add_argument("--interval", type=float, default=0.02, help="seconds between memory samples")
    ap.add_argument("--target-mb", type=float, default=TARGET_MB)
    args = ap.parse_args()
    if not Path("/proc/self/status").exists():
        raise SystemExit("this benchmark reads /proc: Linux only")
    TARGET_MB = args.target_mb
    counts = [int(v) for v in args.compare_pages.split(",") if v.strip()] or [args.pages]
    print(f"glyphpress raster mode, {args.dpi:g} dpi, render --jobs {args.jobs}; cores: {os.cpu_count()}; "
          f"target: summed peak RSS under {TARGET_MB:g} MB")
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="raster_memory_"))
    try:
        for pages in counts:
            rows.append((pages, *run(pages, args, tmp)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if len(rows) > 1:
        print("-- summary: pages, render wall s / peak MB, count wall s / peak MB")
        for pages, r, c in rows:
            print(f"{pages:6d} pages   render {r.seconds:7.1f} s {r.peak / MB:6.0f} MB   "
                  f"count {c.seconds:6.1f} s {c.peak / MB:6.0f} MB")
    if any(m.peak >= TARGET_MB * MB for _, r, c in rows for m in (r, c)):
        sys.exit(1)


if __name__ == "__main__":
    main()
