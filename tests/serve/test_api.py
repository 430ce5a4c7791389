"""The HTTP API over real HTTP: render, documents, pages, ask (SSE and JSON), limits, auth, restarts."""

import io
import json
import re
import socket
import threading
import zipfile

import httpx

from .. import needs
from ..vlm.fake_server import FakeEngine

TEXT = "The secret number in this report is 42. " * 400


def test_render_get_page_delete(serve):
    with serve() as s:
        r = httpx.post(s.url + "/v1/render", json={"text": TEXT, "preset": "glyph-en", "set": {"dpi": 96}})
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["totals"]["compression_ratio"] > 0 and doc["manifest"]["theta"]["dpi"] == 96
        page = httpx.get(s.url + doc["pages"][0])
        assert page.status_code == 200 and page.headers["content-type"] == "image/png"
        assert page.content[:8] == b"\x89PNG\r\n\x1a\n" and page.headers["x-content-type-options"] == "nosniff"
        got = httpx.get(s.url + f"/v1/documents/{doc['id']}").json()
        assert got["totals"] == doc["totals"]
        assert httpx.delete(s.url + f"/v1/documents/{doc['id']}").status_code == 200
        assert httpx.get(s.url + f"/v1/documents/{doc['id']}").status_code == 404


def test_multipart_files_become_one_bundle(serve):
    with serve() as s:
        files = [("files", ("a.md", b"# A\n\nalpha text", "text/markdown")),
                 ("files", ("b.txt", b"beta text", "text/plain"))]
        r = httpx.post(s.url + "/v1/render", files=files, data={"preset": "glyph-en", "set": "{}"})
        assert r.status_code == 200, r.text
        m = r.json()["manifest"]
        assert [d["name"] for d in m["documents"]] == ["a.md", "b.txt"]


def test_errors_are_json_with_status(serve):
    with serve() as s:
        for method, path, kw, status in [
            ("post", "/v1/render", {"content": b"not json"}, 415),  # no JSON content type
            ("post", "/v1/render", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
            ("post", "/v1/render", {"content": b"[1, 2]", "headers": {"content-type": "application/json"}}, 400),
            ("post", "/v1/render", {"json": {"text": "x", "set": {"font-path": "/etc/passwd"}}}, 400),
            ("post", "/v1/render", {"json": {"text": "x", "preset": "/etc/passwd"}}, 400),
            ("post", "/v1/render", {"json": {"text": "x", "set": "dpi=96"}}, 400),
            ("post", "/v1/ask", {"json": {"question": "q", "text": "x", "max_tokens": "lots"}}, 400),
            ("post", "/v1/ask", {"json": {"question": ["q"], "text": "x"}}, 400),
            ("post", "/v1/render", {"json": {"text": ""}}, 400),
            ("post", "/v1/render", {"json": {"text": "x", "preset": "nope"}}, 400),
            ("post", "/v1/render", {"json": {"text": "x", "set": {"dpi": 0}}}, 400),
            ("get", "/v1/documents/0123", {}, 404),
            ("get", "/v1/documents/..%2F..%2Fetc/pages/page_0001.png", {}, 404),
            ("get", "/v1/documents/" + "a" * 32 + "/pages/..%2Fmanifest.json", {}, 404),
            ("delete", "/v1/documents/" + "b" * 32, {}, 404),
            ("post", "/v1/ask", {"json": {"question": "q", "text": "x"}}, 503),
        ]:
            r = getattr(httpx, method)(s.url + path, **kw)
            assert r.status_code == status, (path, r.text)
            assert r.json()["error"]["message"]


def test_ask_without_vlm_says_what_to_configure(serve):
    with serve() as s:
        r = httpx.post(s.url + "/v1/ask", json={"text": TEXT, "question": "q"})
        assert r.status_code == 503 and "--base-url" in r.json()["error"]["message"]
        assert httpx.get(s.url + "/healthz").json()["vlm"]["configured"] is False


def test_ask_streams_sse_and_plain_json(serve):
    with FakeEngine(answer="it is 42") as vis, FakeEngine(answer="text says 42", prompt_tokens=3000) as txt:
        with serve(base_url=vis.url, model="Qwen/Qwen2.5-VL-7B-Instruct", baseline_url=txt.url) as s:
            doc = httpx.post(s.url + "/v1/render", json={"text": TEXT}).json()
            events = []
            with httpx.stream("POST", s.url + "/v1/ask", json={"document_id": doc["id"], "question": "number?",
                                                                 "baseline": True}) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        events.append(json.loads(line[5:]))
            assert "".join(e.get("text", "") for e in events).strip() == "it is 42"
            done = events[-1]
            assert done["done"] and done["vision_tokens"] == doc["totals"]["vision_tokens"]
            assert done["baseline"]["answer"].strip() == "text says 42"
            assert done["baseline"]["prompt_tokens_reported"] == 3000
            plain = httpx.post(s.url + "/v1/ask", json={"text": TEXT, "question": "again?", "stream": False},
                               timeout=60).json()
            assert plain["answer"].strip() == "it is 42" and plain["prompt_tokens_reported"] > 0
        assert len(vis.requests[0]["body"]["messages"][-1]["content"]) == done["pages"] + 1


def test_limits(serve):
    with serve(max_upload_mb=0.01, max_pages=2, max_page_pixels=1_000_000) as s:
        r = httpx.post(s.url + "/v1/render", json={"text": "x" * 20_000})
        assert r.status_code == 413
        r = httpx.post(s.url + "/v1/render", json={"text": "word " * 1500, "set": {"font-size": 30,
                                                                                 "line-height": 32}})
        assert r.status_code == 400 and "more than 2 pages" in r.json()["error"]["message"]
        r = httpx.post(s.url + "/v1/render", json={"text": "x", "set": {"dpi": 200}})
        assert r.status_code == 400 and "over this server's limit" in r.json()["error"]["message"]


def test_busy_server_answers_429(serve):
    with FakeEngine(script=["hold"], answer="held answer") as eng:
        with serve(base_url=eng.url, model="Qwen/Qwen2.5-VL-7B-Instruct", max_concurrent=1, max_queued=0) as s:
            doc = httpx.post(s.url + "/v1/render", json={"text": TEXT}).json()
            held = []
            ask = threading.Thread(target=lambda: held.append(httpx.post(s.url + "/v1/ask", timeout=30, json={
                "document_id": doc["id"], "question": "q", "stream": False})))
            ask.start()
            assert eng.arrived.wait(10)  # the ask holds the only slot, waiting on the engine
            r = httpx.post(s.url + "/v1/render", json={"text": "another"})
            assert r.status_code == 429 and "busy" in r.json()["error"]["message"]
            streamed = httpx.post(s.url + "/v1/render?progress=1", json={"text": "another"})
            assert streamed.status_code == 429  # said before the stream starts, not as an event in a 200
            eng.release.set()
            ask.join(30)
            assert held and held[0].status_code == 200 and held[0].json()["answer"].strip() == "held answer"
            # the slot is free again
            assert httpx.post(s.url + "/v1/render", json={"text": "another"}).status_code == 200


def test_request_time_limit(serve):
    with FakeEngine(script=["slow"]) as eng:
        with serve(base_url=eng.url, model="Qwen/Qwen2.5-VL-7B-Instruct", request_timeout=1) as s:
            doc = httpx.post(s.url + "/v1/render", json={"text": "short text"}).json()
            r = httpx.post(s.url + "/v1/ask", json={"document_id": doc["id"], "question": "q", "stream": False},
                           timeout=30)
            assert r.status_code == 504


def test_bearer_token(serve):
    with serve(token="s3cret", base_url="http://127.0.0.1:9/v1", model="m") as s:
        health = httpx.get(s.url + "/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}  # nothing configurable
        assert "127.0.0.1:9" in httpx.get(s.url + "/healthz", headers={"Authorization": "Bearer s3cret"}).text
        assert httpx.post(s.url + "/v1/render", json={"text": "x"}).status_code == 401
        assert httpx.post(s.url + "/v1/render", json={"text": "x"},
                          headers={"Authorization": "Bearer s3cre"}).status_code == 401
        assert httpx.get(s.url + "/").status_code == 401
        ok = httpx.post(s.url + "/v1/render", json={"text": "x"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        page = s.url + ok.json()["pages"][0]
        assert httpx.get(page + "?token=s3cret").status_code == 401  # the address carries it to the app only
        with httpx.Client() as c:
            first = c.get(s.url + "/?token=s3cret")
            assert first.status_code == 303 and first.headers["location"] == "/"  # out of the address bar
            assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=Strict" in first.headers["set-cookie"]
            assert c.get(s.url + "/").status_code == 200 and c.get(page).status_code == 200  # the cookie


def test_cross_site_requests_are_refused(serve):
    with serve() as s:  # no token: a loopback server anyone's browser can reach
        form = {"text": "spend the operator's key"}
        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
            r = httpx.post(s.url + "/v1/render", data=form, headers=headers)  # a cross-site form post
            assert r.status_code == 403 and "cross-site" in r.json()["error"]["message"]
            ask = httpx.post(s.url + "/v1/ask", json={"text": "x", "question": "q"}, headers=headers)
            assert ask.status_code == 403
        own = httpx.post(s.url + "/v1/render", json={"text": "x"}, headers={"Origin": s.url})
        assert own.status_code == 200  # the app's own pages
        plain = httpx.post(s.url + "/v1/render", content=b"text=x", headers={"content-type": "text/plain"})
        assert plain.status_code == 415  # what a form can send without a preflight is not JSON
        assert httpx.get(s.url + "/favicon.ico").status_code == 200
        # DNS rebinding: a page on evil.example, its name now resolving to this machine, is same-origin to
        # itself; the host name it uses gives it away, for reads too
        rebound = {"Host": f"evil.example:{s.port}", "Origin": f"http://evil.example:{s.port}",
                   "Sec-Fetch-Site": "same-origin"}
        assert httpx.post(s.url + "/v1/render", json={"text": "x"}, headers=rebound).status_code == 403
        assert httpx.get(s.url + "/v1/documents", headers=rebound).status_code == 403
        assert httpx.get(s.url + "/v1/documents", headers={"Host": f"localhost:{s.port}"}).status_code == 200
    with serve(allowed_hosts="Glyph.Example:443, [2001:db8::5]:7860") as s:  # behind a proxy that names it
        assert httpx.get(s.url + "/v1/documents", headers={"Host": "glyph.example"}).status_code == 200
        assert httpx.get(s.url + "/v1/documents", headers={"Host": "evil.example"}).status_code == 403
    with serve(host="0.0.0.0") as s:  # listening everywhere: addresses and the machine's own names only
        for host, status in (("evil.example", 403), ("192.0.2.7:7860", 200), ("[2001:db8::5]:7860", 200),
                             ("localhost", 200), (socket.gethostname(), 200)):
            assert httpx.get(s.url + "/v1/documents", headers={"Host": host}).status_code == status, host


def test_unreachable_vlm_is_a_bad_gateway(serve):
    with serve(base_url="http://127.0.0.1:9/v1", model="Qwen/Qwen2.5-VL-7B-Instruct") as s:
        doc = httpx.post(s.url + "/v1/render", json={"text": "short"}).json()
        r = httpx.post(s.url + "/v1/ask", json={"document_id": doc["id"], "question": "q", "stream": False},
                       timeout=60)
        assert r.status_code == 502 and "cannot connect" in r.json()["error"]["message"]


def test_documents_survive_a_restart(serve):
    with serve() as s:
        doc = httpx.post(s.url + "/v1/render", json={"text": TEXT}).json()
    with serve() as s:
        again = httpx.get(s.url + f"/v1/documents/{doc['id']}")
        assert again.status_code == 200 and again.json()["totals"] == doc["totals"]
        z = zipfile.ZipFile(io.BytesIO(httpx.get(s.url + f"/v1/documents/{doc['id']}/export.zip?note=hi").content))
        assert "note.md" in z.namelist() and any(n.startswith("pages/page_") for n in z.namelist())


def test_openapi_schema_documents_the_api(serve):
    with serve() as s:
        paths = httpx.get(s.url + "/openapi.json").json()["paths"]
        for p in ("/v1/render", "/v1/ask", "/v1/documents/{doc_id}", "/healthz"):
            assert p in paths


def test_client_disconnect_cancels_the_engine_request(serve):
    with FakeEngine(script=["drip"]) as eng:
        with serve(base_url=eng.url, model="Qwen/Qwen2.5-VL-7B-Instruct") as s:
            doc = httpx.post(s.url + "/v1/render", json={"text": "short"}).json()
            with httpx.stream("POST", s.url + "/v1/ask", json={"document_id": doc["id"], "question": "q"}) as r:
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        break  # first piece seen: hang up
            assert eng.aborted.wait(8), "the engine kept streaming to a client that had gone"


def test_render_progress_events(serve):
    with serve() as s:
        events = []
        with httpx.stream("POST", s.url + "/v1/render?progress=1", json={"text": TEXT * 3}) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
        pages = [e["pages"] for e in events if "pages" in e]
        assert pages == sorted(pages) and pages[-1] >= 2
        assert events[-1]["done"] and len(events[-1]["document"]["pages"]) == pages[-1]
        bad = httpx.post(s.url + "/v1/render?progress=1", json={"text": "x", "set": {"dpi": 0}})
        assert bad.status_code == 400


def test_examples_hold_their_answers(serve):
    with serve() as s:
        listed = httpx.get(s.url + "/v1/examples").json()["examples"]
        assert {e["lang"] for e in listed} == {"en", "zh"} and len(listed) == 4
        for e in listed:
            full = httpx.get(s.url + f"/v1/examples/{e['id']}").json()
            assert len(full["text"]) == e["characters"] > 1000
            assert full["answer"] in full["text"]  # the expected answer is in the text to read
        needle = httpx.get(s.url + "/v1/examples/needle-en").json()
        text = needle["text"]
        assert text.count("violet-42") == 1 and 0.5 < text.index("violet-42") / len(text) < 0.75
        assert httpx.get(s.url + "/v1/examples/nope").status_code == 404


def test_a_long_pasted_text_in_a_form(serve):
    with serve(max_upload_mb=8) as s:  # the web app sends pasted text as a form field
        text = "A long pasted text with many words in it. " * 50_000  # 2.1 MB
        fields = {"text": (None, text), "preset": (None, "tight"), "set": (None, "{}")}  # multipart, as a browser
        r = httpx.post(s.url + "/v1/render", files=fields, timeout=120)
        assert r.status_code == 200, r.text
        assert r.json()["manifest"]["totals"]["characters"] == len(text)


@needs.package("rapidocr", "onnxruntime")
def test_an_uploaded_image_is_a_page_with_its_ocr_text(serve):
    from ..document.test_images import PAGE, draw, encoded

    png = encoded(draw(PAGE), "PNG")
    with serve() as s:
        r = httpx.post(s.url + "/v1/render", files=[("files", ("shot.png", png, "image/png"))],
                       data={"preset": "glyph-en", "set": "{}"}, timeout=120)
        assert r.status_code == 200, r.text
        m = r.json()["manifest"]
        assert m["source"]["format"] == "image" and m["totals"]["pages"] == 1 and m["totals"]["text_tokens"] > 15
        page = httpx.get(s.url + r.json()["pages"][0])
        assert page.status_code == 200 and page.content[:8] == b"\x89PNG\r\n\x1a\n"
        # an upload named without a suffix is known by its bytes; a truncated image is a 400 with one line
        r = httpx.post(s.url + "/v1/render", files=[("files", ("upload", png, "application/octet-stream"))],
                       timeout=120)
        assert r.status_code == 200 and r.json()["manifest"]["source"]["format"] == "image", r.text
        r = httpx.post(s.url + "/v1/render", files=[("files", ("cut.png", png[: len(png) // 2], "image/png"))])
        assert r.status_code == 400 and "cut.png: not a readable image, corrupt or truncated" in \
            r.json()["error"]["message"]


CONTRACT = "\n".join([f"Clause {i}: the parties meet on the first Monday of every month at noon." for i in range(60)]
                     + ["Clause 60: the supplier answers every support request within four business hours."]
                     + [f"Clause {i}: invoices are paid within thirty days of receipt." for i in range(61, 140)])


def test_answers_come_with_their_citations_and_line_boxes(serve):
    quote = "the supplier answers every support request within four business hours"
    with FakeEngine(answer=f'Clause 60 says "{quote}".') as vis:
        with serve(base_url=vis.url, model="Qwen/Qwen2.5-VL-7B-Instruct") as s:
            doc = httpx.post(s.url + "/v1/render", json={"text": CONTRACT}).json()
            plain = httpx.post(s.url + "/v1/ask", json={"document_id": doc["id"], "question": "How fast?",
                                                        "stream": False}, timeout=60).json()
            events = []
            with httpx.stream("POST", s.url + "/v1/ask", json={"document_id": doc["id"], "question": "Again?"}) as r:
                events = [json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")]
    at = CONTRACT.find(quote)
    for cites in (plain["citations"], events[-1]["citations"]):
        c = cites[0]
        assert c["kind"] == "quote" and c["chars"] == [at, at + len(quote)] and c["snippet"] == quote
        page = next(p for p in doc["manifest"]["pages"] if p["source_range"][0] <= at < p["source_range"][1])
        assert c["pages"][0] == doc["manifest"]["pages"].index(page) + 1
        [(p, x0, y0, x1, y1)] = c["boxes"]
        assert p == c["pages"][0] and 0 <= x0 < x1 <= page["width"] and 0 <= y0 < y1 <= page["height"]
        assert y1 - y0 < 20  # one line of 9-pt text at 72 dpi


def test_a_cross_check_of_a_bundle_locates_each_side(serve):
    a = "\n\n".join([f"Item {i}: the office opens at nine." for i in range(30)] + ["Refunds are paid within 14 days."])
    b = "\n\n".join(["Refunds are paid within 30 days."] + [f"Item {i}: the office opens at nine." for i in range(30)])
    reply = json.dumps([{"topic": "refunds", "sides": [{"document": "A", "says": "Refunds are paid within 14 days"},
                                                       {"document": "B", "says": "Refunds are paid within 30 days"}]}])
    with FakeEngine(answer=reply) as vis:
        with serve(base_url=vis.url, model="Qwen/Qwen2.5-VL-7B-Instruct") as s:
            files = [("files", ("policy-a.txt", a.encode(), "text/plain")),
                     ("files", ("policy-b.txt", b.encode(), "text/plain"))]
            doc = httpx.post(s.url + "/v1/render", files=files, data={"preset": "glyph-en", "set": "{}"}).json()
            r = httpx.post(s.url + "/v1/ask", json={"document_id": doc["id"], "cross_check": True, "topic": "money",
                                                    "stream": False}, timeout=60).json()
            single = httpx.post(s.url + "/v1/render", json={"text": a}).json()
            bad = httpx.post(s.url + "/v1/ask", json={"document_id": single["id"], "cross_check": True})
            worse = httpx.post(s.url + "/v1/ask", json={"document_id": doc["id"], "cross_check": "yes"})
        asked = vis.requests[0]["body"]["messages"][-1]["content"][-1]["text"]
    assert "about money" in asked and "A: policy-a.txt; B: policy-b.txt" in asked
    [d] = r["disagreements"]
    side_a, side_b = d["sides"]
    assert side_a["document"] == "policy-a.txt" and side_b["document"] == "policy-b.txt"
    assert side_a["citations"][0]["label"].startswith("[policy-a.txt, p. ")
    first = doc["manifest"]["documents"][1]["pages"][0]  # B's first page, its heading lines not cited
    assert re.fullmatch(rf"\[policy-b\.txt, p\. {first}, line \d+\]", side_b["citations"][0]["label"])
    assert bad.status_code == 400 and "two documents" in bad.json()["error"]["message"]
    assert worse.status_code == 400


def test_hostile_cross_check_replies_and_bodies(serve, tmp_path):
    files = [("files", ("a.txt", b"Refunds are paid within 14 days. " * 20, "text/plain")),
             ("files", ("b.txt", b"Refunds are paid within 30 days. " * 20, "text/plain"))]
    for reply in ('[{"topic": "x", "sides": 5}]', "[" * 5000, '[{"topic": "x", "sides": [{"document": "A"}]}]'):
        with FakeEngine(answer=reply) as vis, serve(base_url=vis.url, model="Qwen/Qwen2.5-VL-7B-Instruct") as s:
            doc = httpx.post(s.url + "/v1/render", files=files, data={"preset": "glyph-en", "set": "{}"}).json()
            r = httpx.post(s.url + "/v1/ask", json={"document_id": doc["id"], "cross_check": True, "stream": False},
                           timeout=60)
            assert r.status_code == 200 and r.json()["disagreements"] == [], r.text
            with httpx.stream("POST", s.url + "/v1/ask", json={"document_id": doc["id"], "cross_check": True}) as st:
                events = [json.loads(x[5:]) for x in st.iter_lines() if x.startswith("data:")]
            assert events[-1]["done"] and events[-1]["disagreements"] == []
    data = tmp_path / "data2"
    with FakeEngine(answer="x") as vis, serve(base_url=vis.url, model="Qwen/Qwen2.5-VL-7B-Instruct",
                                              data_dir=str(data)) as s:
        bad = httpx.post(s.url + "/v1/ask", content=b'{"question": "q", "text": "t", "topic": "\\ud800"}',
                         headers={"content-type": "application/json"})
        assert bad.status_code == 400 and "surrogate" in bad.json()["error"]["message"]
        before = sorted(data.rglob("*"))
        r = httpx.post(s.url + "/v1/ask", json={"text": "some text", "cross_check": True})
        assert r.status_code == 400 and "document_id" in r.json()["error"]["message"]
        assert sorted(data.rglob("*")) == before  # nothing rendered for it
