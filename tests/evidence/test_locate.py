"""Evidence: answers traced to the pages and lines they rest on, in English and Chinese, across line and page
breaks, through the ask command against a loopback OpenAI-compatible server."""

import json
import subprocess
import sys

import numpy as np
import pytest

from glyphpress import render
from glyphpress.evidence import find, locate
from glyphpress.evidence.locate import queries

from .. import needs
from ..vlm.fake_server import FakeEngine

FILLER = [f"Paragraph {i} talks about weather, trains and the price of bread in towns nobody visits."
          for i in range(120)]
CLAUSE = "The supplier shall answer every support request within four business hours of receipt"
TEXT = "\n".join(FILLER[:70] + [CLAUSE + "."] + FILLER[70:])
ZH_FILLER = [f"第{i}段讲的是天气、火车和面包的价格。" for i in range(150)]
ZH_CLAUSE = "供应商应在收到请求后四个工作小时内答复每一项支持请求"
ZH_TEXT = "\n".join(ZH_FILLER[:90] + [ZH_CLAUSE + "。"] + ZH_FILLER[90:])


def where(text, phrase):
    at = text.find(phrase)
    assert at >= 0
    return at, at + len(phrase)


def test_a_quoted_answer_is_found_word_for_word_with_its_page_and_line():
    r = render(TEXT, "glyph-en")
    cites = locate(f'The contract says: "{CLAUSE.lower()}".', r)
    a, b = where(TEXT, CLAUSE)
    assert cites[0].kind == "quote" and cites[0].score == 100 and cites[0].chars == (a, b)
    page = next(p for p in r.pages if p.source_range[0] <= a < p.source_range[1])
    line = next(i for i, ln in enumerate(page.lines) if ln[0] <= a < max(ln[1], ln[0] + 1))
    assert cites[0].pages == (page.index + 1, page.index + 1) and cites[0].lines[0] == line + 1
    assert cites[0].label() == f"[p. {page.index + 1}, lines {line + 1}-{cites[0].lines[1]}]" or \
        cites[0].label() == f"[p. {page.index + 1}, line {line + 1}]"


def test_a_paraphrase_is_found_by_its_key_phrases_and_fuzzily():
    r = render(TEXT, "glyph-en")
    said = "They promise to answer every support request within four business hours, so the reply is quick."
    cites = locate(said, r)
    a, b = where(TEXT, CLAUSE)
    assert cites and cites[0].kind == "phrase" and a <= cites[0].chars[0] < cites[0].chars[1] <= b
    misread = "The suplier shal answer evrey support reqest within four busines hours of receit"
    fuzzy = find(misread, TEXT)  # no four words in a row as written: a fuzzy match
    assert fuzzy and fuzzy[0].kind == "fuzzy" and fuzzy[0].chars[0] < b and fuzzy[0].chars[1] > a
    s, e = fuzzy[0].chars
    assert not TEXT[s - 1].isalnum() and not TEXT[e].isalnum()  # whole words
    assert find("Nothing in this answer was ever written in the document at all, anywhere.", TEXT) == []


def test_a_passage_across_a_page_break_cites_both_pages():
    r = render(TEXT, "glyph-en", count_text=False)
    first = r.pages[0]
    end = first.source_range[1]
    a = TEXT.rfind("\n", 0, end - 30) + 1  # the paragraph the page ends in, and the next one
    b = TEXT.find(".", end + 10)
    assert 0 < a < end < b
    passage = " ".join(TEXT[a:b].split())
    cites = locate(f'It says "{passage}".', r)
    assert cites[0].pages == (1, 2) and cites[0].kind == "quote"
    assert {p for p, *_ in cites[0].boxes} == {1, 2}
    assert cites[0].lines[0] > cites[0].lines[1]  # from a line low on page 1 to one high on page 2


def test_chinese_answers_are_located():
    r = render(ZH_TEXT, "glyph-zh")
    cites = locate(f"合同规定：“{ZH_CLAUSE}”。", r)
    assert cites[0].chars == where(ZH_TEXT, ZH_CLAUSE) and cites[0].kind == "quote"
    cites = locate("根据文件，供应商要在四个工作小时以内回复每项支持请求。", r)  # shares 四个工作小时 only
    a, b = where(ZH_TEXT, ZH_CLAUSE)
    assert cites and a <= cites[0].chars[0] and cites[0].chars[1] <= b and cites[0].kind == "phrase"


def test_queries_split_quotes_and_clauses():
    q = queries("He wrote “the sky is green today” and then: it was late, very late at night. "
                "好的。供应商应在四小时内答复")
    assert q[0] == ("quote", "the sky is green today")
    assert ("clause", "供应商应在四小时内答复") in q and all(k != "quote" for k, _ in q[1:])


@needs.package("rapidocr")
def test_the_boxes_hold_the_cited_lines_on_the_page_image():
    from glyphpress.evaluate.legibility import ocr

    r = render(TEXT, "glyph-en")
    cites = locate(f'"{CLAUSE}"', r)
    page, x0, y0, x1, y1 = cites[0].boxes[0]
    img = r.pages[page - 1].image
    crop = img.crop((int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))))
    read = " ".join(ocr(crop.resize((crop.width * 3, crop.height * 3))).split()).lower()
    assert "supplier" in read and "support" in read  # the box holds the cited line
    ink = np.asarray(img.convert("L"))[:, int(x0):int(np.ceil(x1))].min(axis=1) < 128
    row = int(y1) - 4  # just above the baseline: inside the line's ink
    top, bottom = row, row
    while ink[top - 1]:
        top -= 1
    while ink[bottom + 1]:
        bottom += 1
    assert ink[row] and y0 <= top and bottom <= y1  # all of the line's ink, from ascenders to descenders
    above = img.crop((int(x0), int(y0) - 11, int(np.ceil(x1)), int(y0) - 1))  # the line above: other words
    assert "supplier" not in ocr(above.resize((above.width * 3, above.height * 3))).lower()


def test_ask_prints_the_citations_under_the_answer_and_in_json(tmp_path):
    doc = tmp_path / "contract.txt"
    doc.write_text(TEXT)
    answer = f'Within four hours: "{CLAUSE}".'
    with FakeEngine(answer=answer) as eng:
        p = subprocess.run([sys.executable, "-m", "glyphpress", "ask", str(doc), "-q", "How fast?", "--model",
                            "Qwen/Qwen2.5-VL-7B-Instruct", "--base-url", eng.url, "--notes", str(tmp_path / "n.md")],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.strip().splitlines()
        assert lines[0].strip() == answer and lines[1].startswith("[p. ") and CLAUSE in lines[1]
        p = subprocess.run([sys.executable, "-m", "glyphpress", "ask", str(doc), "-q", "How fast?", "--model",
                            "Qwen/Qwen2.5-VL-7B-Instruct", "--base-url", eng.url, "--json"], capture_output=True,
                           text=True, timeout=300)
    note = (tmp_path / "n.md").read_text()
    assert f"{lines[1].split(']')[0]}] (quote): > {CLAUSE}" in note and "n_pages/q01_cite1.png" in note
    from PIL import Image

    region = Image.open(tmp_path / "n_pages" / "q01_cite1.png")
    assert 0 < region.height < 60 and region.width > 300  # the cited line, not the page
    data = json.loads(p.stdout)
    c = data["citations"][0]
    assert c["snippet"] == CLAUSE and c["kind"] == "quote" and c["chars"] == list(where(TEXT, CLAUSE))
    assert c["label"] == lines[1].split("]")[0] + "]" and len(c["boxes"]) >= 1


@pytest.mark.parametrize("answer", ["", "Yes.", "42"])
def test_short_answers_cite_nothing(answer):
    assert locate(answer, render(TEXT, "glyph-en", count_text=False)) == []


def test_a_bundle_cites_the_document_a_passage_is_in():
    from glyphpress.document import bundle

    doc = bundle([TEXT, "Annex B.\nPenalties apply when the supplier misses the four hour window twice in a month."],
                 ["contract.txt", "annex-b.txt"])
    r = render(doc, "glyph-en", count_text=False)
    cites = locate('"penalties apply when the supplier misses the four hour window"', r)
    assert cites[0].document == "annex-b.txt" and cites[0].label().startswith("[annex-b.txt, p. ")
    assert locate(f'"{CLAUSE}"', r)[0].document == "contract.txt"


@pytest.mark.parametrize("kind", ["paraphrase", "chinese", "cross-page"])
def test_answers_from_a_server_are_located(tmp_path, kind):
    if kind == "chinese":
        text, answer = ZH_TEXT, "根据合同，供应商要在四个工作小时以内回复每项支持请求。"
        want = where(ZH_TEXT, "四个工作小时")
    elif kind == "paraphrase":
        text, answer = TEXT, "They promise to answer every support request within four business hours, so it is quick."
        want = where(TEXT, "answer every support request within four business hours")
    else:
        r = render(TEXT, "glyph-en", count_text=False)
        end = r.pages[0].source_range[1]
        a, b = TEXT.rfind("\n", 0, end - 30) + 1, TEXT.find(".", end + 10)
        text, answer, want = TEXT, f'It reads: "{" ".join(TEXT[a:b].split())}".', (a, b)
    doc = tmp_path / "doc.txt"
    doc.write_text(text)
    with FakeEngine(answer=answer) as eng:
        p = subprocess.run([sys.executable, "-m", "glyphpress", "ask", str(doc), "-q", "?", "--model",
                            "Qwen/Qwen2.5-VL-7B-Instruct", "--base-url", eng.url, "--json"], capture_output=True,
                           text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    c = json.loads(p.stdout)["citations"][0]
    assert c["chars"][0] <= want[0] + 1 and c["chars"][1] >= want[1] - 1 or (
        want[0] <= c["chars"][0] < c["chars"][1] <= want[1])
    if kind == "cross-page":
        assert c["pages"] == [1, 2] and c["label"].startswith("[pp. 1-2, lines ")
