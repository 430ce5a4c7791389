"""Abuse and faults against a real `glyphpress serve` process over loopback HTTP.

    python benchmarks/serve_abuse.py [--storm 30]

Starts the server with small limits and a fresh data folder, then: chunked uploads over the limit,
slow-drip bodies, a storm of clients that start a progress render and hang up, hostile θ, a PDF whose
content stream inflates to 800 MB, a 3,000-page PDF without text, cross-site form posts, deletes while
pages are fetched, and `kill -9` of the server in the middle of a render followed by a restart. Prints
each attack with what the server answered, the requests refused correctly out of those that should be,
the server's peak memory, and the documents lost (target: every refusal correct, none lost, memory flat).

The attacks are functions the tests use too (tests/serve/test_abuse.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import httpx

LIMITS = ["--max-upload-mb", "8", "--max-uploads-mb", "20", "--head-timeout", "2", "--body-timeout", "2",
          "--max-concurrent", "1", "--max-queued", "0",
          "--parse-memory-mb", "256", "--parse-timeout", "30", "--max-pages", "400", "--request-timeout", "120"]


class Server:
    """``glyphpress serve`` in its own process on a free loopback port."""

    def __init__(self, data_dir: str | Path, *flags: str):
        self.data_dir, self.flags = str(data_dir), list(flags)
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "glyphpress", "serve", "--port", str(self.port),
                                      "--data-dir", self.data_dir, *self.flags],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()

    def peak_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def jobs(self) -> dict:
        return httpx.get(self.url + "/healthz", timeout=10).json()["jobs"]

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---- raw HTTP, for what a well-behaved client library will not send -------------------------------------
def raw_status(port: int, head: bytes, chunks, pause: float = 0.0, timeout: float = 30) -> int | None:
    """Send ``head`` then each of ``chunks`` (``pause`` seconds apart); the status line's code, or None if the
    server closed without answering. Stops sending once the server has answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        s.settimeout(pause or 0.001)
        reply = b""
        for chunk in chunks:
            try:
                s.sendall(chunk)
            except OSError:
                break
            try:
                reply += s.recv(65536)
                if reply:
                    break
            except (TimeoutError, BlockingIOError):
                pass
            except OSError:
                break
        s.settimeout(timeout)
        with contextlib.suppress(OSError):
            while b"\r\n" not in reply:
                more = s.recv(65536)
                if not more:
                    break
                reply += more
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def chunked_oversize(port: int, mb: float) -> int | None:
    """A JSON render whose chunked body (no Content-Length) grows past ``mb`` megabytes."""
    head = (b"POST /v1/render HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b"a" * 65536
    first = b'{"text": "'
    chunks = [b"%x\r\n%s\r\n" % (len(first), first)]
    chunks += [b"%x\r\n%s\r\n" % (len(piece), piece)] * int(mb * 1e6 / len(piece) + 2)
    return raw_status(port, head, chunks)


def slow_drip(port: int, seconds: float) -> tuple[int | None, float]:
    """A body announced as 1,000 bytes, sent a byte every 0.2 s: the status and how long until it came."""
    head = (b"POST /v1/render HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    t0 = time.monotonic()
    status = raw_status(port, head, [b"x"] * int(seconds / 0.2 + 5), pause=0.2)
    return status, time.monotonic() - t0


def plain_hang_up(server: Server, text: str) -> dict:
    """A render asked for without progress events, the client gone after a second: how long until the server
    has no work left, and whether a document was stored anyway."""
    with contextlib.suppress(httpx.TimeoutException):
        httpx.post(server.url + "/v1/render", json={"text": text}, timeout=1.0)
    t0 = time.monotonic()
    while server.jobs()["running"] and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    return {"idle_after_s": time.monotonic() - t0,
            "stored": len(httpx.get(server.url + "/v1/documents", timeout=10).json()["documents"])}


def renders_in_progress(data_dir: str | Path) -> int:
    """Documents being written: folders in the store without their manifest yet."""
    folders = [p for p in (Path(data_dir) / "documents").iterdir() if p.is_dir()]
    return sum(not (p / "manifest.json").exists() for p in folders)


def stalled_uploads(port: int, clients: int, mb: float) -> list[int | None]:
    """``clients`` connections each announce a body a little over ``mb``, send ``mb`` of it and stall; then
    what each was answered (None: nothing yet, its body is being held)."""
    socks, answers = [], []
    size = int(mb * 1e6)
    head = (b"POST /v1/render HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (size + 100))
    try:
        for _ in range(clients):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            socks.append(s)
            with contextlib.suppress(OSError):  # refused while sending: the answer is read below
                s.sendall(head + b'{"text": "' + b"a" * (size - 10))
            time.sleep(0.1)  # the server takes it in
        for s in socks:
            s.settimeout(0.3)
            try:
                reply = s.recv(4096)
                answers.append(int(reply.split(b" ", 2)[1]) if reply else None)
            except (TimeoutError, OSError):
                answers.append(None)
    finally:
        for s in socks:
            s.close()
    return answers


def idle_heads(port: int, clients: int, wait: float) -> int:
    """``clients`` connections that send half a request head and nothing more: how many the server has
    closed after ``wait`` seconds."""
    socks = []
    for _ in range(clients):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(s)
    time.sleep(wait)
    closed = 0
    for s in socks:
        s.settimeout(0.5)
        try:
            closed += s.recv(1024) == b""
        except (TimeoutError, OSError):
            pass
        s.close()
    return closed


def drop_storm(server: Server, text: str, clients: int) -> dict:
    """``clients`` clients each start a render with progress events, read the first event and hang up, one
    after another; meanwhile the renders in progress are counted on disk. Returns the most seen at once,
    the answers, and whether a render succeeds once the storm is over."""
    seen, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                seen.append(renders_in_progress(server.data_dir))
            time.sleep(0.01)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    answers = []
    try:
        for _ in range(clients):
            with httpx.stream("POST", server.url + "/v1/render?progress=1", json={"text": text}, timeout=60) as r:
                answers.append(r.status_code)
                if r.status_code == 200:
                    for line in r.iter_lines():
                        if line.startswith("data:"):
                            break  # one event, then hang up
    finally:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.jobs()["running"]:
            time.sleep(0.1)
        stop.set()
        watcher.join(5)
    after = httpx.post(server.url + "/v1/render", json={"text": "after the storm"}, timeout=60).status_code
    return {"max_running": max(seen or [0]), "answers": answers, "after": after}


HOSTILE_THETA = [
    {"preset": "/etc/passwd"}, {"preset": "../glyphpress-data/x.json"}, {"set": {"font-path": "/etc/passwd"}},
    {"set": {"font-family": "/etc/passwd"}}, {"set": {"font-family": "Comic Sans Hostile"}},
    {"set": {"fallback-fonts": ["x"] * 100}}, {"set": {"dpi": 100000}}, {"set": {"dpi": -1}},
    {"set": {"dpi": "72; rm -rf /"}}, {"set": {"page-size": "100000,100000"}}, {"set": {"font-size": 0}},
    {"set": {"columns": 10**9}}, {"set": {"newline-markup": "x" * 10000}}, {"set": {"dpi": {"nested": 1}}},
    {"set": [1, 2]}, {"set": {"image-format": "tiff"}}, {"set": {"layout": "nope"}}, {"set": {"dpi": 10**400}},
    {"set": {"page-size": "1e400,842"}},
]


def hostile_theta(url: str) -> list[tuple[str, int]]:
    out = []
    for case in HOSTILE_THETA:
        body = {"text": "hostile"} | case
        out.append((json.dumps(case)[:60], httpx.post(url + "/v1/render", json=body, timeout=60).status_code))
    # NaN and Infinity are not JSON, but Python's parser takes them
    r = httpx.post(url + "/v1/render", content=b'{"text": "x", "set": {"dpi": NaN}}',
                   headers={"content-type": "application/json"}, timeout=60)
    out.append(('{"set": {"dpi": NaN}}', r.status_code))
    return out


def pdf(pages: list[bytes], compress: bool = False) -> bytes:
    """A PDF with one page per content stream (deflated if ``compress``; a bytes-like iterable of chunks
    is taken as the stream's parts)."""
    objs: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for content in pages:
        n = len(objs) + 1
        kids.append(n)
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>" % (n + 1))
        filt = b" /Filter /FlateDecode" if compress else b""
        objs.append(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(content), filt, content))
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out, offsets = [b"%PDF-1.4\n"], []
    size = len(out[0])
    for i, body in enumerate(objs, 1):
        offsets.append(size)
        chunk = b"%d 0 obj\n%s\nendobj\n" % (i, body)
        out.append(chunk)
        size += len(chunk)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)] + [b"%010d 00000 n \n" % o for o in offsets]
    out += xref + [b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, size)]
    return b"".join(out)


def deflate_bomb(mb: int) -> bytes:
    """A one-page PDF whose content stream inflates to ``mb`` megabytes (spaces after one line of text)."""
    z = zlib.compressobj(9)
    parts = [z.compress(b"BT /F1 12 Tf 72 700 Td (bomb) Tj ET\n")]
    block = b" " * (1 << 24)
    for _ in range(mb * (1 << 20) // len(block)):
        parts.append(z.compress(block))
    parts.append(z.flush())
    return pdf([b"".join(parts)], compress=True)


def formulas(n: int) -> bytes:
    """A Markdown file with ``n`` different inline formulas: slow to typeset, small to send."""
    return "".join(f"Step {i}: $x_{{{i}}}^{{{i % 7}}} + \\frac{{{i}}}{{{i + 1}}}$.\n\n" for i in range(n)).encode()


def deadline_before_the_first_page(url: str, data: bytes) -> dict:
    """A file whose parsing and formulas take far longer than the request may: how long until the answer,
    plainly and as a progress stream, and whether the slot is free right after."""
    t0 = time.monotonic()
    plain = httpx.post(url + "/v1/render", files=[("files", ("many.md", data, "text/markdown"))], timeout=300)
    plain_s = time.monotonic() - t0
    t0 = time.monotonic()
    events = []
    with httpx.stream("POST", url + "/v1/render?progress=1", files=[("files", ("many.md", data, "text/markdown"))],
                      timeout=300) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    stream_s = time.monotonic() - t0
    after = httpx.post(url + "/v1/render", json={"text": "short"}, timeout=60).status_code
    return {"plain": plain.status_code, "plain_s": plain_s, "stream_status": [e.get("status") for e in events],
            "stream_s": stream_s, "after": after}


def upload(url: str, name: str, data: bytes) -> tuple[int, str]:
    r = httpx.post(url + "/v1/render", files=[("files", (name, data, "application/pdf"))], timeout=120)
    return r.status_code, r.json().get("error", {}).get("message", "") if r.status_code != 200 else ""


def cross_site(url: str) -> list[int]:
    form = {"text": "spend the operator's key"}
    return [httpx.post(url + "/v1/render", data=form, headers=h, timeout=30).status_code
            for h in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"})]


def delete_while_fetching(url: str, text: str) -> dict[str, int]:
    """Pages fetched over and over while the document is deleted: each answer is a whole PNG or a 404."""
    doc = httpx.post(url + "/v1/render", json={"text": text}, timeout=120).json()
    counts: dict[str, int] = {}
    stop = threading.Event()

    def fetch():
        with httpx.Client(timeout=30) as c:
            while not stop.is_set():
                for page in doc["pages"]:
                    r = c.get(url + page)
                    ok = r.status_code == 200 and r.content.startswith(b"\x89PNG") and r.content.endswith(
                        b"IEND\xaeB`\x82")
                    key = "whole page" if ok else str(r.status_code)
                    counts[key] = counts.get(key, 0) + 1

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    counts["delete"] = httpx.delete(url + f"/v1/documents/{doc['id']}", timeout=30).status_code
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(30)
    return counts


def kill_mid_render(data_dir: str, text: str, *flags: str) -> dict:
    """A whole document, then a render killed with SIGKILL after its first pages; after a restart: the
    documents listed, whether each is whole, and what is left of the killed one."""
    with Server(data_dir, *flags) as server:
        kept = httpx.post(server.url + "/v1/render", json={"text": "a document that must survive. " * 300},
                          timeout=120).json()
        with httpx.stream("POST", server.url + "/v1/render?progress=1", json={"text": text}, timeout=120) as r:
            for line in r.iter_lines():
                if line.startswith("data:") and "pages" in json.loads(line[5:]):
                    server.kill9()
                    break
    folders_after_kill = sorted(p.name for p in (Path(data_dir) / "documents").iterdir())
    with Server(data_dir, *flags) as server:
        listed = httpx.get(server.url + "/v1/documents", timeout=30).json()["documents"]
        whole = []
        for d in listed:
            doc = httpx.get(server.url + d["url"], timeout=30).json()
            whole.append(all(httpx.get(server.url + p, timeout=30).status_code == 200 for p in doc["pages"]))
    folders_after_restart = sorted(p.name for p in (Path(data_dir) / "documents").iterdir())
    return {"kept": kept["id"], "listed": [d["id"] for d in listed], "whole": whole,
            "folders_after_kill": folders_after_kill, "folders_after_restart": folders_after_restart}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storm", type=int, default=30, help="clients in the connect-and-drop storm")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from corpus import essays

    long_text = essays()[:2_000_000]
    checks: list[tuple[str, bool, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        with Server(Path(tmp) / "a", *LIMITS) as server:
            s = chunked_oversize(server.port, 9)
            checks.append(("chunked body over 8 MB", s == 413, f"HTTP {s}"))
            answers = stalled_uploads(server.port, 8, 6)
            checks.append(("8 uploads of 6 MB stalled at once, 20 MB held at most",
                           answers[:3] == [None] * 3 and set(answers[3:]) == {503}, f"answers {answers}"))
            closed = idle_heads(server.port, 50, 3.5)
            checks.append(("50 connections that never finish their head", closed == 50,
                           f"{closed} closed by the server after 3.5 s"))
            s, took = slow_drip(server.port, 2)
            checks.append(("body dripped a byte every 0.2 s", s == 408 and took < 5, f"HTTP {s} after {took:.1f} s"))
            storm = drop_storm(server, long_text, args.storm)
            checks.append((f"{args.storm} clients start a render and hang up", storm["max_running"] <= 1
                           and storm["after"] == 200, f"at most {storm['max_running']} running; answers "
                           f"{sorted(set(storm['answers']))}; a render afterwards HTTP {storm['after']}"))
            for case, status in hostile_theta(server.url):
                checks.append((f"hostile θ {case}", status == 400, f"HTTP {status}"))
            status, msg = upload(server.url, "bomb.pdf", deflate_bomb(800))
            checks.append(("PDF inflating to 800 MB", status == 400, f"HTTP {status}: {msg[:90]}"))
            status, msg = upload(server.url, "blank.pdf", pdf([b""] * 3000))
            checks.append(("3,000-page PDF without text", status == 400, f"HTTP {status}: {msg[:90]}"))
            for i, status in enumerate(cross_site(server.url)):
                checks.append((f"cross-site form post {i + 1}", status == 403, f"HTTP {status}"))
            counts = delete_while_fetching(server.url, long_text[:60_000])
            bad = {k: v for k, v in counts.items() if k not in ("whole page", "404", "delete")}
            checks.append(("deletes while pages are fetched", not bad and counts.get("delete") == 200,
                           json.dumps(counts)))
            peak = server.peak_mb()
        with Server(Path(tmp) / "d", *LIMITS, "--max-pages", "5000") as server:
            hung = plain_hang_up(server, long_text * 6)  # a render of several seconds
            checks.append(("a plain render whose client hangs up after 1 s", hung["idle_after_s"] < 2
                           and hung["stored"] == 0, f"work stopped {hung['idle_after_s']:.1f} s after the hang-up; "
                           f"{hung['stored']} document stored"))
        with Server(Path(tmp) / "c", *LIMITS, "--request-timeout", "3") as server:
            d = deadline_before_the_first_page(server.url, formulas(3000))
            checks.append(("3,000 formulas to typeset, request timeout 3 s", d["plain"] == 504 and d["plain_s"] < 6
                           and d["stream_status"] == [504] and d["stream_s"] < 6 and d["after"] == 200,
                           f"HTTP {d['plain']} after {d['plain_s']:.1f} s; stream {d['stream_status']} closed after "
                           f"{d['stream_s']:.1f} s; a render afterwards HTTP {d['after']}"))
        killed = kill_mid_render(str(Path(tmp) / "b"), long_text, *LIMITS)
        lost = int(killed["kept"] not in killed["listed"])
        half = len(killed["folders_after_restart"]) - len(killed["listed"])
        checks.append(("kill -9 mid-render, then restart", not lost and all(killed["whole"]) and not half,
                       f"listed {len(killed['listed'])} (whole: {killed['whole']}), folders "
                       f"{len(killed['folders_after_kill'])} after the kill, {len(killed['folders_after_restart'])} "
                       "after the restart"))
    for name, ok, detail in checks:
        print(f"{'ok ' if ok else 'BAD'} {name}: {detail}")
    refusals = [c for c in checks if c[0] not in ("kill -9 mid-render, then restart",)]
    print(f"refused or handled correctly: {sum(ok for _, ok, _ in refusals)} of {len(refusals)}; "
          f"server peak memory {peak:.0f} MB; documents lost {lost}")


if __name__ == "__main__":
    main()
