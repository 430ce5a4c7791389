"""Per-sample scores exactly as the reference evaluation code computes them, in [0, 1] before averaging
(the references report the mean times 100, rounded to two decimals).

    score(task, prediction, references, **extra) -> float

``task`` is a LongBench dataset name (v1 and LongBench-E, which adds ``_e``): its metric from LongBench's
``dataset2metric``, only the prediction's first line for trec, triviaqa, samsum and lsht, the best
score over the references, jieba for Chinese, ``all_classes=`` for the classification datasets;
``"mrcr"``: 0 unless the response starts with ``random_string_to_prepend=``, else difflib's
SequenceMatcher ratio with that prefix removed from both; or a RULER task name: the prediction
stripped, its control characters turned into newlines, then ``string_match_part`` for ``qa_*`` (any
reference found) and ``string_match_all`` for the rest (the share of references found), both
case-insensitive substring tests.

LongBench's scorers come from the same packages the reference uses (jieba, rouge, fuzzywuzzy without
python-Levenshtein, so difflib's ratio): ``pip install 'glyphpress[bench]'``.
"""

from __future__ import annotations

import difflib
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

from ..errors import GlyphpressError

FIRST_LINE = {"trec", "triviaqa", "samsum", "lsht"}  # scored on the prediction's first line only
RULER = {"niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multikey_2",
         "niah_multikey_3", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe", "qa_1", "qa_2"}
ZH_PUNCTUATION = ("！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿"
                  "｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟"
                  "〰〾〿–—‘’‛“”„‟…‧﹏.")


def score(task: str, prediction: str, references: Sequence[str] | str, **extra) -> float:
    """One sample's score in [0, 1] (see the module docstring)."""
    refs = [references] if isinstance(references, str) else list(references)
    if task == "mrcr":
        if "random_string_to_prepend" not in extra:
            raise GlyphpressError("mrcr: give random_string_to_prepend=")
        return mrcr(prediction, refs[0], extra["random_string_to_prepend"])
    if task in RULER:
        pred = ruler_postprocess(prediction)
        return string_match_part(pred, refs) if task.startswith("qa_") else string_match_all(pred, refs)
    dataset = task[:-2] if task.endswith("_e") and task[:-2] in LONGBENCH else task
    metric = LONGBENCH.get(dataset)
    if metric is None:
        raise GlyphpressError(f"unknown task {task!r}: a LongBench dataset, a RULER task or mrcr")
    if dataset in FIRST_LINE:
        prediction = prediction.lstrip("\n").split("\n")[0]
    best = 0.0
    for ref in refs:
        best = max(best, metric(prediction, ref, all_classes=extra.get("all_classes")))
    return float(best)


# ---- RULER ---------------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f]")


def ruler_postprocess(prediction: str) -> str:
    return _CONTROL.sub("\n", prediction.strip()).strip()


def string_match_all(prediction: str, references: Sequence[str]) -> float:
    found = [r.lower() in prediction.lower() for r in references]
    return sum(found) / len(found)


def string_match_part(prediction: str, references: Sequence[str]) -> float:
    return float(any(r.lower() in prediction.lower() for r in references))


# ---- MRCR ----------------------------------------------------------------------------------------------
def mrcr(response: str, answer: str, prefix: str) -> float:
    if not response.startswith(prefix):
        return 0.0
    return difflib.SequenceMatcher(None, response.removeprefix(prefix), answer.removeprefix(prefix)).ratio()


# ---- LongBench -----------------------------------------------------------------------------------------
def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise GlyphpressError(f"LongBench scores need {module}: pip install 'glyphpress[bench]'") from None


def _jieba_cut(text: str) -> list[str]:
    jieba = _need("jieba")
    jieba.setLogLevel(60)  # no "Building prefix dict" lines
    return list(jieba.cut(text, cut_all=False))


def normalize_answer(s: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


def normalize_zh_answer(s: str) -> str:
    drop = set(string.punctuation + ZH_PUNCTUATION)
    return "".join("".join(ch for ch in s.lower() if ch not in drop).split())


def f1(prediction: list[str], reference: list[str]) -> float:
    same = sum((Counter(prediction) & Counter(reference)).values())
    if same == 0:
        return 0.0
    p, r = same / len(prediction), same / len(reference)
    return 2 * p * r / (p + r)


def qa_f1(prediction: str, reference: str, **_) -> float:
    return f1(normalize_answer(prediction).split(), normalize_answer(reference).split())


def qa_f1_zh(prediction: str, reference: str, **_) -> float:
    def tokens(text: str) -> list[str]:
        return [t for t in (normalize_zh_answer(t) for t in _jieba_cut(text)) if t]

    return f1(tokens(prediction), tokens(reference))


def rouge_l(prediction: str, reference: str, **_) -> float:
    rouge = _need("rouge")
    try:
        return rouge.Rouge().get_scores([prediction], [reference], avg=True)["rouge-l"]["f"]
    except Exception:  # the reference scores any failure (an empty text, say) 0
        return 0.0


def rouge_l_zh(prediction: str, reference: str, **_) -> float:
    return rouge_l(" ".join(_jieba_cut(prediction)), " ".join(_jieba_cut(reference)))


def classification(prediction: str, reference: str, all_classes: Sequence[str] | None = None, **_) -> float:
    if all_classes is None:
        raise GlyphpressError("classification datasets need all_classes=")
    found = [name for name in all_classes if name in prediction]
    for name in found:  # removing while iterating skips the name after each one removed, as the reference does
        if name in reference and name != reference:
            found.remove(name)
    # (the reference's fallback to the most similar class name never runs: its guard compares a list with 0)
    return 1.0 / len(found) if reference in found else 0.0


def _numbers_matching(prediction: str, wanted: str) -> float:
    numbers = re.findall(r"\d+", prediction)
    return 0.0 if not numbers else sum(n == wanted for n in numbers) / len(numbers)


def retrieval(prediction: str, reference: str, **_) -> float:
    return _numbers_matching(prediction, re.findall(r"Paragraph (\d+)", reference)[0])


def retrieval_zh(prediction: str, reference: str, **_) -> float:
    return _numbers_matching(prediction, re.findall(r"段落(\d+)", reference)[0])


def count(prediction: str, reference: str, **_) -> float:
    return _numbers_matching(prediction, str(reference))


def code_sim(prediction: str, reference: str, **_) -> float:
    import warnings

    line = next((ln for ln in prediction.lstrip("\n").split("\n")
                 if "`" not in ln and "#" not in ln and "//" not in ln), "")
    with warnings.catch_warnings():  # fuzzywuzzy warns that it uses difflib: the reference did too
        warnings.simplefilter("ignore")
        fuzz = _need("fuzzywuzzy.fuzz")
    return fuzz.ratio(line, reference) / 100


LONGBENCH: dict[str, Callable[..., float]] = {
    "narrativeqa": qa_f1, "qasper": qa_f1, "multifieldqa_en": qa_f1, "multifieldqa_zh": qa_f1_zh,
    "hotpotqa": qa_f1, "2wikimqa": qa_f1, "musique": qa_f1, "dureader": rouge_l_zh, "gov_report": rouge_l,
    "qmsum": rouge_l, "multi_news": rouge_l, "vcsum": rouge_l_zh, "trec": classification, "triviaqa": qa_f1,
    "samsum": rouge_l, "lsht": classification, "passage_retrieval_en": retrieval, "passage_count": count,
    "passage_retrieval_zh": retrieval_zh, "lcc": code_sim, "repobench-p": code_sim,
}
