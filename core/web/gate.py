"""Ad-hoc queries (`/feed.*?...`, `/api/papers`, `/api/count`) take their turn: at most
QUERY_SLOTS are at work at once in a process (the others wait, holding no memory), and a
query whose client goes away is dropped, before it starts or between two days of its work.

Python runs one thread at a time, so more queries at once would not finish sooner; they
would only hold more papers in memory together (docs/BENCHMARKS.md, ad-hoc feeds).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from core.query.search import ClientGone

QUERY_SLOTS = 1
T = TypeVar("T")


class QueryGate:
    def __init__(self, slots: int = QUERY_SLOTS) -> None:
        self._turns = asyncio.Semaphore(slots)

    async def run(self, request: Request, work: Callable[[Callable[[], bool]], T]) -> T:
        """`work(gone)` in a worker thread when a slot is free; `gone()` turns true once the
        client has disconnected. Raises ClientGone if it left before the work began."""
        gone = threading.Event()
        watcher = asyncio.create_task(_watch(request, gone))
        try:
            async with self._turns:
                if gone.is_set():
                    raise ClientGone("the client left while the query waited")
                return await run_in_threadpool(work, gone.is_set)
        finally:
            watcher.cancel()


async def _watch(request: Request, gone: threading.Event) -> None:
    """Sets `gone` when the server reports the client's disconnection."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return
