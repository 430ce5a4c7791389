"""The search space: presets load, every candidate the operators make is valid, files round-trip, bad files
are one-line errors."""

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glyphpress.errors import ConfigError
from glyphpress.search import SPACES, Param, Space, load_space

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@pytest.mark.parametrize("name", sorted(SPACES))
@settings(max_examples=40, deadline=None)
@given(seed=seeds)
def test_sampled_mutated_and_crossed_candidates_are_always_valid(name, seed):
    space = load_space(name)
    rng = random.Random(seed)
    a, b = space.sample(rng), space.sample(rng)
    for theta in (a, b, space.mutate(a, rng, rate=0.9, strength=0.8), space.crossover(a, b, rng)):
        assert space.problems(theta) == []
        cfg = space.config(theta)
        assert cfg.font_size <= cfg.line_height <= cfg.font_size + 3
        assert cfg.page_size[0] - 2 * cfg.margin_x >= 0.5 * cfg.page_size[0]
        assert space.repair(theta) == theta  # repairing a valid θ changes nothing


@settings(max_examples=60, deadline=None)
@given(seed=seeds, size=st.floats(1, 40), height=st.floats(1, 40), margin=st.floats(0, 400))
def test_repair_makes_any_candidate_valid(seed, size, height, margin):
    space = load_space("en")
    theta = space.sample(random.Random(seed)) | {"font-size": size, "line-height": height, "margin-x": margin,
                                                 "dpi": 7, "alignment": "SIDEWAYS"}
    fixed = space.repair(theta)
    assert space.problems(fixed) == []


def test_problems_name_what_is_wrong():
    space = load_space("en")
    theta = space.sample(random.Random(0)) | {"font-size": 12, "line-height": 10, "margin-x": 40,
                                              "page-size": "420,595"}
    space = space.freeze({"margin-x": 200})
    problems = space.problems(theta | {"margin-x": 200})
    assert any("below the font size" in p for p in problems)
    assert any("for text" in p for p in problems)
    assert load_space("en").problems(theta | {"font-size": 9.3, "line-height": 10}) == [
        "font-size=9.3 is outside the space"]  # off its 0.5-point grid


def test_frozen_keys_never_change():
    space = load_space("en").freeze({"dpi": 96, "font-family": "serif"})
    rng = random.Random(3)
    for _ in range(50):
        theta = space.mutate(space.sample(rng), rng, rate=1.0)
        assert theta["dpi"] == 96 and theta["font-family"] == "serif"


def test_priors_follow_the_paper():
    space = load_space("en")
    rng = random.Random(5)
    thetas = [space.sample(rng) for _ in range(400)]
    scales = [t["horizontal-scale"] for t in thetas]
    assert all(0.75 <= s <= 1.0 for s in scales) and sum(s >= 0.9 for s in scales) > sum(s < 0.85 for s in scales)
    aligns = [t["alignment"] for t in thetas]
    assert aligns.count("LEFT") + aligns.count("JUSTIFY") > 0.8 * len(aligns)
    assert {t["dpi"] for t in thetas} >= {72, 96} and all(45 <= t["dpi"] <= 120 for t in thetas)


def test_a_space_file_round_trips_and_bad_files_are_one_line_errors(tmp_path):
    space = load_space("zh")
    path = tmp_path / "space.json"
    space.save(path)
    assert load_space(path).to_dict() == space.to_dict()
    for text, match in [("{", "not valid JSON"), ('{"keys": 3}', '"keys"'),
                        ('{"keys": {"dpi": {"float": [100, 50]}}}', "space key 'dpi': a range needs low <= high"),
                        ('{"keys": {"dpi": {"range": [1, 2]}}}', "unknown field"),
                        ('{"keys": {"no-such-key": {"choice": [1, 2]}}}', "no-such-key"),
                        ('{"keys": {"dpi": {"choice": []}}}', "needs options")]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=match) as e:
            load_space(bad)
        assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="neither a space preset"):
        load_space(tmp_path / "missing.json")


def test_a_yaml_space_where_pyyaml_is_installed(tmp_path):
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({"base": "glyph-en", "keys": {"dpi": {"choice": [72, 96]},
                                                                 "font-size": {"float": [8, 10], "step": 0.5}}}))
    space = load_space(path)
    assert space.params["dpi"] == Param("choice", options=(72, 96))
    assert json.loads(json.dumps(space.to_dict()))["keys"]["font-size"] == {"float": [8.0, 10.0], "step": 0.5}


def test_crossover_keeps_font_size_and_line_height_together():
    space = Space({"font-size": Param("float", low=7, high=14, step=0.5),
                   "line-height": Param("float", low=7, high=17, step=0.5),
                   "dpi": Param("choice", options=(72, 96))})
    a = {"font-size": 8.0, "line-height": 9.0, "dpi": 72}
    b = {"font-size": 13.0, "line-height": 15.0, "dpi": 96}
    rng = random.Random(0)
    for _ in range(30):
        child = space.crossover(a, b, rng)
        assert (child["font-size"], child["line-height"]) in ((8.0, 9.0), (13.0, 15.0))


@pytest.mark.parametrize("name", ["en", "zh", "code"])
def test_colour_themes_and_indents_move_as_groups(name):
    from glyphpress.search.space import THEMES

    space = load_space(name)
    triplets = {tuple(sorted(t.items())) for t in THEMES.values()}
    rng = random.Random(11)
    seen = set()
    for _ in range(300):
        cfg = space.config(space.mutate(space.sample(rng), rng))
        colours = (("font-color", cfg.font_color), ("page-bg-color", cfg.page_bg_color),
                   ("para-bg-color", cfg.para_bg_color))
        assert tuple(sorted(colours)) in triplets  # never a dark font on a dark page
        seen.add(cfg.page_bg_color)
        if name != "code":
            assert (cfg.first_line_indent, cfg.left_indent) in {(0, 0), (9, 0), (14, 0), (22, 0), (0, 18), (-14, 14)}
    assert len(seen) >= 3 and seen & {"#0D1117", "#1E1E1E", "#282C34"}  # dark themes drawn too
    base = space.project(space.base_config().to_dict())
    assert space.config(base) == space.base_config() and space.problems(base) == []


def test_a_dark_theme_draws_light_text_on_a_dark_page():
    import numpy as np

    from glyphpress import render
    from glyphpress.search.space import THEMES

    space = load_space("en")
    theta = space.project(space.base_config().to_dict()) | {"colours": THEMES["dark"]}
    page = np.asarray(render("Dark pages read too. " * 200, space.config(theta)).pages[0].image.convert("L"))
    assert np.median(page) < 40 and page.max() > 180


def test_ordered_options_mutate_mostly_to_their_neighbours():
    p = Param("choice", options=(45, 50, 60, 66, 72, 80, 96, 100, 110, 120))
    rng = random.Random(2)
    moves = [p.mutate(72, rng) for _ in range(2000)]
    near = sum(m in (66, 80) for m in moves) / len(moves)
    assert 0.7 < near < 0.85 and 72 not in moves and set(moves) == set(p.options) - {72}  # far ones now and then
    names = Param("choice", options=("LEFT", "JUSTIFY", "RIGHT"))
    assert {names.mutate("LEFT", rng) for _ in range(200)} == {"JUSTIFY", "RIGHT"}


def test_a_stride_takes_the_same_step_again():
    hs = Param("float", low=0.75, high=1.0, step=0.01)
    assert hs.stride(0.92, 0.89) == 0.86 and hs.stride(0.92, 0.89, factor=2) == 0.83
    assert hs.stride(0.89, 0.92) == 0.95 and hs.stride(0.78, 0.76) == 0.75  # up too; the range's end at most
    assert hs.stride(0.80, 0.80) == 0.80
    dpi = Param("choice", options=(45, 50, 60, 66, 72, 80, 96))
    assert dpi.stride(72, 66) == 60 and dpi.stride(72, 66, factor=2) == 50 and dpi.stride(66, 72) == 80
    assert dpi.stride(50, 45) == 45 and dpi.stride(80, 72, factor=9) == 45  # the last option at most
    assert Param("choice", options=("420,595", "595,842")).stride("595,842", "420,595") == "420,595"  # no order
    assert Param("fixed", value=3).stride(2, 3) == 3
    space = load_space("en")
    theta = space.project(space.base_config().to_dict()) | {"horizontal-scale": 0.9, "dpi": 66}
    moved = space.stride(theta, {"horizontal-scale": (0.93, 0.9), "dpi": (72, 66), "gone": (1, 2)})
    assert moved == theta | {"horizontal-scale": 0.87, "dpi": 60}
    # a key the θ no longer has at the step's end (a crossover took another value) is left as it is
    assert space.stride(theta, {"horizontal-scale": (0.95, 0.92)}) == theta


@settings(max_examples=60, deadline=None)
@given(seed=seeds, factor=st.integers(1, 3))
def test_strides_keep_candidates_valid_and_follow_the_step(seed, factor):
    space = load_space("en")
    rng = random.Random(seed)
    before = space.sample(rng)
    after = space.mutate(before, rng, rate=0.5, strength=0.5)
    step = {k: (before[k], v) for k, v in after.items() if before[k] != v}
    moved = space.stride(after, step, factor)
    assert space.problems(moved) == []
    for k, (old, new) in step.items():
        if space.params[k].kind == "float" and k not in ("line-height", "margin-x", "margin-y"):  # not repaired
            assert (moved[k] - new) * (new - old) >= 0  # onwards, or held at the range's end
