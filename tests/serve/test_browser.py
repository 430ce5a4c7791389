"""The web app in headless Chromium (Debian's chromium, driven by Playwright), each behaviour checked as a
person meets it: examples in one click, a drop zone, the gallery and its zoom, asking with Enter and a
waiting indicator, nothing of a previous document left after a new or failed render, a phone-sized
screen, the dark theme, and the API docs page served without a CDN."""

import shutil

import httpx

from .. import needs
from ..vlm.fake_server import FakeEngine

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CJK_LINE = "视觉文本压缩把长文本渲染成紧凑的页面图像，一个视觉词元承载三到四个文本词元。" * 2
LONG = "The secret number in this report is 42. Everything else is filler text to fill the pages. " * 600


def browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


@needs.package("playwright")
@needs.tool("chromium", "chromium")
def test_the_app_as_a_person_uses_it(serve, tmp_path):
    from playwright.sync_api import sync_playwright

    with FakeEngine(script=["hold", "ok"], answer="The secret number is 42.") as eng, \
            FakeEngine(answer="text route says 42", prompt_tokens=900) as txt:
        with serve(base_url=eng.url, model="Qwen/Qwen2.5-VL-7B-Instruct", baseline_url=txt.url) as s, \
                sync_playwright() as p:
            b = browser(p)
            page = b.new_page(viewport={"width": 1400, "height": 900})
            page.goto(s.url + "/")
            page.wait_for_selector("#examples button")
            assert page.locator("#examples button").count() == 4
            assert page.locator("#examples button", has_text="中文").count() == 2
            assert page.is_visible("#baseline-row")  # a baseline is configured here
            assert page.request.get(s.url + "/favicon.ico").status == 200

            # one short, wide page (a CJK paragraph) stays a thumbnail; pages are numbered, each downloadable
            page.fill("#text", CJK_LINE)
            page.click("#render")
            page.wait_for_selector("#gallery img")
            assert page.evaluate("document.getElementById('gallery').scrollWidth <= "
                                 "document.getElementById('gallery').clientWidth + 1")
            assert page.locator("#gallery img").first.bounding_box()["width"] <= 200
            assert page.inner_text("#gallery figcaption") .startswith("p. 1")
            link = page.locator("#gallery figcaption a").first
            assert link.get_attribute("download") == "page_0001.png"
            assert link.get_attribute("href") == page.locator("#gallery img").first.get_attribute("src")
            assert page.inner_text("#rho").startswith("ρ ")

            # Enter asks; while the model has not answered, the answer box says it is waiting
            page.fill("#question", "What is the secret number?")
            page.press("#question", "Enter")
            page.wait_for_selector(".answer.waiting")
            assert page.is_visible(".answer.waiting") and page.is_disabled("#ask")
            eng.release.set()
            page.wait_for_function("document.querySelector('.answer') && "
                                   "document.querySelector('.answer').textContent.includes('42')", timeout=30_000)
            page.wait_for_selector("#answers .muted:has-text('vision tokens')", timeout=30_000)
            assert page.locator(".answer.waiting").count() == 0

            # a failed render leaves nothing of the previous document on screen
            page.fill("#dpi", "1000")
            page.click("#render")
            page.wait_for_function("document.getElementById('error').textContent.length > 0", timeout=30_000)
            assert "dpi" in page.inner_text("#error")
            assert page.locator("#gallery img").count() == 0 and page.locator("#answers .qa").count() == 0
            assert page.is_disabled("#ask") and page.inner_text("#stats") == ""
            page.fill("#dpi", "")

            # files dropped on the drop zone are what the next render reads
            assert page.is_visible("#drop")
            page.evaluate("""() => { const dt = new DataTransfer();
                dt.items.add(new File(['# Dropped\\n\\n' + 'A dropped file with words. '.repeat(4000)], 'dropped.md',
                                      {type: 'text/markdown'}));
                document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
            }""")
            assert page.inner_text("#filelist") == "dropped.md"
            page.fill("#text", "")
            page.click("#render")
            page.wait_for_selector("#gallery img")
            assert page.locator("#gallery img").count() >= 2

            # the zoom: fitted to the width, then actual size and larger, the next page with →, closed with Escape
            page.click("#gallery img >> nth=0")
            assert page.is_visible("#zoom") and "fit" in page.get_attribute("#zoom", "class")
            fitted = page.locator("#zoomimg").bounding_box()["width"]
            assert fitted > 1000  # the window's width, not the page's 72-dpi size
            page.keyboard.press("ArrowRight")
            page.wait_for_function("document.getElementById('zoomimg').src.endsWith('page_0002.png')")
            assert page.inner_text("#zoomlabel").startswith("page 2 of")
            page.click("#fit")
            page.wait_for_function("!document.getElementById('zoom').classList.contains('fit')")
            natural = page.evaluate("document.getElementById('zoomimg').naturalWidth")
            assert abs(page.locator("#zoomimg").bounding_box()["width"] - natural) <= 2
            page.click("#zoomin")
            assert page.locator("#zoomimg").bounding_box()["width"] > natural * 1.2
            page.keyboard.press("Escape")
            assert not page.is_visible("#zoom")

            # an example in one click: its text rendered, its question asked, its expected answer beside
            page.click("#examples button[data-id=needle-en]")
            page.wait_for_selector(".qa .expected", timeout=60_000)
            assert "violet-42" in page.inner_text(".qa .expected")
            page.wait_for_selector("#answers .muted:has-text('vision tokens')", timeout=60_000)
            assert page.input_value("#question") == "What is the password for the archive room?"
            page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
            b.close()
    assert (tmp_path / "app.png").stat().st_size > 10_000


@needs.package("playwright")
@needs.tool("chromium", "chromium")
def test_phone_screen_dark_theme_and_offline_docs(serve):
    from playwright.sync_api import sync_playwright

    with serve() as s, sync_playwright() as p:
        b = browser(p)
        phone = b.new_page(viewport={"width": 390, "height": 844}, color_scheme="dark")
        phone.goto(s.url + "/")
        phone.wait_for_selector("#examples button")
        assert not phone.is_visible("#baseline-row")  # no baseline configured: no checkbox
        phone.fill("#text", CJK_LINE)
        phone.click("#render")
        phone.wait_for_selector("#gallery img")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        assert phone.locator("#render").bounding_box()["x"] >= 0
        background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
        assert sum(int(v) for v in background[background.index("(") + 1:-1].split(",")[:3]) < 150  # dark
        docs = b.new_page()
        docs.goto(s.url + "/docs")  # this machine has no way out: the docs page must need none
        docs.wait_for_selector(".swagger-ui .info", timeout=30_000)
        assert docs.locator(".opblock-summary-path", has_text="/v1/render").count() >= 1
        b.close()


@needs.package("playwright")
@needs.tool("chromium", "chromium")
def test_a_citation_opens_its_page_with_the_cited_lines_marked(serve, tmp_path):
    from playwright.sync_api import sync_playwright

    quote = "the supplier answers every support request within four business hours"
    text = "\n".join([f"Clause {i}: the parties meet on the first Monday of every month at noon." for i in range(95)]
                     + [f"Clause 95: {quote}."]
                     + [f"Clause {i}: invoices are paid in thirty days." for i in range(96, 200)])
    with FakeEngine(answer=f'Clause 95 says "{quote}".') as eng:
        with serve(base_url=eng.url, model="Qwen/Qwen2.5-VL-7B-Instruct") as s, sync_playwright() as p:
            b = browser(p)
            page = b.new_page(viewport={"width": 1400, "height": 900})
            page.goto(s.url + "/")
            page.fill("#text", text)
            page.click("#render")
            page.wait_for_selector("#gallery img")
            page.fill("#question", "How fast must the supplier answer?")
            page.press("#question", "Enter")
            page.wait_for_selector(".cites button", timeout=30_000)
            label = page.inner_text(".cites button")
            assert label.startswith("[p. 2, line") and quote in page.inner_text(".cites q")
            page.click(".cites button")
            assert page.is_visible("#zoom") and page.inner_text("#zoomlabel").startswith("page 2 of")
            page.wait_for_selector("#zoomwrap .mark")
            img = page.locator("#zoomimg").bounding_box()
            mark = page.locator("#zoomwrap .mark").first.bounding_box()
            natural = page.evaluate("[document.getElementById('zoomimg').naturalWidth, "
                                    "document.getElementById('zoomimg').naturalHeight]")
            doc_id = page.evaluate("doc.id")  # the same answer through the API: the boxes the page should show
            [(_, x0, y0, x1, y1)] = httpx.post(s.url + "/v1/ask", json={"document_id": doc_id, "question": "?",
                                                                         "stream": False}, timeout=60
                                               ).json()["citations"][0]["boxes"]
            sx, sy = img["width"] / natural[0], img["height"] / natural[1]
            for got, want in ((mark["x"] - img["x"], x0 * sx), (mark["y"] - img["y"], y0 * sy),
                              (mark["width"], (x1 - x0) * sx), (mark["height"], (y1 - y0) * sy)):
                assert abs(got - want) < 1.5  # drawn where the line is, at the zoom's scale
            page.screenshot(path=str(tmp_path / "cited.png"))
            page.keyboard.press("ArrowRight")  # another page: no marks of this citation there
            page.wait_for_function("document.getElementById('zoomimg').src.endsWith('page_0003.png')")
            assert page.locator("#zoomwrap .mark").count() == 0
            b.close()
    assert (tmp_path / "cited.png").stat().st_size > 10_000


@needs.package("playwright")
@needs.tool("chromium", "chromium")
def test_a_cross_check_in_the_app(serve, tmp_path):
    from playwright.sync_api import sync_playwright

    a = "\n\n".join([f"Item {i}: the office opens at nine." for i in range(30)] + ["Refunds are paid within 14 days."])
    b = "\n\n".join(["Refunds are paid within 30 days."] + [f"Item {i}: the office opens at nine." for i in range(30)])
    reply = ('[{"topic": "refunds", "sides": [{"document": "A", "says": "Refunds are paid within 14 days"}, '
             '{"document": "B", "says": "Refunds are paid within 30 days"}]}]')
    with FakeEngine(answer=reply) as eng:
        with serve(base_url=eng.url, model="Qwen/Qwen2.5-VL-7B-Instruct") as s, sync_playwright() as p:
            b_ = browser(p)
            page = b_.new_page(viewport={"width": 1400, "height": 900})
            page.goto(s.url + "/")
            page.fill("#text", "one document only")
            page.click("#render")
            page.wait_for_selector("#gallery img")
            assert not page.is_visible("#crosscheck")  # one document: nothing to cross-check
            page.fill("#text", "")
            page.evaluate("""([a, b]) => { const dt = new DataTransfer();
                dt.items.add(new File([a], 'policy-a.txt', {type: 'text/plain'}));
                dt.items.add(new File([b], 'policy-b.txt', {type: 'text/plain'}));
                document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
            }""", [a, b])
            page.click("#render")
            page.wait_for_selector("#crosscheck:visible", timeout=30_000)
            page.click("#crosscheck")
            page.wait_for_selector("table.disagree", timeout=30_000)
            cells = page.locator("table.disagree tr").nth(1).locator("td")
            assert cells.nth(0).inner_text() == "refunds"
            assert "14 days" in cells.nth(1).inner_text() and "30 days" in cells.nth(2).inner_text()
            assert page.locator(".answer", has_text="[{").count() == 0  # the model's JSON is not shown as text
            cells.nth(2).locator(".cites button").click()
            assert page.inner_text("#zoomlabel").startswith("page 2 of")
            page.wait_for_selector("#zoomwrap .mark")
            page.keyboard.press("Escape")
            page.screenshot(path=str(tmp_path / "crosscheck.png"))
            b_.close()
