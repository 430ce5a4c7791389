"""Slots for heavy work: at most ``limit`` jobs at once and ``queued`` waiting (beyond them, 429). A slot is
held until its work has really ended: a job running in a thread keeps it after its client has gone or its
deadline has passed, until the thread returns (it is asked to stop at its next page)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import HTTPException

Job = tuple[asyncio.Future, threading.Event]  # a worker thread's future and its stop event


def remaining(deadline: float) -> float:
    """Seconds left before ``deadline`` (``time.monotonic()``), never negative."""
    return max(0.0, deadline - time.monotonic())


class Stopped(Exception):
    """A job was asked to stop (its client went away or its deadline passed)."""


class Gate:
    def __init__(self, limit: int, queued: int):
        self.limit, self.queued = limit, queued
        self._sem = asyncio.Semaphore(limit)
        self.waiting = 0
        self.running = 0

    def full(self) -> bool:
        """No slot free and no room to wait for one."""
        return self._sem.locked() and self.waiting >= self.queued

    def refuse_if_full(self) -> None:
        if self.full():
            raise HTTPException(429, "busy: too many renders and questions at once; retry shortly")

    @contextlib.asynccontextmanager
    async def slot(self, deadline: float | None = None) -> AsyncIterator[None]:
        """A slot, waited for until ``deadline`` (``time.monotonic()``) at most: then 504."""
        self.refuse_if_full()
        self.waiting += 1
        try:
            if deadline is None:
                await self._sem.acquire()
            else:
                await asyncio.wait_for(self._sem.acquire(), remaining(deadline))
        except asyncio.TimeoutError:
            raise HTTPException(504, "waited longer than this server allows for a free slot") from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._sem.release()

    @contextlib.asynccontextmanager
    async def started(self, fn: Callable[..., Any], *args: Any) -> AsyncIterator[Job]:
        """``fn(*args, stop)`` started in a worker thread (the caller holds a slot): yields its future and its
        stop event. On the way out (done, failed, cancelled or timed out) the job is asked to stop, and the
        way out waits until the thread has returned, so the caller's slot is not freed before."""
        stop = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(None, fn, *args, stop)
        try:
            # shielded: a cancelled caller must not cancel the future that tells when the thread has ended
            yield asyncio.shield(future), stop
        finally:
            if not future.done():
                stop.set()
            await _until_done(future)

    @contextlib.asynccontextmanager
    async def thread(self, deadline: float, fn: Callable[..., Any], *args: Any) -> AsyncIterator[Job]:
        """A slot (waited for until ``deadline``), and ``fn(*args, stop)`` started in it (see ``started``)."""
        async with self.slot(deadline), self.started(fn, *args) as job:
            yield job

    async def call(self, deadline: float, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args, stop)`` in a worker thread, within the slot the caller holds; past the ``deadline`` it
        is stopped and the answer is 504."""
        async with self.started(fn, *args) as (future, _stop):
            try:
                return await asyncio.wait_for(future, remaining(deadline))
            except asyncio.TimeoutError:
                raise HTTPException(504, "the request took longer than this server allows; its work was stopped") \
                    from None

    async def run(self, deadline: float, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args, stop)`` in a thread within a slot; past the ``deadline``, 504."""
        async with self.slot(deadline):
            return await self.call(deadline, fn, *args)


async def _until_done(future: asyncio.Future) -> None:
    """Wait for a thread's future to finish, whatever cancellations arrive meanwhile (the server's task groups
    cancel again at every wait: a shielded scope keeps them out)."""
    while not future.done():
        try:
            with anyio.CancelScope(shield=True):
                await asyncio.wait([future])
        except asyncio.CancelledError:
            continue
    if not future.cancelled():
        future.exception()  # retrieved: a job's failure after its caller left is not logged as unhandled
