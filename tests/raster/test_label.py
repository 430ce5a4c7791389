"""Page labels: a small "p. N" (with a bundle part's name) in the bottom margin, costing no vision token,
never on in the presets."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from glyphpress import load_config, render
from glyphpress.config import PRESETS, ConfigError
from glyphpress.document import bundle

from .. import needs

TEXT = " ".join(f"Sentence {i} of a long report, written to fill several pages with plain words." for i in range(900))


def test_labels_sit_in_the_margin_and_cost_no_vision_token():
    plain = render(TEXT, "glyph-en", count_text=False)
    labelled = render(TEXT, load_config("glyph-en", ["page-label=true"]), count_text=False)
    assert len(plain.pages) == len(labelled.pages) >= 3
    assert [p.vision_tokens for p in plain.pages] == [p.vision_tokens for p in labelled.pages]
    for a, b in zip(plain.pages, labelled.pages):
        x, y = np.asarray(a.image.convert("L"), np.int16), np.asarray(b.image.convert("L"), np.int16)
        assert x.shape == y.shape
        changed = np.nonzero((x != y).any(axis=1))[0]
        last_ink = np.nonzero((x < 200).any(axis=1))[0][-1]
        assert len(changed) and changed[0] > last_ink  # only below the page's last line
        cols = np.nonzero((x != y).any(axis=0))[0]
        assert cols[0] > 0.8 * x.shape[1]  # at its right edge


@needs.package("rapidocr")
def test_a_vlm_can_read_the_label():
    from glyphpress.evaluate.legibility import ocr

    r = render(TEXT, load_config("glyph-en", ["page-label=true"]), count_text=False)
    img = r.pages[2].image
    strip = img.crop((img.width - 60, img.height - 12, img.width, img.height)).convert("L")
    canvas = Image.new("L", (strip.width + 40, strip.height + 40), 255)  # room around it, as a detector wants
    canvas.paste(strip, (20, 20))
    assert "p.3" in ocr(canvas.resize((canvas.width * 4, canvas.height * 4))).replace(" ", "")


def test_a_bundle_labels_each_page_with_its_document():
    doc = bundle([TEXT[:3000], TEXT], ["terms-and-conditions-of-service-2026.md", "annex.txt"])
    r = render(doc, load_config("glyph-en", ["page-label=true"]), count_text=False)
    from glyphpress.raster.label import label_text

    assert label_text(1, "terms-and-conditions-of-service-2026.md") == "terms-and-c…vice-2026.md · p. 1"
    assert label_text(7) == "p. 7"
    plain = render(doc, "glyph-en", count_text=False)
    widths = []
    for a, b in zip(plain.pages, r.pages):
        diff = np.nonzero((np.asarray(a.image.convert("L")) != np.asarray(b.image.convert("L"))).any(axis=0))[0]
        widths.append(diff[-1] - diff[0])
    assert widths[0] > 2 * widths[-1]  # the first page's label holds a document's name, a later one only p. N


def test_labels_are_off_in_every_preset_and_need_a_margin(tmp_path):
    for name in PRESETS:
        assert load_config(name).page_label is False
    with pytest.raises(ConfigError, match="page-label"):
        load_config("glyph-en", ["page-label=true", "margin-y=3"])
    (tmp_path / "a.txt").write_text("words " * 100)
    p = subprocess.run([sys.executable, "-m", "glyphpress", "render", str(tmp_path / "a.txt"), "-o",
                        str(tmp_path / "out"), "--set", "page-label=true", "--set", "margin-y=2"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "page-label" in p.stderr and p.stderr.count("\n") == 1


def test_labels_with_any_colour_and_in_a_long_render_with_several_processes():
    for sets in (["font-color=black"], ["font-color=#333"], ["page-bg-color=rgb(250,250,240)"]):
        r = render("words " * 2000, load_config("glyph-en", ["page-label=true", *sets]), count_text=False)
        assert len(r.pages) >= 1
    long = " ".join(f"Sentence {i} of a long report." for i in range(8000))  # over 200K characters
    assert len(long) > 200_000
    labelled = render(long, load_config("glyph-en", ["page-label=true"]), jobs=2, count_text=False)
    plain = render(long, "glyph-en", jobs=2, count_text=False)
    a, b = np.asarray(plain.pages[0].image.convert("L")), np.asarray(labelled.pages[0].image.convert("L"))
    assert (a != b).any()  # labels drawn, in one process
    assert plain.pages[0].lines is not None and len(plain.pages[0].lines) > 10  # lines kept in the shared render
