"""Time as a dependency: the pipeline and the arXiv client take a Clock so tests control it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch (shared across processes, for the rate limiter)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def utc_now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.time(), UTC)
