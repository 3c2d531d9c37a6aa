"""Python's cycle collector, paused for batches that make many objects and no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off for a batch (a refresh, ranking a day, reading words): it
    would traverse the whole heap again and again for nothing, each time enough new objects
    pile up. Left as it was found, so nested and concurrent batches keep it right; what
    cycles a batch leaves are collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def collector_resumed() -> Iterator[None]:
    """The cycle collector on for a part of a paused batch that waits (on the network, for
    seconds or minutes) rather than computes; left as it was found."""
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was_enabled:
            gc.disable()
