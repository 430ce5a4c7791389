"""Load on the HTTP API: concurrent clients on loopback render documents and fetch their pages.

    python benchmarks/serve_load.py [--clients 50] [--seconds 60]

Starts `glyphpress serve` on a free loopback port with a fresh data folder, runs the clients for the
given time, and prints requests per second, p50/p95/p99 latency, errors, and the server's memory at
the start and the end (target: zero errors, no growth). Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import essays  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def client(url: str, texts: list[str], until: float, lat: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(timeout=120) as c:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            try:
                r = await c.post(url + "/v1/render", json={"text": random.choice(texts)})
                if r.status_code != 200:
                    errors.append(f"render {r.status_code}")
                    continue
                page = await c.get(url + r.json()["pages"][0])
                if page.status_code != 200:
                    errors.append(f"page {page.status_code}")
                    continue
                lat.append(time.perf_counter() - t0)
            except httpx.HTTPError as e:
                errors.append(type(e).__name__)


async def run(url: str, clients: int, seconds: float) -> tuple[list[float], list[str]]:
    corpus = essays()
    texts = [corpus[i: i + 6000] for i in range(0, 200_000, 6000)]
    lat: list[float] = []
    errors: list[str] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(client(url, texts, until, lat, errors) for _ in range(clients)))
    return lat, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    data = tempfile.mkdtemp()
    server = subprocess.Popen([sys.executable, "-m", "glyphpress", "serve", "--port", str(port), "--data-dir", data,
                               "--max-documents", "100000", "--max-concurrent", "2", "--max-queued", "1000"])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(run(url, 4, 3))  # warm-up
        before = rss_mb(server.pid)
        t0 = time.perf_counter()
        lat, errors = asyncio.run(run(url, args.clients, args.seconds))
        elapsed = time.perf_counter() - t0
        after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [float("nan")] * 99
    print(f"{args.clients} clients for {elapsed:.0f} s: {len(lat)} render+page round trips, "
          f"{len(lat) / elapsed:.1f}/s; latency p50 {q[49]:.2f} s, p95 {q[94]:.2f} s, p99 {q[98]:.2f} s; "
          f"errors {len(errors)} {sorted(set(errors))[:5]}; server memory {before:.0f} MB -> {after:.0f} MB")


if __name__ == "__main__":
    main()
