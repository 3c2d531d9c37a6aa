"""Feed items of ad-hoc feeds kept in the process, as rendered, so that a paper returned by
many queries is rendered once (feedgen's part of an ad-hoc feed is most of its cost).

An item is keyed by everything it is made from: the publication its paper comes from (a
refresh that adds a summary is another publication), the format, language and address, the
paper, its date in the feed and, when a query's own terms scored it, its score. Bounded by
the bytes kept (enough for a 2,000-item feed); the least recently used go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

MAX_BYTES = 16 * 1024 * 1024


class FragmentCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, /) -> bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def __setitem__(self, key: Hashable, item: bytes, /) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes += len(item) - (len(old) if old is not None else 0)
            self._items[key] = item
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)
