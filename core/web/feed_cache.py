"""Stored feeds kept in the process for a few seconds, as served (on the request's address).

Feeds change once or twice a day; readers and CDNs poll far more often. Serving from memory
skips the store read and, when the service is reached at another address than the one the
feeds were rendered with, rewriting and recompressing their links on every request. A feed
may so be served up to `TTL_SECONDS` after a refresh replaced it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from core.clock import Clock
from core.models import RenderedFeed

TTL_SECONDS = 10.0
MAX_BYTES = 64 * 1024 * 1024


class FeedCache:
    def __init__(self, clock: Clock, ttl: float = TTL_SECONDS, max_bytes: int = MAX_BYTES) -> None:
        self.clock, self.ttl, self.max_bytes = clock, ttl, max_bytes
        self._entries: OrderedDict[tuple[str, bool, str], tuple[float, RenderedFeed]] = (
            OrderedDict()
        )
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, gzip: bool, base: str) -> RenderedFeed | None:
        with self._lock:
            entry = self._entries.get((key, gzip, base))
            if entry is None or self.clock.time() - entry[0] > self.ttl:
                return None
            self._entries.move_to_end((key, gzip, base))
            return entry[1]

    def put(self, key: str, gzip: bool, base: str, feed: RenderedFeed) -> None:
        size = len(feed.body) + len(feed.gzip)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop((key, gzip, base), None)
            if old is not None:
                self._bytes -= len(old[1].body) + len(old[1].gzip)
            self._entries[(key, gzip, base)] = (self.clock.time(), feed)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body) + len(dropped.gzip)
