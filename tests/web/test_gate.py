"""Ad-hoc queries take turns, and one whose client has gone is dropped before it starts."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from core.query.search import ClientGone
from core.web.gate import QueryGate
from tests.factories import ServerMessages


def test_a_query_waits_for_a_slot_and_is_dropped_if_its_client_left_meanwhile() -> None:
    ran: list[str] = []
    started, release = threading.Event(), threading.Event()

    def holds_the_slot(gone: Any) -> str:
        started.set()
        release.wait(timeout=30)
        return "first"

    def second_work(gone: Any) -> str:
        ran.append("second")
        return "second"

    async def scenario() -> None:
        gate = QueryGate(slots=1)
        first = asyncio.create_task(gate.run(ServerMessages.connected(), holds_the_slot))
        await asyncio.to_thread(started.wait, 30)
        second = asyncio.create_task(gate.run(ServerMessages.gone(), second_work))
        for _ in range(3):  # let the second block on the slot and its watcher hear the news
            await asyncio.sleep(0)
        release.set()
        assert await first == "first"
        with pytest.raises(ClientGone, match="left while the query waited"):
            await second

    asyncio.run(scenario())
    assert ran == [], "no work for a client that has gone"
