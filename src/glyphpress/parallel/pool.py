"""Render worker processes, started once and kept for later renders (no start-up per render, and their
renderers stay warm). Work goes out through one queue, so whoever is free takes the next range; each
worker answers through its own pipe.

Every range has a number and a claim slot in shared memory: a worker draws a range only after claiming
it, and this process can take back a range no worker has claimed yet. Who draws a range is therefore
decided once, under a lock, never by a race.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.queues
import os
import queue
import signal
import threading
from pathlib import Path

from PIL import Image

from ..errors import GlyphpressError
from ..pagefiles import PageWriter
from ..result import Page
from .transport import SHARE_PIXELS, MemoryFile, unpack

SLOTS = 4096  # claim slots, reused round-robin: far more than the ranges one render has out at a time
_FREE = -1


class _Tasks(multiprocessing.queues.Queue):
    """The pool's task queue. Its feeder thread writes ranges into a pipe for the workers; once the
    workers are gone, ``finish`` reads back what they never took, so that the thread (and the ranges it
    holds) does not wait forever on a full pipe, and ends."""

    def finish(self) -> None:
        self.close()  # the feeder ends after what it holds
        feeder = getattr(self, "_thread", None)
        if feeder is None:  # nothing was ever queued
            self._reader.close()
            return
        try:
            while feeder.is_alive():
                if self._reader.poll(0.05):
                    self._reader.recv_bytes()
        except OSError:  # the feeder closes the pipe's ends as it ends
            pass
        feeder.join()


class Pool:
    def __init__(self, size: int):
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.pid = os.getpid()
        self.tasks = _Tasks(ctx=ctx)
        self.claims = ctx.Array("q", [_FREE] * SLOTS)
        self.conns, self.procs = [], []
        for _ in range(size):
            here, there = ctx.Pipe()
            p = ctx.Process(target=_serve, args=(self.tasks, there, self.claims, self.pid), daemon=True,
                            name="glyphpress-render")
            p.start()
            there.close()
            self.conns.append(here)
            self.procs.append(p)

    def usable(self, size: int) -> bool:
        return self.pid == os.getpid() and len(self.procs) == size and all(p.is_alive() for p in self.procs)

    def offer(self, seq: int, task: tuple) -> None:
        """Queue a range for whichever worker is free."""
        with self.claims.get_lock():
            self.claims[seq % SLOTS] = seq
        self.tasks.put((seq, *task))

    def take_back(self, seq: int) -> bool:
        """Claim a queued range for this process; False when a worker has claimed it already."""
        with self.claims.get_lock():
            if self.claims[seq % SLOTS] != seq:
                return False
            self.claims[seq % SLOTS] = _FREE
            return True

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.join()
        for c in self.conns:
            c.close()
        self.tasks.finish()


def _claim(claims, seq: int) -> bool:
    with claims.get_lock():
        if claims[seq % SLOTS] != seq:
            return False  # taken back by the parent (or from a render that ended)
        claims[seq % SLOTS] = _FREE
        return True


def _serve(tasks, conn, claims, parent: int) -> None:
    """A worker: draws the ranges it claims, for as long as the pool lives.

    Its pages go back over ``conn``: as files written (a folder), as memory the parent maps (Linux),
    or pickled (elsewhere)."""
    from ..pipeline import renderer_for

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            seq, cfg, layouts, out_dir = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the parent is gone (killed): nobody will ask again
                return
            continue
        if not _claim(claims, seq):
            continue
        memory = MemoryFile() if SHARE_PIXELS and out_dir is None else None
        try:
            r = renderer_for(cfg)
            done = []  # (page index, what the parent needs to know of it)
            with PageWriter(Path(out_dir or "."), cfg, threads=1, depth=4) as writer:
                for lay in layouts:
                    pixels = r.raster.pixels(unpack(lay, r.engine))
                    if memory is not None:
                        done.append((lay.index, memory.add(pixels)))
                        continue
                    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
                    if out_dir is not None:  # the parent keeps the page records: it needs the size
                        done.append((lay.index, image.size))
                        writer.put(Page(lay.index, *image.size, lay.source_range, 0, 0, image=image))
                        continue
                    done.append((lay.index, image))
            # the files are complete now; or a descriptor of the range's memory follows the message
            conn.send(("shared" if memory is not None else "pages", seq, done))
            if memory is not None:
                memory.send(conn)
        except BaseException as e:  # reported to the parent, which raises it
            conn.send(("error", seq, str(e) if isinstance(e, GlyphpressError) else f"{type(e).__name__}: {e}"))
        finally:
            if memory is not None:
                memory.close()


_POOL: Pool | None = None
LOCK = threading.Lock()  # one parallel render at a time uses the pool


def pool(size: int) -> Pool:
    """The kept pool of ``size`` workers, started (again) where needed. Call with ``LOCK`` held."""
    global _POOL
    if _POOL is None or not _POOL.usable(size):
        if _POOL is not None and _POOL.pid == os.getpid():
            _POOL.close()
        _POOL = Pool(size)
    return _POOL


def discard(p: Pool) -> None:
    """Stop a pool after a failure (a later render starts new workers). Call with ``LOCK`` held."""
    global _POOL
    if _POOL is p:
        _POOL = None
    p.close()


def shutdown_workers() -> None:
    """Stop the worker processes kept for parallel renders (they also stop when Python exits)."""
    global _POOL
    with LOCK:
        if _POOL is not None and _POOL.pid == os.getpid():
            _POOL.close()
        _POOL = None


def current() -> Pool | None:
    return _POOL
