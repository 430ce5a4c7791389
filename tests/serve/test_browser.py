"""End to end in headless Chromium (Debian's chromium, driven by Playwright): paste text, render, see the
gallery and ρ, ask a question answered by the test engine, save a screenshot."""

import shutil
from pathlib import Path

from .. import needs
from ..vlm.fake_server import FakeEngine

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@needs.package("playwright")
@needs.tool("chromium", "chromium")
def test_paste_render_ask_in_a_browser(serve, tmp_path):
    from playwright.sync_api import sync_playwright

    with FakeEngine(answer="The secret number is 42.") as eng:
        with serve(base_url=eng.url, model="Qwen/Qwen2.5-VL-7B-Instruct") as s:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(s.url + "/")
                page.fill("#text", "视觉文本压缩 works in Chinese and English. The secret number is 42. " * 200)
                page.click("#render")
                page.wait_for_selector("#gallery img", timeout=30_000)
                assert page.locator("#gallery img").count() >= 1
                assert page.inner_text("#rho").startswith("ρ ")
                page.fill("#question", "What is the secret number?")
                page.click("#ask")
                page.wait_for_function("document.querySelector('.answer') && "
                                       "document.querySelector('.answer').textContent.includes('42')",
                                       timeout=30_000)
                page.wait_for_selector("#answers .muted:has-text('vision tokens')", timeout=30_000)
                shot = Path(tmp_path) / "app.png"
                page.screenshot(path=str(shot), full_page=True)
                browser.close()
    assert shot.stat().st_size > 10_000
