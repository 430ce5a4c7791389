"""The OpenAI-compatible backend against a real HTTP server on loopback."""

import asyncio
import base64
import io

import pytest
from PIL import Image

from glyphpress import GlyphpressError
from glyphpress.vlm.ask import Session, ask, write_notes
from glyphpress.vlm.base import Request
from glyphpress.vlm.budget import BudgetError, plan
from glyphpress.vlm.openai import BackendError, ContextOverflow, OpenAIBackend
from glyphpress.vlm.registry import model_spec

from .fake_server import FakeEngine

DOC = "The secret number in this report is 42. " * 300


def collect(backend, request):
    async def go():
        out = []
        async for piece in backend.stream(request):
            out.append(piece)
        await backend.aclose()
        return out

    return asyncio.run(go())


def test_pages_go_as_base64_images_before_the_question():
    with FakeEngine() as eng:
        r = ask(DOC, "What is the secret number?", model="Qwen/Qwen2.5-VL-7B-Instruct", base_url=eng.url,
                api_key="sk-test")
        req = eng.requests[0]
        assert req["path"] == "/v1/chat/completions" and req["headers"]["Authorization"] == "Bearer sk-test"
        body = req["body"]
        assert body["stream"] is True and body["model"] == "Qwen/Qwen2.5-VL-7B-Instruct"
        content = body["messages"][-1]["content"]
        images = [c for c in content if c["type"] == "image_url"]
        assert len(images) == r.pages and content[-1] == {"type": "text", "text": "What is the secret number?"}
        png = base64.b64decode(images[0]["image_url"]["url"].split(",", 1)[1])
        img = Image.open(io.BytesIO(png))
        assert img.size[0] > 100
    assert r.visual.answer.strip() == "The answer is 42."
    assert r.visual.usage.prompt_tokens == 100 * r.pages + 10  # what the server reported
    assert r.vision_tokens > 0 and r.visual.prompt_tokens_predicted > r.vision_tokens
    assert r.ratio == pytest.approx(r.text_tokens / r.vision_tokens)


def test_streaming_yields_pieces_in_order():
    pieces = []
    with FakeEngine(answer="one two three four") as eng:
        ask(DOC, "q?", model="Qwen/Qwen2.5-VL-7B-Instruct", base_url=eng.url, on_text=pieces.append)
    assert pieces == ["one ", "two ", "three ", "four "]


def test_retries_on_429_and_5xx_then_succeeds():
    with FakeEngine(script=["429", "500", "ok"]) as eng:
        be = OpenAIBackend(eng.url, "m", backoff=0.01)
        out = collect(be, Request("q"))
        assert len(eng.requests) == 3
    assert "".join(p.text for p in out).strip() == "The answer is 42."


def test_gives_up_after_retries():
    with FakeEngine(script=["500"]) as eng:
        with pytest.raises(BackendError, match="gave up after 2 retries"):
            collect(OpenAIBackend(eng.url, "m", retries=2, backoff=0.01), Request("q"))
        assert len(eng.requests) == 3


def test_server_down_is_a_clear_error():
    with pytest.raises(BackendError, match="cannot connect"):
        collect(OpenAIBackend("http://127.0.0.1:9/v1", "m", retries=1, backoff=0.01), Request("q"))


@pytest.mark.parametrize("mode,error,match", [
    ("cut", BackendError, "cut|connection lost"),
    ("malformed", BackendError, "malformed stream event"),
    ("empty", BackendError, "empty answer"),
    ("400", BackendError, "HTTP 400: bad model name"),
    ("overflow", ContextOverflow, "does not fit the model's context"),
])
def test_failures(mode, error, match):
    with FakeEngine(script=[mode]) as eng:
        with pytest.raises(error, match=match):
            collect(OpenAIBackend(eng.url, "m", retries=0), Request("q"))
        assert len(eng.requests) == 1  # none of these is retried


def test_timeout_is_retried_then_reported():
    with FakeEngine(script=["slow"]) as eng:
        with pytest.raises(BackendError, match="timed out"):
            collect(OpenAIBackend(eng.url, "m", timeout=0.5, retries=1, backoff=0.01), Request("q"))


def test_baseline_side_by_side():
    with FakeEngine(answer="visual says 42") as vis, FakeEngine(answer="text says 42", prompt_tokens=5000) as txt:
        r = ask(DOC, "number?", model="Qwen/Qwen2.5-VL-7B-Instruct", base_url=vis.url, baseline_url=txt.url,
                baseline_model="smollm")
        body = txt.requests[0]["body"]
        assert isinstance(body["messages"][-1]["content"], str) and DOC[:50] in body["messages"][-1]["content"]
        assert body["model"] == "smollm"
    assert r.baseline.answer.strip() == "text says 42" and r.baseline.usage.prompt_tokens == 5000
    assert r.summary()["baseline"]["prompt_tokens_reported"] == 5000


def test_baseline_failure_does_not_hide_the_answer():
    with FakeEngine() as vis:
        r = ask(DOC, "q?", model="Qwen/Qwen2.5-VL-7B-Instruct", base_url=vis.url, baseline_url="http://127.0.0.1:9/v1")
    assert r.visual.answer and r.baseline is None and "cannot connect" in r.baseline_error


def test_session_asks_many_questions_without_rerendering(tmp_path):
    with FakeEngine() as eng:
        spec = model_spec("Qwen/Qwen2.5-VL-7B-Instruct")
        s = Session(DOC, OpenAIBackend(eng.url, spec.name), spec)
        first_images = s.images

        async def two():
            a = await s.ask_async("one?")
            b = await s.ask_async("two?")
            await s.aclose()
            return a, b

        a, b = asyncio.run(two())
        assert s.images is not None and [id(i) for i in s.images] == [id(i) for i in first_images]
        note = write_notes(tmp_path / "notes.md", [a, b], s)
    text = note.read_text()
    assert "## one?" in text and "## two?" in text and "The answer is 42." in text
    assert (tmp_path / "notes_pages" / "page_0001.png").is_file()


def test_budget_fitting_moves_to_denser_theta():
    spec = model_spec("Qwen/Qwen2.5-VL-7B-Instruct")
    text = "word " * 60_000
    loose = plan(text, spec, budget=10**9)
    assert loose.step == "model preset"
    tight = plan(text, spec, budget=loose.vision_tokens // 2)
    assert tight.step != "model preset" and tight.vision_tokens <= loose.vision_tokens // 2
    with pytest.raises(BudgetError, match="over the budget of 100"):
        plan(text, spec, budget=100)


def test_long_text_is_planned_from_a_prefix():
    spec = model_spec("zai-org/Glyph")
    text = ("A line of a long book, with words and more words.\n" * 20) * 1000  # about 1M characters
    p = plan(text, spec)
    assert p.estimated and p.vision_tokens <= p.budget


def test_unknown_model_needs_a_context():
    with pytest.raises(GlyphpressError, match="give its context length"):
        model_spec("some/new-vlm")
    spec = model_spec("some/new-vlm", context=8192, vision="qwen2.5-vl")
    assert spec.context == 8192 and spec.geometry.name == "qwen2.5-vl"


def run_cli(*args, stdin=None):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "glyphpress", *map(str, args)], input=stdin, capture_output=True,
                       timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_cli_ask_streams_and_reports(tmp_path):
    doc = tmp_path / "report.txt"
    doc.write_text(DOC)
    with FakeEngine(answer="forty two") as vis, FakeEngine(answer="text forty two", prompt_tokens=4000) as txt:
        rc, out, err = run_cli("ask", doc, "-q", "What number?", "--model", "Qwen/Qwen2.5-VL-7B-Instruct",
                               "--base-url", vis.url, "--baseline-url", txt.url, "--notes", tmp_path / "n.md")
    assert rc == 0, err
    assert out.strip() == "forty two"
    assert "vision tokens" in err and "ρ" in err and "text-only baseline" in err and "4,000 prompt tokens" in err
    assert (tmp_path / "n.md").read_text().count("forty two") >= 2


def test_cli_ask_leaves_no_task_behind(tmp_path, essay_text):
    """A long document (its request takes a while to send) once left httpx's line reader to be finalised
    after the event loop had closed: "Task was destroyed but it is pending!" after the answer."""
    doc = tmp_path / "long.txt"
    doc.write_text((essay_text * 8)[:200_000])
    with FakeEngine(answer="forty two") as vis:
        rc, out, err = run_cli("ask", doc, "-q", "What number?", "--model", "zai-org/Glyph", "--base-url", vis.url)
    assert rc == 0, err
    assert out.strip() == "forty two"
    assert "Task was destroyed" not in err and "Traceback" not in err and "Exception ignored" not in err


def test_cli_ask_json_and_interactive(tmp_path):
    doc = tmp_path / "report.txt"
    doc.write_text(DOC)
    with FakeEngine() as eng:
        rc, out, err = run_cli("ask", doc, "--interactive", "--json", "--model", "Qwen/Qwen2.5-VL-7B-Instruct",
                               "--base-url", eng.url, stdin=b"first?\nsecond?\n\n")
        assert len(eng.requests) == 2
    assert rc == 0, err
    assert out.count('"answer"') == 2 and '"first?"' in out and '"second?"' in out


def test_cli_ask_errors_are_one_line(tmp_path):
    doc = tmp_path / "report.txt"
    doc.write_text(DOC)
    rc, _, err = run_cli("ask", doc, "-q", "x", "--model", "Qwen/Qwen2.5-VL-7B-Instruct", "--base-url",
                         "http://127.0.0.1:9/v1")
    assert rc == 2 and "Traceback" not in err and "cannot connect" in err and len(err.strip().splitlines()) == 1
    rc, _, err = run_cli("ask", doc, "-q", "x")
    assert rc == 2 and "--base-url" in err
    rc, _, err = run_cli("ask", doc, "-q", "x", "--model", "who/knows", "--base-url", "http://127.0.0.1:9/v1")
    assert rc == 2 and "--context" in err
    rc, _, err = run_cli("ask", doc, "-q", "x", "--model", "Qwen/Qwen2.5-VL-7B-Instruct", "--base-url",
                         "http://127.0.0.1:9/v1", "--budget", "50")
    assert rc == 2 and "over the budget of 50" in err


def test_local_media_sends_file_urls(tmp_path):
    with FakeEngine() as eng:
        collect(OpenAIBackend(eng.url, "m", local_media=str(tmp_path)), Request("q", images=[Image.new("L", (40, 40))]))
        url = eng.requests[0]["body"]["messages"][-1]["content"][0]["image_url"]["url"]
    assert url.startswith("file://") and list(tmp_path.glob("*.png"))


def test_a_million_token_text_is_planned_without_full_layouts(monkeypatch):
    from glyphpress.vlm import budget as budget_mod

    text = ("A line of a long book, with words and more words that go on.\n" * 1000) * 70  # ~4.3M characters
    lengths = []
    real = budget_mod._measure
    monkeypatch.setattr(budget_mod, "_measure", lambda c, cfg, spec: lengths.append(len(c)) or real(c, cfg, spec))
    p = plan(text, model_spec("zai-org/Glyph"))
    assert p.estimated and p.vision_tokens <= p.budget and p.step != "model preset"
    assert max(lengths) <= budget_mod.PREFIX_CHARS  # only prefixes were laid out; the text is drawn once, later
