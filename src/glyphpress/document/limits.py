"""Limits for parsing untrusted files: the parser runs in a child process, started by a fork server (never
forked from a process whose threads may hold locks: the web server renders in threads), with a memory cap;
it is killed when it takes longer than the time limit."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import GlyphpressError, InputError

POLL_S = 0.1  # how often a waiting parent looks at its stop event


def with_time_limit(seconds: float | None, name: str, fn: Callable[..., Any], *args: Any,
                    memory_mb: int | None = None, stop: threading.Event | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a child, killed after ``seconds`` (or as soon as ``stop`` is set) and capped
    at ``memory_mb`` more memory than it starts with; in this process when there is no time limit. ``fn`` and
    its arguments must pickle."""
    for value in stream_with_time_limit(seconds, name, _once, fn, args, kwargs, step="parsing", memory_mb=memory_mb,
                                        stop=stop):
        return value


def _once(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Iterator[Any]:
    yield fn(*args, **kwargs)


def _cap_memory(memory_mb: int | None) -> None:
    """Allow this process ``memory_mb`` of address space beyond what it has mapped already."""
    if not memory_mb:
        return
    try:
        import resource

        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = mapped + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError):  # not Linux: the time limit still holds
        pass


def _stream_child(conn, fn, args, memory_mb) -> None:
    try:
        _cap_memory(memory_mb)
        for item in fn(*args):
            conn.send_bytes(pickle.dumps(("item", item), protocol=pickle.HIGHEST_PROTOCOL))
        result = ("end", None)
    except GlyphpressError as e:
        result = ("user", str(e))
    except MemoryError:
        result = ("memory", None)
    except Exception as e:
        result = ("fail", _one_line(f"{type(e).__name__}: {e}"))
    try:
        conn.send_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        conn.close()


def _one_line(message: str, limit: int = 300) -> str:
    """An error's message as one line (a library's message may hold a whole traceback), cut to ``limit``."""
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _context():
    """A fork server where there is one (its children start with the parsers imported), else spawn."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["glyphpress.document", "glyphpress.document.flatten"])
        return ctx
    return mp.get_context("spawn")


def stream_with_time_limit(seconds: float | None, name: str, fn: Callable[..., Iterator[Any]],
                           *args: Any, step: str = "a page", memory_mb: int | None = None,
                           stop: threading.Event | None = None) -> Iterator[Any]:
    """The items of the generator ``fn(*args)``, made in a child one at a time: each must come within
    ``seconds`` of the one before, or the child is killed (the error names the ``step`` that took too long);
    the child may use ``memory_mb`` more memory than it starts with, and is killed as soon as ``stop`` is set.
    Without ``seconds``, made here. Closing the iterator early stops the child."""
    if not seconds:
        yield from fn(*args)
        return
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_stream_child, args=(child, fn, args, memory_mb), daemon=True)
    proc.start()
    child.close()
    too_big = f"{name}: parsing needed more than {memory_mb} MB of memory; the file may be hostile"
    try:
        while True:
            waited = time.monotonic()
            while not parent.poll(min(POLL_S, max(0.0, waited + seconds - time.monotonic()))):
                if stop is not None and stop.is_set():
                    raise InputError(f"{name}: {step} was stopped")
                if time.monotonic() >= waited + seconds:
                    raise InputError(f"{name}: {step} took longer than {seconds:g} s; the file may be hostile "
                                     "(raise the limit with --parse-timeout)")
            try:
                kind, value = pickle.loads(parent.recv_bytes())
            except EOFError:
                raise InputError(f"{name}: the parser crashed on this file" + (
                    f" or ran out of its {memory_mb} MB of memory" if memory_mb else "")) from None
            if kind == "item":
                yield value
            elif kind == "end":
                return
            elif kind == "user":
                raise InputError(value)
            elif kind == "memory":
                raise InputError(too_big)
            else:
                raise InputError(f"{name}: cannot parse ({value})")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
