"""PDF layout on files the tests draw with each defect real files showed: columns, tables ruled, aligned by
whitespace and with dot leaders, superscripts, vertical Japanese, monospaced code, and boxes for JSON."""

import pytest

from glyphpress.document import load_bytes
from glyphpress.document.export import to_json

from .. import needs

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def column_text(tag: str, n: int) -> list[str]:
    """``n`` lines of distinct words for a column named ``tag``, ending a sentence on the last."""
    lines = [" ".join(f"{tag}{WORDS[(i * 4 + k) % len(WORDS)]}" for k in range(4)) for i in range(n)]
    lines[-1] += "."
    return lines


def blocks(pdf, name="t.pdf"):
    return load_bytes(bytes(pdf.output()), name).blocks


def new_pdf(size=10, orientation="P"):
    import fpdf

    pdf = fpdf.FPDF(orientation=orientation, unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=size)
    return pdf


@needs.package("fpdf")
def test_three_columns_are_read_column_by_column_under_a_full_width_title():
    pdf = new_pdf()
    pdf.set_font("helvetica", "B", size=18)
    pdf.text(40, 50, "Instructions for Form 1234")
    pdf.set_font("helvetica", size=10)
    cols = {tag: column_text(tag, 12) for tag in ("a", "b", "c")}
    for k, tag in enumerate(cols):
        x = 40 + k * 180
        for i, line in enumerate(cols[tag]):
            # a paragraph gap at the same height in all three columns: the rows they share still read as columns;
            # each column starts a paragraph with an indented first line
            pdf.text(x + (15 if i == 0 else 0), 90 + i * 12 + (12 if i >= 6 else 0), line)
    pdf.text(40, 800, "Page footer spanning the whole width of the page, below all three columns.")
    got = [(b.kind, b.text) for b in blocks(pdf)]
    want = [("heading", "Instructions for Form 1234")]
    for tag in cols:
        first, second = cols[tag][:6], cols[tag][6:]
        # the first six lines end without a full stop, so the gap (mid-sentence) does not split them
        want.append(("paragraph", " ".join(first + second)))
    want.append(("paragraph", "Page footer spanning the whole width of the page, below all three columns."))
    assert got == want


@needs.package("fpdf")
def test_two_columns_with_a_table_inside_one_of_them():
    pdf = new_pdf()
    left, right = column_text("l", 20), column_text("r", 30)
    for i, line in enumerate(left[:10]):
        pdf.text(40, 60 + i * 12, line)
    for i, row in enumerate([("Item", "Qty", "Price"), ("Apples", "3", "1.20"), ("Pears", "12", "0.80"),
                             ("Plums", "7", "2.10")]):
        for x, cell in zip((40, 250, 300), row):  # the column's lines end before the second column starts
            pdf.text(x, 200 + i * 12, cell)
    for i, line in enumerate(left[10:]):
        pdf.text(40, 270 + i * 12, line)
    for i, line in enumerate(right):
        pdf.text(400 + (15 if i == 0 else 0), 60 + i * 12, line)  # an indented first line: a new paragraph
    got = blocks(pdf)
    assert [b.kind for b in got] == ["paragraph", "table", "paragraph", "paragraph"]
    assert [[c[0].text for c in row] for row in got[1].rows] == [
        ["Item", "Qty", "Price"], ["Apples", "3", "1.20"], ["Pears", "12", "0.80"], ["Plums", "7", "2.10"]]
    assert got[0].text == " ".join(left[:10]) and got[2].text == " ".join(left[10:])
    assert got[3].text == " ".join(right)


@needs.package("fpdf")
def test_a_table_ruled_only_above_below_and_under_its_header():
    pdf = new_pdf()
    pdf.text(40, 50, "Results of the runs are below.")
    for y in (62, 78, 130):
        pdf.line(40, y, 400, y)  # booktabs: top, middle and bottom rules, no vertical ones
    rows = [("Model", "Accuracy", "Tokens"), ("base", "71.2", "128K"), ("glyph", "73.9", "40K"),
            ("tight", "70.4", "31K")]
    for i, row in enumerate(rows):
        for x, cell in zip((45, 200, 320), row):
            pdf.text(x, 74 + i * 16 + (4 if i else 0), cell)
    got = blocks(pdf)
    assert [b.kind for b in got] == ["paragraph", "table"]
    assert [[c[0].text for c in row] for row in got[1].rows] == [list(r) for r in rows]


@needs.package("fpdf")
def test_a_framed_table_with_rules_between_rows_only():
    pdf = new_pdf()
    rows = [("Country", "Capital", "Population"), ("France", "Paris", "68.2"), ("Peru", "Lima", "34.4")]
    for x in (40, 400):
        pdf.line(x, 60, x, 60 + 16 * len(rows))
    for i in range(len(rows) + 1):
        pdf.line(40, 60 + i * 16, 400, 60 + i * 16)
    for i, row in enumerate(rows):
        for x, cell in zip((45, 180, 300), row):
            pdf.text(x, 72 + i * 16, cell)
    got = blocks(pdf)
    assert [[c[0].text for c in row] for row in got[0].rows] == [list(r) for r in rows]


@needs.package("fpdf")
def test_whitespace_table_with_numbers_a_space_after_the_longest_name():
    pdf = new_pdf()
    rows = [("Mazda RX4", "21.0", "6"), ("Datsun 710", "22.8", "4"), ("Cadillac Fleetwood", "10.4", "8"),
            ("Valiant", "18.1", "6"), ("Duster 360", "14.3", "8")]
    right = 40 + pdf.get_string_width("Cadillac Fleetwood ") + pdf.get_string_width("22.8")
    for i, (name, mpg, cyl) in enumerate(rows):
        pdf.text(40, 60 + i * 12, name)
        pdf.text(right - pdf.get_string_width(mpg), 60 + i * 12, mpg)  # right-aligned numbers
        pdf.text(right + 40, 60 + i * 12, cyl)
    got = blocks(pdf)
    assert [b.kind for b in got] == ["table"]
    assert [[c[0].text for c in row] for row in got[0].rows] == [list(r) for r in rows]


@needs.package("fpdf")
def test_a_grid_table_with_words_close_to_the_rules():
    pdf = new_pdf(size=9)
    rows = [("Name", "Code", "Note"), ("Tim Berners-Lee", "TBL", "web"), ("Brian W. Kernighan", "BWK", "awk")]
    first = 40 + 2 + pdf.get_string_width("Brian W. Kernighan") + 2  # the next column starts 4 points after it
    xs, y0, h = (40, round(first), round(first) + 40, round(first) + 100), 60, 14
    for x in xs:
        for i in range(len(rows)):
            pdf.line(x, y0 + i * h, x, y0 + (i + 1) * h)  # drawn a cell at a time, as many writers do
    for i in range(len(rows) + 1):
        for x in range(xs[0], xs[-1], 8):
            pdf.line(x, y0 + i * h, min(x + 8, xs[-1]), y0 + i * h)  # in 8-point pieces, end to end
    for i, row in enumerate(rows):
        for x, cell in zip(xs, row):
            pdf.text(x + 2, y0 + i * h + 10, cell)  # two points from the rule: closer than a word gap
    got = blocks(pdf)
    assert [b.kind for b in got] == ["table"]
    assert [[c[0].text for c in row] for row in got[0].rows] == [list(r) for r in rows]


@needs.package("fpdf")
def test_dot_leaders_make_a_table_of_contents():
    pdf = new_pdf()
    entries = [("Introduction", "1"), ("Getting started with the tools", "4"), ("Reference", "17")]
    for i, (title, page) in enumerate(entries):
        dots = "." * int((380 - pdf.get_string_width(title)) / pdf.get_string_width("."))
        pdf.text(40, 60 + i * 14, f"{title} {dots} {page}")  # one run of text: the leader alone parts them
    got = blocks(pdf)
    assert [b.kind for b in got] == ["table"]
    assert [[c[0].text for c in row] for row in got[0].rows] == [list(e) for e in entries]


@needs.package("fpdf")
def test_superscripts_and_subscripts_stay_with_their_base():
    pdf = new_pdf(size=12)
    x = 40
    for text, size, rise in (("If x", 12, 0), ("2", 8, 5), (" = 9 then H", 12, 0), ("2", 8, -3),
                             ("O is water and e", 12, 0), ("iq", 8, 5), (" + 1 = 0.", 12, 0)):
        pdf.set_font_size(size)
        pdf.text(x, 60 - rise, text)
        x += pdf.get_string_width(text)
    got = blocks(pdf)
    assert [b.text for b in got] == ["If x² = 9 then H₂O is water and e^(iq) + 1 = 0."]


@needs.package("fpdf", "cvttf_NotoSansCJK_Regular")
def test_vertical_japanese_reads_top_down_columns_right_to_left():
    import cvttf_NotoSansCJK_Regular as cjk

    pdf = new_pdf()
    pdf.add_font("cjk", "", cjk.get_TTF_path())
    pdf.set_font("cjk", size=14)
    text = "縦書きの文章は右から左へ読みます。これは二列目の文です。そして三列目で終わります。"
    per_column = 16
    for k in range(0, len(text), per_column):
        x = 500 - (k // per_column) * 24
        for i, ch in enumerate(text[k:k + per_column]):
            pdf.text(x, 80 + i * 16, ch)
    got = blocks(pdf)
    assert [b.text for b in got] == [text]
    box = got[0].box
    assert box[0] <= 500 - 2 * 24 + 1 and box[2] > 500 and box[1] < 80 < box[3]  # the box as drawn, not turned


@needs.package("fpdf")
def test_monospaced_lines_become_a_code_block_with_their_indentation():
    pdf = new_pdf()
    pdf.text(40, 50, "Run the following function to see it:")
    pdf.set_font("courier", size=10)
    code = ["def area(r):", "    if r < 0:", "        raise ValueError(r)", "    return 3.14159 * r * r"]
    for i, line in enumerate(code):
        pdf.text(40 + 6 * (len(line) - len(line.lstrip())), 70 + i * 12, line.lstrip())
    pdf.set_font("helvetica", size=10)
    pdf.text(40, 130, "It returns the area.")
    got = blocks(pdf)
    assert [(b.kind, b.text) for b in got] == [
        ("paragraph", "Run the following function to see it:"), ("code", "\n".join(code)),
        ("paragraph", "It returns the area.")]


@needs.package("fpdf")
def test_text_columns_are_not_taken_for_a_table_and_json_has_boxes():
    pdf = new_pdf()
    left, right = column_text("l", 8), column_text("r", 8)
    for i, (a, b) in enumerate(zip(left, right)):
        pdf.text(40, 60 + i * 12, a)
        pdf.text(300 + (15 if i == 0 else 0), 60 + i * 12, b)  # an indented first line: a new paragraph
    doc = load_bytes(bytes(pdf.output()), "two.pdf")
    assert [b.kind for b in doc.blocks] == ["paragraph", "paragraph"]
    items = to_json(doc)["blocks"]
    assert items[0]["page"] == 1 and items[0]["box"][0] == pytest.approx(40, abs=1)
    assert items[1]["box"][0] == pytest.approx(300, abs=1) and items[1]["box"][1] < 60 < items[1]["box"][3]


def draw_boxes(pdf, rows, y0=60, h=24, left=40, right=540):
    """Rows of boxes, each row split at its own x positions, with a label in each box."""
    for i, row in enumerate(rows):
        top = y0 + i * h
        pdf.line(left, top, right, top)
        edges = [left, *[x for x, _ in row[1:]], right]
        for x in edges:
            pdf.line(x, top, x, top + h)
        for (x, label) in row:
            pdf.text(x + 3, top + 15, label)
    pdf.line(left, y0 + len(rows) * h, right, y0 + len(rows) * h)


@needs.package("fpdf")
def test_a_forms_boxes_are_not_a_table_and_keep_their_labels_whole():
    pdf = new_pdf(size=8)
    rows = [[(40, "1. VETERAN'S NAME (First, Middle Initial, Last)")],
            [(40, "2. SOCIAL SECURITY NUMBER"), (300, "3. HAVE YOU EVER FILED A VA CLAIM?")],
            [(40, "4. DATE OF BIRTH"), (200, "5. SERVICE NUMBER"), (380, "6. TELEPHONE")],
            [(40, "7. MAILING ADDRESS (Number and street or rural route, City, State, ZIP Code)")]]
    draw_boxes(pdf, rows)
    got = blocks(pdf)
    assert "table" not in [b.kind for b in got]
    text = " ".join(f"{b.marker} {b.text}" for b in got)  # "1." and the like are taken as list markers
    labels = [label for row in rows for _, label in row]
    assert all(label in text for label in labels)  # no label cut at a rule of another row
    assert [text.index(label) for label in labels] == sorted(text.index(label) for label in labels)  # row by row


@needs.package("fpdf")
def test_a_lattice_with_a_cell_across_two_columns():
    pdf = new_pdf(size=9)
    rows = [[(40, "Region"), (200, "Sales across both halves of the year")],
            [(40, ""), (200, "H1"), (370, "H2")],
            [(40, "North"), (200, "120"), (370, "135")],
            [(40, "South"), (200, "98"), (370, "101")]]
    draw_boxes(pdf, rows)
    got = blocks(pdf)
    assert [b.kind for b in got] == ["table"]
    assert [[c[0].text for c in row] for row in got[0].rows] == [
        ["Region", "Sales across both halves of the year", ""], ["", "H1", "H2"], ["North", "120", "135"],
        ["South", "98", "101"]]


@needs.package("fpdf")
def test_a_hyphenated_paragraph_across_two_columns_stays_one():
    pdf = new_pdf()
    left = ["The committee met on Monday to review the", "budget, which had been prepared by a hyphen-",
            "ated working group over many weeks of work,", "and after a long discussion the meeting conti-"]
    right = ["nued into the evening with questions about", "the second quarter and its surprising growth."]
    for i, line in enumerate(left):
        # a two-line gap in the middle of the sentence, as a text layer that joined a hyphenated line leaves
        pdf.text(40, 60 + i * 12 + (12 if i >= 2 else 0), line)
    for i, line in enumerate(right):
        pdf.text(310, 60 + i * 12, line)
    pdf.text(40, 140, "A second paragraph starts here, after a gap and a sentence end.")
    got = [b.text for b in blocks(pdf)]
    assert got[0] == ("The committee met on Monday to review the budget, which had been prepared by a hyphenated "
                      "working group over many weeks of work, and after a long discussion the meeting continued "
                      "into the evening with questions about the second quarter and its surprising growth.")
    assert got[1:] == ["A second paragraph starts here, after a gap and a sentence end."]


@needs.package("fpdf")
def test_a_table_ruled_by_sections_and_column_groups_splits_into_rows_and_columns():
    pdf = new_pdf(size=9)
    # rules: a frame, one under the header, one between the label column and each group of two numbers
    body = [("Robbery", "102.1", "25.5", "90.0", "22.9"), ("Burglary", "240.9", "60.3", "205.0", "53.4"),
            ("Fraud", "173.7", "5.1", "98.4", "3.3"), ("Arson", "9.8", "4.3", "8.1", "3.7")]
    left, right, top = 40, 400, 60
    bottom = top + 20 + 12 * len(body) + 6
    for y in (top, top + 20, bottom):
        pdf.line(left, y, right, y)
    for x in (left, 160, 280, right):
        pdf.line(x, top, x, bottom)
    pdf.text(200, top + 14, "Total")
    pdf.text(320, top + 14, "Male")
    for i, row in enumerate(body):
        y = top + 32 + 12 * i
        pdf.text(45, y, row[0])
        for x, cell in zip((180, 235, 300, 355), row[1:]):
            pdf.text(x + 30 - pdf.get_string_width(cell), y, cell)  # right-aligned numbers
    got = blocks(pdf)
    assert [b.kind for b in got] == ["table"]
    rows = [[c[0].text if c else "" for c in row] for row in got[0].rows]
    assert rows[1:] == [list(r) for r in body]


@needs.package("fpdf")
def test_a_bold_heading_under_side_by_side_blocks_stays_a_heading():
    pdf = new_pdf()
    for x, (name, place) in zip((40, 320), (("Pekka Nikander", "Aalto University"),
                                             ("Jane-Ellen Long", "USENIX Association"))):
        pdf.text(x, 60, name)
        pdf.text(x, 74, place)
    pdf.set_font("helvetica", "B", size=10)
    pdf.text(40, 100, "Abstract")
    pdf.set_font("helvetica", size=10)
    pdf.text(40, 116, "This paper describes a template and what it is for.")
    got = blocks(pdf)
    assert [(b.kind, b.text) for b in got][1:] == [("heading", "Abstract"),
                                                   ("paragraph", "This paper describes a template and what it is for.")]
