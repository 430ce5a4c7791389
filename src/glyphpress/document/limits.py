"""A time limit for parsing untrusted files: the parser runs in a child process that is killed on time-out."""

from __future__ import annotations

import multiprocessing as mp
import pickle
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import GlyphpressError, InputError


def with_time_limit(seconds: float | None, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a forked child, killed after ``seconds``; no limit without fork or seconds."""
    for value in stream_with_time_limit(seconds, name, _once, fn, args, kwargs, step="parsing"):
        return value


def _once(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Iterator[Any]:
    yield fn(*args, **kwargs)


def _stream_child(conn, fn, args) -> None:
    try:
        for item in fn(*args):
            conn.send_bytes(pickle.dumps(("item", item), protocol=pickle.HIGHEST_PROTOCOL))
        result = ("end", None)
    except GlyphpressError as e:
        result = ("user", str(e))
    except Exception as e:
        result = ("fail", f"{type(e).__name__}: {e}")
    try:
        conn.send_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        conn.close()


def stream_with_time_limit(seconds: float | None, name: str, fn: Callable[..., Iterator[Any]],
                           *args: Any, step: str = "a page") -> Iterator[Any]:
    """The items of the generator ``fn(*args)``, made in a forked child one at a time: each must come within
    ``seconds`` of the one before, or the child is killed (the error names the ``step`` that took too long).
    Closing the iterator early stops the child."""
    if not seconds or "fork" not in mp.get_all_start_methods():
        yield from fn(*args)
        return
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_stream_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    try:
        while True:
            if not parent.poll(seconds):
                raise InputError(f"{name}: {step} took longer than {seconds:g} s; the file may be hostile "
                                 "(raise the limit with --parse-timeout)")
            try:
                kind, value = pickle.loads(parent.recv_bytes())
            except EOFError:
                raise InputError(f"{name}: the parser crashed on this file") from None
            if kind == "item":
                yield value
            elif kind == "end":
                return
            elif kind == "user":
                raise InputError(value)
            else:
                raise InputError(f"{name}: cannot parse ({value})")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
