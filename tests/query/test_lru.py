"""The one bounded cache behind the day indexes, query terms' hits, ad-hoc items and feeds."""

from __future__ import annotations

from core.query.lru import WeighedLRU


def test_the_least_recently_used_go_first_once_the_weight_is_over_the_limit() -> None:
    cache: WeighedLRU[str, bytes] = WeighedLRU(10, len)
    cache["a"], cache["b"] = b"1234", b"1234"
    assert cache.get("a") == b"1234"  # now "b" is the least recently used
    cache["c"] = b"1234"
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"1234")
    cache["a"] = b"12"  # replacing a value weighs the new one, not both
    cache["d"] = b"1234"
    assert len(cache) == 3 and cache.get("a") == b"12"


def test_a_value_heavier_than_the_limit_is_not_kept() -> None:
    cache: WeighedLRU[str, bytes] = WeighedLRU(4, len)
    cache["a"] = b"12"
    cache["a"] = b"123456"
    assert cache.get("a") is None and len(cache) == 0


def test_without_a_weight_each_entry_counts_one() -> None:
    cache: WeighedLRU[int, str] = WeighedLRU(2)
    for n in range(5):
        cache[n] = str(n)
    assert len(cache) == 2 and cache.get(4) == "4" and cache.get(2) is None
