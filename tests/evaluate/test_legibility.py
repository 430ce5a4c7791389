import pytest

from glyphpress import render
from glyphpress.evaluate.legibility import cer, normalize, page_scores

from .. import needs


def test_cer_and_normalisation():
    assert normalize(" a \n b\t\tc ") == "a b c"
    assert cer("a b c", "a\nb\nc") == 0
    assert cer("abcd", "abce") == pytest.approx(0.25)


@needs.package("rapidocr")
def test_rendered_page_reads_back():
    text = "The quick brown fox jumps over the lazy dog.\nPack my box with five dozen liquor jugs.\n" * 3
    r = render(text, "glyph-en", count_text=False)
    (score,) = page_scores(text, r, pages=1)
    assert score.cer < 0.05
