import socket
import threading
import time

import httpx
import pytest
import uvicorn

from glyphpress.serve.app import Settings, create_app


class Server:
    """The real app, served by uvicorn on a loopback port in a thread."""

    def __init__(self, settings: Settings):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        for _ in range(200):
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def serve(tmp_path):
    def start(**kw):
        kw.setdefault("data_dir", str(tmp_path / "data"))
        return Server(Settings(**kw))

    return start
