"""Feed items of ad-hoc feeds kept in the process, as rendered, so that a paper returned by
many queries is rendered once (feedgen's part of an ad-hoc feed is most of its cost).

An item is keyed by everything it is made from: the publication its paper comes from (a
refresh that adds a summary is another publication), the format, language and address, the
paper, its date in the feed and, when a query's own terms scored it, its score. Bounded by
the characters kept; the least recently used go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

MAX_CHARS = 8_000_000


class FragmentCache:
    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self.max_chars = max_chars
        self._items: OrderedDict[Hashable, str] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, /) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def __setitem__(self, key: Hashable, item: str, /) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._chars += len(item) - (len(old) if old is not None else 0)
            self._items[key] = item
            while self._chars > self.max_chars:
                _, dropped = self._items.popitem(last=False)
                self._chars -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)
