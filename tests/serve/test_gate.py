"""Slots are held until the work has really ended, whatever happens to the request that started it."""

import asyncio
import threading
import time

import pytest
from fastapi import HTTPException

from glyphpress.serve.gate import Gate, Stopped


def slow_job(release: threading.Event, seen_stop: list, stop: threading.Event) -> str:
    """A job that finishes only when released (it notes whether it was asked to stop)."""
    release.wait(10)
    seen_stop.append(stop.is_set())
    return "done"


def test_a_cancelled_request_keeps_its_slot_until_the_thread_returns():
    async def go():
        gate, release, seen_stop = Gate(1, 0), threading.Event(), []

        async def request():
            async with gate.thread(time.monotonic() + 60, slow_job, release, seen_stop) as (job, _stop):
                await job

        task = asyncio.create_task(request())
        await asyncio.sleep(0.05)
        task.cancel()  # the client hung up
        await asyncio.sleep(0.05)
        assert gate.running == 1  # its thread still runs: the slot is still taken
        with pytest.raises(HTTPException) as refused:
            async with gate.slot():
                pass
        assert refused.value.status_code == 429
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert gate.running == 0 and seen_stop == [True]  # it was asked to stop
        async with gate.slot():  # free again
            pass

    asyncio.run(go())


def test_past_the_deadline_the_work_is_stopped_and_the_answer_is_504():
    def stoppable(stop: threading.Event) -> None:
        for _ in range(200):
            if stop.is_set():
                raise Stopped()
            time.sleep(0.01)

    async def go():
        gate = Gate(1, 0)
        t0 = time.monotonic()
        with pytest.raises(HTTPException) as e:
            await gate.run(time.monotonic() + 0.2, stoppable)
        assert e.value.status_code == 504 and time.monotonic() - t0 < 1.5  # stopped, not run to its end
        assert gate.running == 0

    asyncio.run(go())


def test_work_in_a_held_slot_keeps_it_when_the_caller_is_cancelled():
    async def go():
        gate, release, seen_stop = Gate(1, 0), threading.Event(), []

        async def request():
            async with gate.slot(time.monotonic() + 60):
                await gate.call(time.monotonic() + 60, slow_job, release, seen_stop)

        task = asyncio.create_task(request())
        await asyncio.sleep(0.05)
        task.cancel()  # the client hung up while its pages were being read
        await asyncio.sleep(0.05)
        assert gate.running == 1 and gate.full()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert gate.running == 0 and seen_stop == [True]

    asyncio.run(go())


def test_waiting_for_a_slot_has_the_deadline_too():
    async def go():
        gate, release = Gate(1, 4), threading.Event()
        holder = asyncio.create_task(gate.run(time.monotonic() + 60, slow_job, release, []))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        with pytest.raises(HTTPException) as e:
            async with gate.slot(time.monotonic() + 0.3):
                pass
        assert e.value.status_code == 504 and time.monotonic() - t0 < 2 and gate.waiting == 0
        release.set()
        assert await holder == "done"

    asyncio.run(go())
