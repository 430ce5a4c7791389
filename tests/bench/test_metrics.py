"""Per-sample scores against values worked out by hand from the reference definitions (LongBench's
metrics.py and eval.py, RULER's eval constants and post-processing, MRCR's grader)."""

import pytest

from glyphpress.bench.metrics import score
from glyphpress.errors import GlyphpressError

from .. import needs

bench = needs.package("jieba", "rouge", "fuzzywuzzy")


def test_ruler_string_match_all_and_part():
    refs = ["7319", "8820", "1004", "2451"]
    # the share of the references found, case-insensitive, after stripping and control characters
    assert score("niah_multivalue", "  The numbers: 7319,\x008820\x1f and 1004. ", refs) == 0.75
    assert score("niah_single_1", "MAGIC NUMBER IS 12", ["magic number is 12"]) == 1.0
    assert score("qa_1", "Paris, I think", ["London", "paris"]) == 1.0  # any one reference
    assert score("qa_2", "Rome", ["London", "paris"]) == 0.0
    # a control character between the halves of a reference breaks it (it becomes a newline)
    assert score("vt", "X\x01Y", ["X Y"]) == 0.0 and score("vt", "X\x01Y", ["X\nY"]) == 1.0


def test_mrcr_prefix_rule_and_ratio():
    assert score("mrcr", "poem about tapirs", "xK2a poem about tapirs", random_string_to_prepend="xK2a") == 0.0
    assert score("mrcr", "xK2a poem about tapirs", "xK2a poem about tapirs", random_string_to_prepend="xK2a") == 1.0
    # "abcd" against "abce": 3 characters match of 8 in all: 2 * 3 / 8
    assert score("mrcr", "P-abcd", "P-abce", random_string_to_prepend="P-") == pytest.approx(0.75)
    with pytest.raises(GlyphpressError, match="random_string_to_prepend"):
        score("mrcr", "x", "x")


def test_longbench_qa_f1_first_line_rule_and_best_reference():
    # "The cat sat." -> cat sat; "a cat sat down" -> cat sat down: precision 1, recall 2/3, F1 0.8
    assert score("hotpotqa", "The cat sat.", ["a cat sat down"]) == pytest.approx(0.8)
    assert score("narrativeqa", "The cat sat.", ["nothing alike", "a cat sat down", "cat"]) == pytest.approx(0.8)
    # triviaqa: only the first line (after leading newlines) counts; hotpotqa reads everything
    assert score("triviaqa", "\n\nParis\nLondon is not it", ["London"]) == 0.0
    assert score("hotpotqa", "\n\nParis\nLondon", ["London"]) == pytest.approx(2 / 3)
    assert score("triviaqa_e", "\nParis\nx", ["paris"]) == 1.0  # LongBench-E's names
    with pytest.raises(GlyphpressError, match="unknown task"):
        score("nope", "x", ["x"])


def test_longbench_counts_and_retrieval():
    assert score("passage_count", "There are 3 unique paragraphs out of 3", ["3"]) == 1.0
    assert score("passage_count", "3 or 4", ["3"]) == 0.5
    assert score("passage_count", "none", ["3"]) == 0.0
    assert score("passage_retrieval_en", "Paragraph 12, maybe 13", ["Paragraph 12"]) == 0.5
    assert score("passage_retrieval_zh", "答案是段落5", ["段落5"]) == 1.0


@bench
def test_longbench_classification_keeps_the_reference_quirk():
    classes = ["a", "ab", "abc", "x"]
    # found a, ab, abc, x; "a" is removed (part of the reference), which skips "ab" (removal while
    # iterating), so ab, abc, x remain: 1/3 (a careful reading would give 1/2)
    assert score("trec", "abc x", ["abc"], all_classes=classes) == pytest.approx(1 / 3)
    assert score("trec", "Location", ["Location"], all_classes=["Location", "Human"]) == 1.0
    assert score("lsht", "Human\nLocation", ["Location"], all_classes=["Location", "Human"]) == 0.0  # first line
    with pytest.raises(GlyphpressError, match="all_classes"):
        score("trec", "x", ["x"])


@bench
def test_longbench_rouge_code_and_chinese():
    # ROUGE-L F: "the cat sat" in "the cat sat on a mat": LCS 3, precision 1, recall 1/2 -> 2/3
    assert score("gov_report", "the cat sat", ["the cat sat on a mat"]) == pytest.approx(2 / 3, abs=1e-6)
    assert score("samsum", "", ["anything"]) == 0.0  # the reference scores a failure 0
    # code: the first line without ` # or //; "return x+1" in "return x + 1": 2 * 10 / 22 -> 91 / 100
    assert score("lcc", "```python\n# add one\nreturn x+1\n", ["return x + 1"]) == 0.91
    assert score("repobench-p", "// only comments", ["x = 1"]) == 0.0
    # Chinese: jieba's words, punctuation gone; 下一年度的预算 -> 下 一 年度 的 预算 (5) against
    # 预算是多少 -> 预算 是 多少 (3): one word in common, precision 1/5, recall 1/3 -> F1 0.25
    assert score("multifieldqa_zh", "下一年度的预算。", ["预算是多少"]) == pytest.approx(0.25)
    assert score("vcsum", "预算是多少", ["预算是多少"]) == pytest.approx(1.0, abs=1e-6)
