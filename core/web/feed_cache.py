"""Stored feeds kept in the process for a few seconds, as served (on the request's address,
with their response headers made).

Feeds change once or twice a day; readers and CDNs poll far more often. Serving from memory
skips the store read and, when the service is reached at another address than the one the
feeds were rendered with, rewriting and recompressing their links on every request. A feed
may so be served up to `TTL_SECONDS` after a refresh replaced it.
"""

from __future__ import annotations

from core.clock import Clock
from core.query.lru import WeighedLRU
from core.web.http_cache import Prepared

TTL_SECONDS = 10.0
MAX_BYTES = 64 * 1024 * 1024


class FeedCache:
    def __init__(self, clock: Clock, ttl: float = TTL_SECONDS, max_bytes: int = MAX_BYTES) -> None:
        self.clock, self.ttl = clock, ttl
        self._entries: WeighedLRU[tuple[str, bool, str], tuple[float, Prepared]] = WeighedLRU(
            max_bytes, lambda entry: len(entry[1].feed.body) + len(entry[1].feed.gzip)
        )

    def get(self, key: str, gzip: bool, base: str) -> Prepared | None:
        entry = self._entries.get((key, gzip, base))
        if entry is None or self.clock.time() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, key: str, gzip: bool, base: str, feed: Prepared) -> None:
        self._entries[(key, gzip, base)] = (self.clock.time(), feed)
