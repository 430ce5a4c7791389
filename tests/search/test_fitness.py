"""What a θ candidate is worth: ρ from exact accounting, OCR legibility of pages spread over the text, the
objective, the Pareto front."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glyphpress import count, load_config, render
from glyphpress.errors import GlyphpressError
from glyphpress.search import Compression, Evaluation, Legibility, TaskAccuracy, bound, objective, pareto, spread

from .. import needs

TEXT = " ".join(f"Sentence {i} of a plain essay about reading pages, with words OCR knows well." for i in range(150))


def test_compression_is_the_accounting_ratio():
    cfg = load_config("glyph-en")
    e = Compression(TEXT, "qwen2.5-vl")(cfg)
    want = count(TEXT, cfg, model="qwen2.5-vl")
    assert e.rho == pytest.approx(want.ratio) and e.quality is None and e.pages == len(want.pages)
    denser = Compression(TEXT, "qwen2.5-vl")(cfg.replace(dpi=50))
    assert denser.rho > e.rho  # fewer pixels, fewer vision tokens, the same text


@pytest.mark.parametrize("count_, k, want", [(1, 8, [0]), (8, 8, list(range(8))), (9, 1, [4]),
                                            (100, 8, [0, 14, 28, 42, 57, 71, 85, 99])])
def test_pages_read_are_spread_over_the_document(count_, k, want):
    assert spread(count_, k) == want


@needs.package("rapidocr")
def test_legibility_reads_pages_spread_over_the_text_and_sees_small_print():
    cfg = load_config("glyph-en").replace(page_size=(260.0, 120.0))  # small pages: OCR in a few seconds
    text = TEXT[:3000]
    sharp = Legibility(text, "qwen2.5-vl", pages=2)(cfg.replace(dpi=96))
    blurry = Legibility(text, "qwen2.5-vl", pages=2)(cfg.replace(dpi=40))
    assert sharp.quality > 0.9 and blurry.quality < sharp.quality
    assert blurry.rho > sharp.rho
    assert list(sharp.info["pages_read"]) == [1, sharp.pages] and sharp.info["reading"]["angle"] is False


@needs.package("rapidocr")
def test_legibility_stops_reading_once_a_candidate_is_under_the_floor():
    """The errors of the pages read already exceed what the floor allows over all of them: the rest are not
    read, and reading them would not have lifted the candidate over the floor."""
    cfg = load_config("glyph-en").replace(page_size=(260.0, 120.0))
    fit = Legibility(TEXT[:3000], "qwen2.5-vl", pages=4)
    blurry = cfg.replace(dpi=60)  # about 5% of errors on a page: the floor is lost after a few pages
    full, stopped = fit(blurry), fit(blurry, floor=0.975)
    assert full.quality < 0.975 and "stopped" not in full.info and len(full.info["pages_read"]) == 4
    assert "stopped" in stopped.info and stopped.quality < 0.975
    pages = render(TEXT[:3000], blurry, model="qwen2.5-vl").pages
    sizes = [pages[n - 1].source_range[1] - pages[n - 1].source_range[0] for n in full.info["pages_read"]]
    made = np.cumsum([rate * size for rate, size in zip(full.info["pages_read"].values(), sizes)])
    first_over = int(np.argmax(made > 0.025 * sum(sizes))) + 1  # the first page after which the floor is lost
    assert len(stopped.info["pages_read"]) == first_over < 4
    first = next(iter(full.info["pages_read"]))
    assert stopped.info["pages_read"][first] == full.info["pages_read"][first]
    fair = cfg.replace(dpi=50)  # just over the floor, errors on every page: every page read, nothing changed
    whole = fit(fair)
    kept = fit(fair, floor=whole.quality - 1e-9)
    assert "stopped" not in kept.info and kept.quality == whole.quality and len(kept.info["pages_read"]) == 4


def test_objective_floor_and_weight():
    good = Evaluation(3.0, 0.97, 10, 300, 100)
    dense = Evaluation(5.0, 0.80, 6, 300, 60)
    assert objective(dense) > objective(good)  # ρ alone
    assert objective(good, floor=0.9) > objective(dense, floor=0.9)  # under the floor loses to any above it
    assert objective(dense, floor=0.9) < 0 <= objective(good, floor=0.9)
    assert objective(good, weight=0.9) > objective(dense, weight=0.9)
    assert objective(Evaluation(2.0, None, 1, 2, 1), floor=0.99) == 2.0


points_ = st.lists(st.tuples(st.floats(0, 10), st.floats(0, 1)), min_size=1, max_size=30)


@given(points=points_)
def test_the_pareto_front_is_exactly_the_points_nothing_dominates(points):
    front = pareto(points)

    def dominated(i):
        return any((q[0] >= points[i][0] and q[1] >= points[i][1] and q != points[i]) for q in points)

    kept = {points[i] for i in front}
    assert len(kept) == len(front)  # equal points once
    for i, p in enumerate(points):
        assert (p in kept) == (not dominated(i))


def test_the_bound_is_the_score_at_perfect_quality():
    assert bound(2.5) == 2.5 and bound(2.5, floor=0.99) == 2.5
    assert bound(2.5, weight=0.5) == pytest.approx(0.5 + 0.5 * 2.5 / 3.5)
    for q in (0.0, 0.5, 0.99):  # no quality scores above it
        e = Evaluation(2.5, q, 1, 1, 1)
        assert objective(e, floor=0.9) <= bound(2.5, floor=0.9) and objective(e, weight=0.3) <= bound(2.5, weight=0.3)


@pytest.fixture
def haystack(tmp_path):
    path = tmp_path / "haystack.txt"
    path.write_text(TEXT * 4)
    return path


@needs.package("rapidocr", "wonderwords")
def test_a_bench_task_read_by_ocr_scores_legible_needles(haystack):
    fit = TaskAccuracy("niah_single_2", "ocr", "qwen2.5-vl", lengths=(1024,), n=2, seed=1, haystack=str(haystack))
    samples = fit.samples()
    assert len(samples) == 2 and all(s.references[0] in s.context for s in samples)
    sharp = fit(load_config("glyph-en"))
    tiny = fit(load_config("glyph-en", ["dpi=30", "font-size=7", "line-height=7"]))
    assert sharp.quality == 1.0 and sharp.info["scores"] == [1.0, 1.0] and sharp.info["errors"] == 0
    assert tiny.quality < 1.0 and tiny.rho > sharp.rho
    assert sharp.rho == pytest.approx(fit.rho(load_config("glyph-en")))  # counting gives the same ρ as reading
    want = sum(count(s.context, load_config("glyph-en"), model="qwen2.5-vl").vision_tokens for s in samples)
    assert sharp.vision_tokens == want
    other = TaskAccuracy("niah_single_2", "ocr", "qwen2.5-vl", lengths=(1024,), n=2, seed=2, haystack=str(haystack))
    assert other.key() != fit.key() and fit.key().startswith("bench/niah_single_2/ocr:")


@needs.package("wonderwords")
def test_a_bench_task_on_the_visual_route_asks_the_vlm_with_the_pages(haystack):
    from ..vlm.fake_server import FakeEngine

    probe = TaskAccuracy("niah_single_2", lengths=(1024,), n=1, seed=4, haystack=str(haystack))
    answer = probe.samples()[0].references[0]
    cfg = load_config("glyph-en")
    for reply, want in ((f"The special magic number is {answer}.", 1.0), ("I cannot find it.", 0.0)):
        with FakeEngine(answer=reply) as engine:
            fit = TaskAccuracy("niah_single_2", "visual", "qwen2.5-vl", engine.url, lengths=(1024,), n=1, seed=4,
                               haystack=str(haystack))
            e = fit(cfg)
            assert e.quality == want and e.pages >= 1
            parts = engine.requests[0]["body"]["messages"][-1]["content"]
            assert sum(p.get("type") == "image_url" for p in parts) == e.pages  # the pages went to the VLM
    with pytest.raises(GlyphpressError, match="base-url"):
        TaskAccuracy("niah_single_2", "visual", "qwen2.5-vl")
    with FakeEngine(script=("400",)) as engine:  # every item refused: the search stops with the reason
        fit = TaskAccuracy("niah_single_2", "visual", "qwen2.5-vl", engine.url, lengths=(1024,), n=1, seed=4,
                           haystack=str(haystack))
        with pytest.raises(GlyphpressError, match="every sample failed"):
            fit(cfg)
