"""`glyphpress extract`: the document model as Markdown, text and JSON, from real parsers' output."""

import json
import subprocess
import sys

from glyphpress.document import load_bytes
from glyphpress.document.export import to_markdown, to_text

from .. import needs
from .test_formats import make_pdf

HTML = b"""<h1>Guide</h1><p>Some <b>bold</b> and <code>x = 1</code> and a | pipe.</p>
<ol><li>first</li><li>second</li></ol><ul><li>dot</li></ul>
<pre class="language-python">def f():
    return 1</pre>
<table><tr><th>k</th><th>v</th></tr><tr><td>a|b</td><td>2</td></tr></table>
<p>line one<br>line two</p><hr>"""


def run(*args):
    p = subprocess.run([sys.executable, "-m", "glyphpress", "extract", *map(str, args)], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_markdown_of_an_html_document():
    md = to_markdown(load_bytes(HTML, "g.html"))
    assert md == ("# Guide\n\nSome **bold** and `x = 1` and a \\| pipe.\n\n1. first\n2. second\n\n- dot\n\n"
                  "```python\ndef f():\n    return 1\n```\n\n| **k** | **v** |\n|---|---|\n| a\\|b | 2 |\n\n"
                  "line one  \nline two\n\n---\n")


def test_text_of_an_html_document():
    text = to_text(load_bytes(HTML, "g.html"))
    assert text.startswith("Guide\n\nSome bold and x = 1 and a | pipe.\n\n1. first\n\n2. second")
    assert "k\tv\na|b\t2" in text and "line one\nline two" in text


@needs.package("fpdf")
def test_cli_json_of_a_pdf_has_pages_and_a_folder_gets_one_file_each(tmp_path):
    pdf = tmp_path / "three.pdf"
    pdf.write_bytes(make_pdf(3))
    (tmp_path / "g.html").write_bytes(HTML)
    rc, out, err = run(pdf, "--to", "json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["format"] == "pdf" and {b["page"] for b in data["blocks"]} == {1, 2, 3}
    rc, out, err = run(tmp_path, "--to", "md", "-o", tmp_path / "md")
    assert rc == 0, err
    names = sorted(p.name for p in (tmp_path / "md").iterdir())
    assert len(names) == 2 and all(n.endswith(".md") for n in names)
    rc, out, err = run(tmp_path / "g.html", "--to", "yaml")
    assert rc == 2 and "--to is md, text or json" in err


def test_the_text_baseline_sends_markdown_not_markup():
    from glyphpress.vlm.ask import rendered_source

    doc = load_bytes(HTML, "g.html")
    sent = rendered_source(doc)
    assert sent == to_markdown(doc) and "<h1>" not in sent and sent.startswith("# Guide")
    md = load_bytes(b"# Notes\n\nplain *text*\n", "n.md")
    assert rendered_source(md) == "# Notes\n\nplain *text*\n"  # Markdown is sent as written


@needs.package("fpdf", "cvttf_NotoSansCJK_Regular")
def test_pdf_lines_of_japanese_rejoin_without_spaces_and_english_with_them(tmp_path):
    import cvttf_NotoSansCJK_Regular as cjk
    import fpdf

    pdf = fpdf.FPDF(format="A4")
    pdf.add_page()
    pdf.add_font("cjk", "", cjk.get_TTF_path())
    pdf.set_font("cjk", size=12)
    ja = "日本語の文章がここに続きます。これは長い行で、行末で折り返されて次の行に続くはずです。"
    pdf.multi_cell(60, 8, ja)  # wraps into several lines
    pdf.ln(10)
    en = "A sentence in English that wraps over several lines of this narrow cell, words kept apart."
    pdf.multi_cell(60, 8, en)
    path = tmp_path / "ja.pdf"
    pdf.output(str(path))
    text = to_text(load_bytes(path.read_bytes(), "ja.pdf"))
    assert ja in text  # no space where a line ended inside the Japanese sentence
    assert en in text  # spaces kept where English lines ended


@needs.package("fpdf")
def test_pdf_gap_mid_sentence_does_not_split_a_paragraph(tmp_path):
    import fpdf

    pdf = fpdf.FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    first = ["The committee reviewed the budget and found that the", "numbers for the second quarter were",
             "higher than expected by a wide margin, which", "surprised nobody who had followed the", "sales."]
    second = ["A new paragraph starts after a sentence end and a gap.", "It goes on for a second line",
              "and a third one, then a fourth", "before it ends."]
    pdf.text(20, 10, "Budget review")  # a heading in the body's font, no full stop: a short line, then a gap
    y = 22
    for i, line in enumerate(first + second):
        pdf.text(20, y, line)
        # a two-line gap after the second line (mid-sentence, as a text layer's joined hyphenation leaves it)
        # and after the first paragraph's end (a sentence end: a real paragraph break)
        y += 12 if i in (1, len(first) - 1) else 6
    path = tmp_path / "gaps.pdf"
    pdf.output(str(path))
    paras = [b.text for b in load_bytes(path.read_bytes(), "gaps.pdf").blocks]
    assert paras == ["Budget review", " ".join(first), " ".join(second)]


@needs.package("fpdf")
def test_pdf_bulleted_and_numbered_lines_become_list_items(tmp_path):
    import fpdf

    pdf = fpdf.FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    rows = [(20, "The steps are these:"), (25, "1. Open the valve slowly and wait for the"),
            (29, "pressure to settle."), (25, "2. Close the valve."), (25, "- a dash item"),
            (20, "Then the report goes on at the margin without a gap.")]
    for i, (x, text) in enumerate(rows):
        pdf.text(x, 20 + 6 * i, text)
    path = tmp_path / "list.pdf"
    pdf.output(str(path))
    got = [(b.kind, b.marker, b.text) for b in load_bytes(path.read_bytes(), "list.pdf").blocks]
    assert got == [("paragraph", "", "The steps are these:"),
                   ("list_item", "1.", "Open the valve slowly and wait for the pressure to settle."),
                   ("list_item", "2.", "Close the valve."), ("list_item", "•", "a dash item"),
                   ("paragraph", "", "Then the report goes on at the margin without a gap.")]
