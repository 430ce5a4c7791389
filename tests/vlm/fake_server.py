"""A real OpenAI-compatible HTTP server on loopback that records requests and misbehaves on demand."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeEngine:
    """``script`` is a list of behaviours, one per request (the last repeats): "ok", "429", "500",
    "cut", "malformed", "overflow", "slow", "empty", "400", "drip", and "hold" (answers once ``release`` is
    set). ``arrived`` is set when a request has come in."""

    def __init__(self, script=("ok",), answer="The answer is 42.", prompt_tokens=None):
        self.script = list(script)
        self.answer = answer
        self.prompt_tokens = prompt_tokens
        self.requests: list[dict] = []
        self.aborted = threading.Event()  # a streaming client went away mid-answer
        self.arrived = threading.Event()
        self.release = threading.Event()
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                engine.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                engine.arrived.set()
                n = len(engine.requests) - 1
                mode = engine.script[min(n, len(engine.script) - 1)]
                engine.handle(self, mode, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _json(self, h, status, obj, headers=()):
        data = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h, mode, body):
        if mode == "429":
            return self._json(h, 429, {"error": {"message": "slow down"}}, [("retry-after", "0")])
        if mode == "500":
            return self._json(h, 500, {"error": {"message": "internal"}})
        if mode == "400":
            return self._json(h, 400, {"error": {"message": "bad model name"}})
        if mode == "overflow":
            return self._json(h, 400, {"error": {"message": "This model's maximum context length is 4096 tokens"}})
        if mode == "slow":
            time.sleep(3)
        if mode == "hold" and not self.release.wait(30):
            return self._json(h, 500, {"error": {"message": "never released"}})
        if mode == "drip":  # a long answer, slowly: for disconnect tests
            h.send_response(200)
            h.send_header("content-type", "text/event-stream")
            h.end_headers()
            try:
                for k in range(100):
                    event = {"choices": [{"index": 0, "delta": {"content": f"w{k} "}}]}
                    h.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    h.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                self.aborted.set()
            return
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.end_headers()
        words = [] if mode == "empty" else [w + " " for w in self.answer.split()]
        for k, w in enumerate(words):
            if mode == "cut" and k == 2:
                h.wfile.flush()
                h.connection.shutdown(2)
                return
            event = {"choices": [{"index": 0, "delta": {"content": w}}]}
            h.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            h.wfile.flush()
        if mode == "malformed":
            h.wfile.write(b"data: {not json\n\n")
            return
        images = sum(1 for m in body["messages"] for c in (m["content"] if isinstance(m["content"], list) else [])
                     if c.get("type") == "image_url")
        usage = {"prompt_tokens": self.prompt_tokens if self.prompt_tokens is not None else 100 * images + 10,
                 "completion_tokens": len(words)}
        h.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        h.wfile.write(b"data: [DONE]\n\n")
