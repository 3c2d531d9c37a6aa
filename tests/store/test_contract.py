"""One contract, both real stores: a SQLite file and a Redis server."""

from __future__ import annotations

import gzip
import sqlite3
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.models import DayRecord, Publication, RefreshReport, RenderedFeed
from core.store import FeedHead, Store, StoreError, papers_of_days
from core.store.sqlite import SQLiteStore
from tests.conftest import FakeClock
from tests.factories import (
    both_copies,
    make_paper,
    noise,
    rendered_feed,
    two_publications,
    with_summary,
)

DAY1, DAY2 = date(2024, 11, 27), date(2024, 11, 28)
WHEN = datetime(2024, 11, 28, 6, 0, tzinfo=UTC)


def _report(message: str = "ok") -> RefreshReport:
    return RefreshReport(started=WHEN, status="published", message=message, source="test")


def _feed(body: bytes) -> RenderedFeed:
    return RenderedFeed(body=body, media_type="application/rss+xml", etag='"x"', last_modified=WHEN)


def test_publish_then_read_back(store: Store) -> None:
    papers = [make_paper("2411.00001", title="One"), make_paper("hep-ph/0101001", title="Two")]
    store.publish(
        Publication(
            papers=papers,
            days={DAY2: ["hep-ph/0101001", "2411.00001"]},
            feeds={"cs.LG.xml": _feed(b"<rss/>\x00binary-safe")},
            report=_report(),
        )
    )
    assert store.day_index() == {DAY2: ["hep-ph/0101001", "2411.00001"]}
    assert [p.title for p in papers_of_days(store, [DAY2])] == ["Two", "One"]
    stored = store.feed("cs.LG.xml")
    assert stored is not None
    assert stored.body == b"<rss/>\x00binary-safe"
    assert stored.gzip == b"", "the uncompressed read leaves the compressed copy in the store"
    assert stored.last_modified == WHEN
    assert stored.etag == '"x"'
    assert store.feed("missing.xml") is None
    assert store.last_report() == store.last_published() == _report()
    no_copy = store.feed("cs.LG.xml", gzip=True)
    assert no_copy is not None and no_copy.body == b"<rss/>\x00binary-safe", "no gzip copy: bytes"


def _text_and_copy() -> RenderedFeed:
    text = b"<rss>" + b"<item>an item</item>" * 2000 + b"</rss>"
    return RenderedFeed(
        body=text,
        gzip=gzip.compress(text),
        media_type="application/rss+xml",
        etag='"e"',
        last_modified=WHEN,
    )


def test_a_request_reads_only_the_copy_it_serves_and_gets_the_text_inflated(
    store: Store,
) -> None:
    """A feed with a gzip copy is kept as that copy alone; a reader that takes no gzip gets
    it inflated."""
    feed = _text_and_copy()
    store.publish(Publication(feeds={"a.xml": feed}, report=_report()))
    compressed = store.feed("a.xml", gzip=True)
    assert compressed is not None and (compressed.body, compressed.gzip) == (b"", feed.gzip)
    plain = store.feed("a.xml")
    assert plain is not None and (plain.body, plain.gzip) == (feed.body, b"")


def test_sqlite_keeps_a_feeds_text_only_when_it_has_no_gzip_copy(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    feeds = {"a.xml": _text_and_copy(), "b.xml": _feed(b"<rss/>")}
    store.publish(Publication(feeds=feeds, report=_report()))
    store.close()
    rows = sqlite3.connect(tmp_path / "store.db").execute(
        "SELECT key, length(body), length(gzip) FROM feeds ORDER BY key"
    )
    assert list(rows) == [("a.xml", 0, len(feeds["a.xml"].gzip)), ("b.xml", 6, 0)]


def test_publication_replaces_feeds_and_prunes(store: Store) -> None:
    store.publish(
        Publication(
            papers=[make_paper("old"), make_paper("kept")],
            days={DAY1: ["old", "kept"]},
            feeds={"a.xml": _feed(b"a"), "b.xml": _feed(b"b")},
            report=_report(),
        )
    )
    for paper_id in ("old", "kept"):
        summary = with_summary(make_paper(paper_id), "TL;DR").summaries["en"]
        store.put_summary(summary, "en:m")
    store.put_embeddings({"old": b"\x00\x00\x80?", "kept": b"\x00\x00\x00@"}, "m|256")
    store.publish(
        Publication(
            papers=[make_paper("new")],
            days={DAY2: ["new", "kept"]},
            feeds={"a.xml": _feed(b"a2")},
            remove_days=[DAY1],
            remove_papers=["old"],
            report=_report("second"),
        )
    )
    assert store.day_index() == {DAY2: ["new", "kept"]}
    assert [p.id for p in store.papers(["old", "kept", "new"])] == ["kept", "new"]
    assert list(store.summaries(["old", "kept"], "en:m")) == ["kept"], "a pruned paper's summary"
    assert store.embeddings(["old", "kept"], "m|256") == {"kept": b"\x00\x00\x00@"}
    assert store.embeddings(["kept"], "other|256") == {}, "one model's vectors only"
    assert store.feed("b.xml") is None
    assert store.feed("a.xml").body == b"a2"  # type: ignore[union-attr]


def test_failed_refresh_report_keeps_last_published(store: Store) -> None:
    store.publish(Publication(papers=[make_paper()], days={DAY2: ["2411.00001"]}, report=_report()))
    failure = RefreshReport(started=WHEN, status="upstream-error", message="503", source="t")
    store.save_report(failure)
    assert store.last_report() == failure
    assert store.last_published() == _report()
    assert store.day_index() == {DAY2: ["2411.00001"]}


def test_lock_is_exclusive_until_released_or_expired(store: Store) -> None:
    token = store.acquire_lock("refresh", 60, now=1000.0)
    assert token is not None
    assert store.acquire_lock("refresh", 60, now=1001.0) is None
    store.release_lock("refresh", "not-the-token")
    assert store.acquire_lock("refresh", 60, now=1002.0) is None
    store.release_lock("refresh", token)
    assert store.acquire_lock("refresh", 60, now=1003.0) is not None


def test_rate_limiter_spaces_requests_across_callers(store: Store) -> None:
    waits = [store.reserve_slot("arxiv", 3.0, now=100.0) for _ in range(3)]
    assert waits == [0.0, 3.0, 6.0]
    assert store.reserve_slot("arxiv", 3.0, now=120.0) == 0.0
    assert store.reserve_slot("other", 3.0, now=120.0) == 0.0


def test_rate_limiter_is_atomic_under_concurrency(store: Store) -> None:
    waits: list[float] = []
    guard = threading.Lock()

    def reserve() -> None:
        wait = store.reserve_slot("arxiv", 3.0, now=500.0)
        with guard:
            waits.append(wait)

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == [3.0 * n for n in range(8)]


def test_ping(store: Store) -> None:
    assert store.ping() is True


@pytest.mark.redis
def test_redis_store_touches_only_its_own_prefix(redis_store: Store) -> None:
    from core.store.redis import RedisStore

    assert isinstance(redis_store, RedisStore)
    foreign = f"foreign-{redis_store.prefix}"
    redis_store.client.set(foreign, b"keep me")
    try:
        redis_store.publish(
            Publication(papers=[make_paper()], days={DAY2: ["2411.00001"]}, report=_report())
        )
        keys = {
            key.decode() for key in redis_store.client.scan_iter(match=f"{redis_store.prefix}*")
        }
        assert keys
        assert all(key.startswith(redis_store.prefix) for key in keys)
        assert redis_store.client.get(foreign) == b"keep me"
    finally:
        redis_store.client.delete(foreign)


def test_unreachable_redis_is_a_store_error() -> None:
    from core.store import StoreError
    from core.store.redis import RedisStore

    store = RedisStore.from_url("redis://127.0.0.1:1/0", timeout=0.5)
    assert store.ping() is False
    with pytest.raises(StoreError, match="Redis"):
        store.day_index()


def test_an_sqlite_store_whose_embeddings_column_had_its_old_name_keeps_its_vectors(
    tmp_path: Path,
) -> None:
    """Stores made before the embeddings table shared the summaries' reader named its column
    `vector`: opened now, their vectors are read and written as any others."""
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE embeddings (id TEXT NOT NULL, variant TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (id, variant))"
        )
        db.execute("INSERT INTO embeddings VALUES ('2411.00001', 'm|256', x'0102')")
    db.close()
    store = SQLiteStore(path)
    store.put_embeddings({"2411.00002": b"\x03"}, "m|256")
    found = store.embeddings(["2411.00001", "2411.00002"], "m|256")
    assert found == {"2411.00001": b"\x01\x02", "2411.00002": b"\x03"}
    store.close()


def test_sqlite_publication_cut_off_anywhere_leaves_readers_on_the_old_one(
    sqlite_store: SQLiteStore,
) -> None:
    """SQLite aborts the publication's statement after a given number of VM steps, as a
    crash or a full disk would; the Redis twin is in test_store_redis.py."""
    first, second = two_publications()
    sqlite_store.publish(first)
    connection = sqlite_store._connection()
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    probe = SQLiteStore(sqlite_store.path.with_name("probe.db"))
    probe.publish(first)
    probe._connection().set_progress_handler(count, 50)
    probe.publish(second)
    probe.close()

    for cut in range(1, steps, max(1, steps // 12)):
        calls = 0

        def interrupt(at: int = cut) -> int:
            nonlocal calls
            calls += 1
            return 1 if calls == at else 0

        connection.set_progress_handler(interrupt, 50)
        with pytest.raises(StoreError, match="interrupted"):
            sqlite_store.publish(second)
        connection.set_progress_handler(None, 0)
        assert sqlite_store.feed("a.xml").body == b"old a"  # type: ignore[union-attr]
        assert sqlite_store.feed("c.xml") is None
        assert sqlite_store.day_index() == first.days
        assert [p.title for p in sqlite_store.papers(["2411.00001"])] == ["Old"]
        assert sqlite_store.last_published() == first.report

    sqlite_store.publish(second)
    assert both_copies(sqlite_store, "c.xml") == second.feeds["c.xml"]
    assert sqlite_store.day_index() == second.days
    assert sqlite_store.papers(["2411.00001"]) == []


def test_a_publication_that_is_not_a_new_day_keeps_last_published(store: Store) -> None:
    """A run that only completes summaries while arXiv fails publishes them, reports its
    failure, and leaves the last real publication (what /health and the page show) as is."""
    store.publish(Publication(papers=[make_paper()], days={DAY2: ["2411.00001"]}, report=_report()))
    failed = RefreshReport(started=WHEN, status="upstream-error", message="arXiv 503", source="t")
    store.publish(Publication(feeds={"a.xml": _feed(b"with summaries")}, report=failed))
    assert store.last_published() == _report()
    assert store.last_report() == failed
    assert store.feed("a.xml").body == b"with summaries"  # type: ignore[union-attr]


def test_a_full_disk_is_a_store_error_that_says_so_and_keeps_the_data(
    sqlite_store: SQLiteStore,
) -> None:
    first, second = two_publications()
    sqlite_store.publish(first)
    pages = sqlite_store._connection().execute("PRAGMA page_count").fetchone()[0]
    sqlite_store._connection().execute(f"PRAGMA max_page_count = {pages + 2}")
    larger = second.model_copy(update={"feeds": {"c.xml": rendered_feed(noise(8_000_000, 3))}})
    with pytest.raises(StoreError, match="database or disk is full"):
        sqlite_store.publish(larger)
    assert both_copies(sqlite_store, "b.xml") == first.feeds["b.xml"]
    assert sqlite_store.day_index() == first.days


def test_only_the_holder_renews_a_lock(store: Store) -> None:
    token = store.acquire_lock("refresh", 60, now=1000.0)
    assert token is not None
    assert store.renew_lock("refresh", token, 60, now=1050.0) is True
    assert store.renew_lock("refresh", "not-the-token", 60, now=1050.0) is False
    assert store.acquire_lock("refresh", 60, now=1100.0) is None, "renewed: still held"
    store.release_lock("refresh", token)
    assert store.renew_lock("refresh", token, 60, now=1101.0) is False


def test_a_sqlite_lock_lapses_a_ttl_after_its_last_renewal(sqlite_store: SQLiteStore) -> None:
    token = sqlite_store.acquire_lock("refresh", 60, now=1000.0)
    assert token is not None and sqlite_store.renew_lock("refresh", token, 60, now=1050.0)
    assert sqlite_store.acquire_lock("refresh", 60, now=1109.0) is None
    assert sqlite_store.acquire_lock("refresh", 60, now=1111.0) is not None


def test_a_refresh_keeps_its_short_lock_alive_and_a_dead_one_frees_it(
    store: Store, clock: FakeClock
) -> None:
    from core.store.lock import LOCK_NAME, LOCK_TTL_SECONDS, LockHeartbeat

    assert LOCK_TTL_SECONDS <= 60, "documented: a dead refresh blocks the next for <= 60 s"
    token = store.acquire_lock(LOCK_NAME, LOCK_TTL_SECONDS, clock.time())
    assert token is not None
    with LockHeartbeat(store, token, clock, every=0.001) as heartbeat:
        assert heartbeat.renewed.wait(timeout=10), "the heartbeat never renewed the lock"
    store.release_lock(LOCK_NAME, token)


def test_likes_examples_and_secrets(store: Store) -> None:
    assert store.likes() == {}
    store.set_like("2411.00002", "dislike")
    store.set_like("2411.00001", "like")
    store.set_like("2411.00002", "like")
    assert store.likes() == {"2411.00001": "like", "2411.00002": "like"}
    store.set_like("2411.00001", None)
    assert store.likes() == {"2411.00002": "like"}

    liked = make_paper("2411.00002", title="Liked")
    store.put_examples([liked])
    store.publish(Publication(papers=[liked], days={DAY1: [liked.id]}, report=_report()))
    store.publish(
        Publication(remove_days=[DAY1], remove_papers=[liked.id], report=_report("second"))
    )
    assert store.papers([liked.id]) == []
    assert store.examples([liked.id, "missing"]) == [liked], "retention never drops examples"

    secret = store.secret("feedback")
    assert len(secret) >= 32 and store.secret("feedback") == secret
    assert store.secret("other") != secret


def test_a_day_s_index_is_read_under_its_key_until_replaced_or_pruned(store: Store) -> None:
    big = bytes(range(256)) * 8000  # over 2 MB: stored in parts on Redis
    store.publish(
        Publication(
            papers=[make_paper("a"), make_paper("b")],
            days={DAY1: ["a"], DAY2: ["b"]},
            indexes={DAY1: ("k1", b"one"), DAY2: ("k2", big)},
            report=_report(),
        )
    )
    assert store.day_index_bytes(DAY1, "k1") == b"one"
    assert store.day_index_bytes(DAY2, "k2") == big
    assert store.day_index_bytes(DAY1, "other") is None, "made from something else"
    store.publish(
        Publication(
            days={DAY2: ["b"]},
            remove_days=[DAY1],
            indexes={DAY2: ("k3", b"three")},
            report=_report("second"),
        )
    )
    assert store.day_index_bytes(DAY1, "k1") is None, "pruned with its day"
    assert store.day_index_bytes(DAY2, "k2") is None, "replaced"
    assert store.day_index_bytes(DAY2, "k3") == b"three"


def test_a_feeds_head_is_its_validators_without_its_bytes(store: Store) -> None:
    feeds = {"a.xml": _text_and_copy(), "b.xml": _feed(b"<rss/>")}
    store.publish(Publication(feeds=feeds, report=_report()))
    head = store.feed_head("a.xml")
    assert head is not None and head._replace(version="") == FeedHead('"e"', WHEN, "", True)
    assert store.feed_head("b.xml") == FeedHead('"x"', WHEN, "", False, head.version)
    assert store.feed_head("missing.xml") is None
    assert store.feed("a.xml", True, head) == store.feed("a.xml", True)


def test_the_calendar_of_announcement_days_reads_back_as_written(store: Store) -> None:
    assert store.calendar() == {}
    day = date(2024, 11, 27)
    record = DayRecord(
        day=day, state="missing", announced={"cs.LG": {"new": 3}}, reason="HTTP 503", next_try="x"
    )
    store.put_calendar({day: record})
    assert store.calendar() == {day: record}
    store.put_calendar({})
    assert store.calendar() == {}
