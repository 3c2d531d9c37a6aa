"""A least-recently-used map bounded by the total weight of its values (bytes, hits, or one
per entry), safe to share between threads: the per-process caches of serving."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _one(_: object) -> int:
    return 1


class WeighedLRU(Generic[K, V]):
    def __init__(self, limit: int, weight: Callable[[V], int] = _one) -> None:
        self.limit, self.weight = limit, weight
        self._items: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K, /) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def __setitem__(self, key: K, value: V, /) -> None:
        """Kept, the least recently used dropped to make room; a value heavier than the
        whole limit is not kept (nor what the key held before)."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= self.weight(old)
            if self.weight(value) > self.limit:
                return
            self._items[key] = value
            self._total += self.weight(value)
            while self._total > self.limit:
                _, dropped = self._items.popitem(last=False)
                self._total -= self.weight(dropped)

    def __len__(self) -> int:
        return len(self._items)
