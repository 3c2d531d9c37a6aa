"""Feed items of ad-hoc feeds kept in the process, as rendered and compressed, so that a
paper returned by many queries is rendered once (feedgen's part of an ad-hoc feed is most of
its cost).

An item is keyed by everything it is made from: the publication its paper comes from (a
refresh that adds a summary is another publication), the format, language and address, the
paper, its date in the feed and, when a query's own terms scored it, its score. Bounded by
the bytes kept (enough for a 2,000-item feed); the least recently used go first.
"""

from __future__ import annotations

from collections.abc import Hashable

from core.query.lru import WeighedLRU
from core.render.stored import Piece

MAX_BYTES = 16 * 1024 * 1024

FragmentCache = WeighedLRU[Hashable, Piece]


def fragment_cache(max_bytes: int = MAX_BYTES) -> FragmentCache:
    return WeighedLRU(max_bytes, lambda item: len(item.plain) + len(item.packed or b""))
