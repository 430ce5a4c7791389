"""Token accounting of a render: each page's text tokens and the whole text's, counted exactly.

Loading a BPE tokenizer takes about as long as laying out and drawing a long text. ``glyphpress render``
(one input) and ``glyphpress count`` therefore start a counting process (``start_background``) first: it loads
the tokenizer while this process reads, lays out and draws, and counts the text and each page as they
come. Everywhere else (the library, the server, a process that cannot fork safely) counting happens
here, with the tokenizer loaded once per process. Both give the same numbers; if the counting process
is lost, counting falls back to this process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import tempfile
import threading
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle

from ..errors import GlyphpressError
from .text import count_tokens, text_tokenizer, tokenizer_name

DEADLINE = 120.0  # seconds the counting process may take to answer after the last page
_BATCH = 16  # pages sent together


class Accounting:
    """Counts for one text: ``page()`` as pages are made (optional), ``finish()`` for the numbers, then
    ``close()`` (or use it as a context manager)."""

    def __init__(self, spec: str | None, text: str):
        self.spec, self.text = spec, text
        self.name = tokenizer_name(spec)

    def page(self, a: int, b: int) -> None:
        """The next page shows ``text[a:b]``."""

    def finish(self, ranges: list[tuple[int, int]]) -> tuple[list[int], int]:
        """Tokens of every page (``ranges``, in order; ``page()`` may have given the first of them) and of
        the whole text."""
        tok = text_tokenizer(self.spec)
        try:
            return [len(tok.encode(self.text[a:b])) for a, b in ranges], count_tokens(tok, self.text)
        except Exception as e:  # a tokenizer that cannot take this text
            raise GlyphpressError(f"token counting failed: {type(e).__name__}: {e}") from None

    def close(self) -> None:
        pass

    def __enter__(self) -> Accounting:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Remote(Accounting):
    """Counts in the counting process, which this text holds until ``close()``. The text goes over as an
    open memory file (nothing this process sends can wait on the other's tokenizer loading), the page
    ranges in small batches as they come. If the process is lost, counting falls back to this one; a
    text closed before its answer was read takes the process with it (no later text can read a stale
    answer)."""

    def __init__(self, counter: _Counter, spec: str | None, text: str):
        super().__init__(spec, text)
        self.counter: _Counter | None = counter
        self.held: _Counter | None = counter
        self.answered = False
        self.sent = 0
        self.batch: list[tuple[int, int]] = []
        try:
            fd = _text_file(text)
            try:
                counter.conn.send(("text", None))
                send_handle(counter.conn, fd, counter.proc.pid)
            finally:
                os.close(fd)
        except (OSError, ValueError):
            self._lose()

    def _send(self, msg) -> None:
        if self.counter is not None:
            try:
                self.counter.conn.send(msg)
            except (OSError, ValueError):
                self._lose()

    def _lose(self) -> None:
        _drop(self.counter)
        self.counter = None

    def page(self, a: int, b: int) -> None:
        self.batch.append((a, b))
        self.sent += 1
        if len(self.batch) >= _BATCH:
            self._send(("pages", self.batch))
            self.batch = []

    def finish(self, ranges: list[tuple[int, int]]) -> tuple[list[int], int]:
        self._send(("pages", self.batch + [tuple(r) for r in ranges[self.sent:]]))
        self.batch = []
        if self.counter is not None:
            try:
                result = self.counter.result(len(ranges))
            except GlyphpressError:  # its answer, read: the process serves the next text
                self.answered = True
                raise
            except (OSError, EOFError, TimeoutError, ConnectionError):
                self._lose()
            else:
                self.answered = True
                return result
        return super().finish(ranges)

    def close(self) -> None:
        if self.held is not None:
            if not self.answered:
                self._lose()
            self.held.lock.release()
            self.held = None


def _text_file(text: str) -> int:
    """An open file (in memory where the system has them) holding ``text`` as UTF-8."""
    data = text.encode("utf-8", "surrogatepass")
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("glyphpress-text", os.MFD_CLOEXEC)
    else:
        fd = os.dup(tempfile.TemporaryFile().fileno())
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        raise
    return fd


class _Counter:
    """The counting process and its pipe, used by the process that started it, one text at a time."""

    def __init__(self, spec: str | None):
        self.name, self.owner = tokenizer_name(spec), os.getpid()
        self.lock = threading.Lock()
        ctx = mp.get_context("fork")
        here, there = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(spec, there, os.getpid()), daemon=True, name="glyphpress-count")
        self.proc.start()
        there.close()
        self.conn: Connection = here

    def usable(self, spec: str | None) -> bool:
        return self.owner == os.getpid() and self.name == tokenizer_name(spec) and self.proc.is_alive()

    def result(self, n_pages: int) -> tuple[list[int], int]:
        self.conn.send(("end", None))
        if not self.conn.poll(DEADLINE):
            raise TimeoutError
        status, *answer = self.conn.recv()
        if status == "error":
            raise GlyphpressError(answer[0])
        counts, total = answer
        if len(counts) != n_pages:
            raise ConnectionError("page counts lost")
        return counts, total

    def stop(self) -> None:
        try:
            self.conn.send(("quit", None))  # processes forked since hold this pipe open: say it
        except (OSError, ValueError):
            pass
        self.conn.close()
        self.proc.join(timeout=1)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def _serve(spec: str | None, conn: Connection, parent: int) -> None:
    """The counting process: load the tokenizer, then count texts until told to stop, its pipe closes or its
    parent is gone. Errors are answered, never printed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        tok, broken = text_tokenizer(spec), None
    except Exception as e:  # the answer to every text
        tok, broken = None, str(e) if isinstance(e, GlyphpressError) else f"cannot load tokenizer: {e}"
    text, total, counts, error = "", 0, [], None
    while True:
        try:
            if not conn.poll(1.0):
                if os.getppid() != parent:  # the parent is gone (killed), and other processes it
                    return  # started may hold this pipe open
                continue
            kind, data = conn.recv()
            if kind == "quit":
                return
            if kind == "text":
                with os.fdopen(recv_handle(conn), "rb") as f:
                    f.seek(0)
                    text = f.read().decode("utf-8", "surrogatepass")
        except (EOFError, OSError):
            return
        if kind == "end":
            error = error or broken
            conn.send(("error", error) if error else ("ok", counts, total))
            continue
        if broken:
            continue
        try:
            if kind == "text":
                total, counts, error = count_tokens(tok, text), [], None
            elif kind == "pages" and error is None:
                counts += [len(tok.encode(text[a:b])) for a, b in data]
        except Exception as e:
            error = f"token counting failed: {type(e).__name__}: {e}"


_COUNTER: _Counter | None = None


def start_background(spec: str | None) -> None:
    """Start the counting process for ``spec`` now, so its tokenizer loads while this process works.
    Only where forking is safe (no other threads) and once per tokenizer; a bad name fails here."""
    global _COUNTER
    tokenizer_name(spec)
    if _COUNTER is not None and _COUNTER.usable(spec):
        return
    if "fork" not in mp.get_all_start_methods() or threading.active_count() > 1:
        return
    _drop(_COUNTER)
    _COUNTER = _Counter(spec)


def accounting(spec: str | None, text: str) -> Accounting:
    """Counting for ``text``: in the counting process when one runs for this tokenizer and is free, else
    here."""
    counter = _COUNTER
    if counter is not None and counter.usable(spec) and counter.lock.acquire(blocking=False):
        return _Remote(counter, spec, text)
    return Accounting(spec, text)


def _drop(counter: _Counter | None) -> None:
    global _COUNTER
    if counter is None:
        return
    if _COUNTER is counter:
        _COUNTER = None
    try:
        counter.stop()
    except OSError:
        pass


def stop_background() -> None:
    """Stop the counting process, if one runs."""
    _drop(_COUNTER)
