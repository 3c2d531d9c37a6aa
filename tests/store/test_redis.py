"""The Redis store in the shape Upstash gives it: a server that refuses values over 1 MB, every
command measured, a publication cut off halfway, and a store left by an earlier release."""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings, load_settings
from core.models import Publication, RefreshReport, RenderedFeed
from core.refresh import refresh
from core.store import StoreError
from core.store.redis import RedisStore
from core.store.redis_records import MAX_COMMAND_BYTES
from tests.conftest import (
    IN_CI,
    REDIS_LIMIT_BYTES,
    CommandLog,
    measured_redis_store,
    shared_fixture,
)
from tests.factories import (
    both_copies,
    make_paper,
    noise,
    published_report,
    rendered_feed,
    two_publications,
)

pytestmark = pytest.mark.redis

MAX_KEY_BYTES = 10 * 1024 * 1024
DAY = date(2024, 11, 28)
WHEN = datetime(2024, 11, 28, 6, 0, tzinfo=UTC)


def _key_sizes(store: RedisStore) -> dict[str, int]:
    client = store.client
    return {
        key.decode(): int(client.memory_usage(key, samples=0) or 0)
        for key in client.scan_iter(match=f"{store.prefix}*")
    }


def test_the_test_server_refuses_values_over_one_megabyte(redis_store: RedisStore) -> None:
    """The guarantee below is proven only if the server really enforces the limit."""
    limit = int(redis_store.client.config_get("proto-max-bulk-len")["proto-max-bulk-len"])
    if limit > REDIS_LIMIT_BYTES:
        message = (
            f"the test Redis accepts {limit}-byte values; start it with proto-max-bulk-len 1mb"
        )
        if IN_CI or not os.environ.get("ARXIV_FEEDS_TEST_REDIS_URL"):
            pytest.fail(message)
        pytest.skip(message)
    with pytest.raises((redis.ResponseError, redis.ConnectionError)):
        redis_store.client.set(f"{redis_store.prefix}too-large", b"x" * (REDIS_LIMIT_BYTES + 1))


def test_large_feeds_are_written_in_small_commands_and_read_back_whole(
    redis_store: RedisStore, redis_url: str
) -> None:
    """Five languages of a 2,000-item feed, far past what one Upstash request may carry."""
    log = CommandLog()
    store = measured_redis_store(redis_url, redis_store.prefix, log)
    feeds = {
        f"{lang}/all.xml": rendered_feed(noise(4_500_000, seed=n), etag=f'"{lang}"')
        for n, lang in enumerate(["en", "zh", "de", "fr", "ja"])
    }
    papers = [make_paper(f"2411.{n:05d}", abstract="word " * 380) for n in range(3000)]
    store.publish(
        Publication(
            papers=papers,
            days={DAY - timedelta(days=d): [p.id for p in papers[d::30]] for d in range(30)},
            feeds=feeds,
            report=published_report(),
        )
    )

    largest = max(size for _, size in log.commands)
    assert largest <= MAX_COMMAND_BYTES, f"a {largest}-byte command"
    assert max(_key_sizes(store).values()) <= MAX_KEY_BYTES
    for key, feed in feeds.items():
        assert both_copies(store, key) == feed
    assert len(store.papers([p.id for p in papers])) == 3000
    assert sum(len(ids) for ids in store.day_index().values()) == 3000


def test_refresh_at_the_largest_configuration_fits_upstash(
    tmp_path: Path, redis_store: RedisStore, redis_url: str
) -> None:
    """The recorded day (all 20 archives), the 50 categories it lists most, every announce
    type, and feeds of up to 2,000 items over 30 days."""
    fixture = shared_fixture("arxiv-rss/all-archives-2024-11-28.rss.xml")
    text = fixture.read_text()
    listed = Counter(
        line.strip().removeprefix("<category>").removesuffix("</category>")
        for line in text.splitlines()
        if line.strip().startswith("<category>")
    )
    categories = [name for name, _ in listed.most_common(50)]
    config = tmp_path / "largest.toml"
    config.write_text(
        f"[arxiv]\ncategories = {json.dumps(categories)}\n"
        'announce_types = ["new", "cross", "replace", "replace-cross"]\n'
        "[feeds]\nmax_items = 2000\ndays = 30\n"
    )
    settings = load_settings(config, env={"STORE_URL": redis_url})
    log = CommandLog()
    store = measured_redis_store(redis_url, redis_store.prefix, log)

    report = refresh(settings, store, fixture.read_bytes, source="test")

    assert report.status == "published", report.message
    assert report.feeds_rendered > 100
    sizes = [size for _, size in log.commands]
    assert max(sizes) <= MAX_COMMAND_BYTES
    assert max(_key_sizes(store).values()) <= MAX_KEY_BYTES
    assert sum(sizes) > 5 * MAX_COMMAND_BYTES, "the publication was not large enough to prove it"


def _version_keys(store: RedisStore) -> set[str]:
    return {
        key.decode().split(":v:", 1)[1].split(":", 1)[0]
        for key in store.client.scan_iter(match=f"{store.prefix}v:*")
    }


def test_a_publication_cut_off_anywhere_leaves_readers_on_the_old_one(
    redis_store: RedisStore, redis_url: str
) -> None:
    first, second = two_publications()
    redis_store.publish(first)
    probe_prefix = f"{redis_store.prefix}probe:"
    RedisStore(redis_store.client, probe_prefix).publish(first)
    counting = CommandLog()
    measured_redis_store(redis_url, probe_prefix, counting).publish(second)
    needed = len(counting.commands)

    for cut in range(1, needed, max(1, needed // 12)):
        dying = measured_redis_store(redis_url, redis_store.prefix, CommandLog(fail_after=cut))
        with pytest.raises(Exception, match="injected"):
            dying.publish(second)
        assert redis_store.feed("a.xml").body == b"old a"  # type: ignore[union-attr]
        assert both_copies(redis_store, "b.xml") == first.feeds["b.xml"]
        assert redis_store.feed("c.xml") is None
        assert redis_store.day_index() == first.days
        assert [p.title for p in redis_store.papers(["2411.00001"])] == ["Old"]
        assert redis_store.last_published() == first.report

    redis_store.publish(second)
    assert redis_store.feed("a.xml").body == b"new a"  # type: ignore[union-attr]
    assert both_copies(redis_store, "c.xml") == second.feeds["c.xml"]
    assert redis_store.feed("b.xml") is None
    assert redis_store.day_index() == second.days
    assert redis_store.papers(["2411.00001"]) == []
    assert len(_version_keys(redis_store)) == 2, "the current and the previous version only"
    redis_store.publish(second)
    assert len(_version_keys(redis_store)) == 2, "interrupted versions were not cleaned up"


def _record_parts(store: RedisStore, name: str) -> set[str]:
    return {k.decode() for k in store.client.scan_iter(match=f"{store.prefix}{name}:*")}


def _died(redis_url: str, prefix: str, publication: Publication, after: int) -> bool:
    """Whether `publication` died, cut off after `after` commands (else it lived)."""
    dying = measured_redis_store(redis_url, prefix, CommandLog(fail_after=after))
    try:
        dying.publish(publication)
    except StoreError as error:
        assert "injected" in str(error)  # noqa: PT017
        return True
    return False


def test_an_interrupted_publications_day_index_parts_go_with_the_next_publication(
    redis_store: RedisStore, redis_url: str
) -> None:
    """Index parts are content-addressed, outside any version: a publication that dies after
    writing them must not leave them in the store for good. Each attempt below dies one
    command later than the one before, and writes an index of its own, until one lives."""
    first, second = two_publications()
    first.indexes = {DAY - timedelta(days=1): ("old-index", b"old")}
    redis_store.publish(first)
    kept = _record_parts(redis_store, "dayindex")
    most_left = 0
    for cut in range(1, 1000):
        attempt = second.model_copy(
            update={"indexes": {DAY: (f"attempt-{cut}", noise(1_500_000, seed=cut))}}
        )
        if not _died(redis_url, redis_store.prefix, attempt, after=cut):
            break
        left = _record_parts(redis_store, "dayindex") - kept
        assert len(left) <= 2, "an earlier attempt's parts are still there"
        most_left = max(most_left, len(left))
    assert most_left == 2, "no attempt died between writing its index and the switch"
    third = first.model_copy(update={"remove_days": [DAY], "report": published_report("third")})
    redis_store.publish(third)
    assert _record_parts(redis_store, "dayindex") == kept
    # versions that wrote an index the current one still uses go, not the index
    for _ in range(2):
        redis_store.publish(third.model_copy(update={"indexes": {}}))
    assert _record_parts(redis_store, "dayindex") == kept


def test_the_day_items_an_earlier_release_kept_go_with_the_next_publication(
    redis_store: RedisStore,
) -> None:
    """Releases before 2026-12-07 kept each day's feed items (`dayitems`, parts
    `dayitem:{key}:{n}`); nothing reads them now, and they cost Upstash's storage."""
    first, second = two_publications()
    redis_store.publish(first)
    client, prefix = redis_store.client, redis_store.prefix
    client.hset(f"{prefix}dayitems", str(DAY), "old-items 2")
    client.set(f"{prefix}dayitem:old-items:0", b"x")
    client.set(f"{prefix}dayitem:old-items:1", b"y")
    redis_store.publish(second)
    assert _record_parts(redis_store, "dayitem") == set()
    assert not client.exists(f"{prefix}dayitems")


def _paper_ids(store: RedisStore) -> set[str]:
    prefix = f"{store.prefix}paper:"
    return {k.decode().removeprefix(prefix) for k in store.client.scan_iter(match=f"{prefix}*")}


def test_an_interrupted_publications_papers_go_with_the_next_publication(
    redis_store: RedisStore, redis_url: str
) -> None:
    """Papers are keyed outside any version: a publication that dies after writing some must
    not leave them for good when the next one does not hold their day. Each attempt below
    dies one command later than the one before, until one lives; after each, a publication
    that writes nothing new must leave exactly the papers the current days hold."""
    first, second = two_publications()
    redis_store.publish(first)
    held = _paper_ids(redis_store)
    assert held == {"2411.00001", "2411.00002"}
    orphaned = 0
    for cut in range(1, 1000):
        if not _died(redis_url, redis_store.prefix, second, after=cut):
            break
        orphaned += "2411.00003" in _paper_ids(redis_store)
        # writes no paper: what the current days hold must stay, whoever wrote it last
        unchanged = {"papers": [], "days": {}, "report": published_report(f"r{cut}")}
        redis_store.publish(first.model_copy(update=unchanged))
        assert _paper_ids(redis_store) == held, f"cut after {cut} commands"
        assert [p.title for p in redis_store.papers(sorted(held))] == ["Old", "A paper"]
    assert orphaned, "no attempt died between writing its papers and the switch"


def test_deleting_a_version_scans_the_store_in_a_few_commands(
    redis_store: RedisStore, redis_url: str
) -> None:
    """Every paper is a key, and Upstash bills every command: finding the keys of the version
    a publication deletes must not take a SCAN per ten keys of the store (Redis's default)."""
    first, second = two_publications()
    redis_store.publish(first)
    redis_store.publish(second)
    filler = [f"{redis_store.prefix}filler:{n}" for n in range(20_000)]
    for start in range(0, len(filler), 2_000):
        redis_store.client.mset(dict.fromkeys(filler[start : start + 2_000], b"x"))
    log = CommandLog()
    third = first.model_copy(update={"report": published_report("third")})
    measured_redis_store(redis_url, redis_store.prefix, log).publish(third)
    scans = sum(name == "SCAN" for name, _ in log.commands)
    assert 1 <= scans <= redis_store.client.dbsize() // 500 + 2
    for start in range(0, len(filler), 2_000):
        redis_store.client.unlink(*filler[start : start + 2_000])


def test_a_feed_with_a_gzip_copy_is_sent_to_redis_as_that_copy_alone(
    redis_store: RedisStore,
) -> None:
    text = b"<rss>" + b"<item>an item</item>" * 2000 + b"</rss>"
    feed = RenderedFeed(
        body=text,
        gzip=gzip.compress(text),
        media_type="application/rss+xml",
        etag='"e"',
        last_modified=datetime(2024, 11, 28, tzinfo=UTC),
    )
    report = RefreshReport(started=feed.last_modified, status="published", message="", source="t")
    redis_store.publish(Publication(feeds={"a.xml": feed}, report=report))
    parts = {key for key in _key_sizes(redis_store) if ":feed:a.xml:" in key}
    assert parts and all(":feed:a.xml:gzip:" in key for key in parts)


def test_a_reader_keeps_the_version_it_resolved_until_the_next_publication(
    redis_store: RedisStore,
) -> None:
    first, second = two_publications()
    redis_store.publish(first)
    held = redis_store.client.get(f"{redis_store.prefix}current")
    redis_store.publish(second)
    old_part = f"{redis_store.prefix}v:{held.decode()}:feed:a.xml:gzip:0"  # type: ignore[union-attr]
    assert redis_store.client.get(old_part) is not None
    redis_store.publish(second)
    assert redis_store.client.get(old_part) is None


def test_a_feed_is_read_from_the_publication_its_head_was_read_from(
    redis_store: RedisStore,
) -> None:
    """Its bytes agree with the validators a poll compared, even when a refresh published
    in between."""
    first, second = two_publications()
    redis_store.publish(first)
    head = redis_store.feed_head("a.xml")
    redis_store.publish(second)
    assert head is not None
    assert redis_store.feed("a.xml", head=head) == first.feeds["a.xml"].model_copy(
        update={"gzip": b"", "base_url": ""}
    )
    assert redis_store.feed("a.xml") == second.feeds["a.xml"].model_copy(
        update={"gzip": b"", "base_url": ""}
    )


def test_a_cold_poll_of_a_changed_feed_sends_the_commands_of_a_plain_request(
    redis_store: RedisStore, redis_url: str
) -> None:
    """A reader's first poll after a refresh (its ETag an older copy's) reads the feed's
    validators, then its bytes from the same version: the current version is looked up once."""
    redis_store.publish(
        Publication(feeds={"cs.LG.xml": rendered_feed(b"<rss/>")}, report=published_report())
    )
    plain = _commands_of_a_cold_request(redis_url, redis_store.prefix, {})
    poll = _commands_of_a_cold_request(
        redis_url, redis_store.prefix, {"if-none-match": '"an-older-copy"'}
    )
    assert poll == plain


def _commands_of_a_cold_request(url: str, prefix: str, headers: dict[str, str]) -> list[str]:
    """The commands a new app sends to get the stored cs.LG feed (gzip) with `headers`."""
    from core.web.app import create_app

    log = CommandLog()
    store = measured_redis_store(url, prefix, log)
    cold = TestClient(create_app(Settings(), lambda: store))
    answer = cold.get("/feeds/cs.LG.xml", headers={"accept-encoding": "gzip", **headers})
    assert answer.status_code == 200
    return [name for name, _ in log.commands]


def test_a_store_written_by_the_earlier_release_is_read_then_moved(
    redis_store: RedisStore,
) -> None:
    """The earlier layout: hashes papers, days and feeds, each feed a header line + bytes."""
    client, prefix = redis_store.client, redis_store.prefix
    paper = make_paper("2411.00009", title="Kept from before")
    header = {
        "media_type": "application/rss+xml",
        "etag": '"legacy"',
        "last_modified": WHEN.isoformat(),
        "body_length": 6,
    }
    client.hset(f"{prefix}papers", paper.id, paper.model_dump_json())
    client.hset(f"{prefix}days", (DAY - timedelta(days=1)).isoformat(), json.dumps([paper.id]))
    client.hset(f"{prefix}feeds", "a.xml", json.dumps(header).encode() + b"\n<rss/>gz")

    assert redis_store.feed("a.xml").body == b"<rss/>"  # type: ignore[union-attr]
    assert redis_store.day_index() == {DAY - timedelta(days=1): [paper.id]}

    redis_store.publish(
        Publication(
            papers=[make_paper("2411.00010")],
            days={DAY: ["2411.00010"]},
            feeds={"a.xml": rendered_feed(b"new")},
            report=published_report(),
        )
    )
    assert redis_store.day_index() == {DAY - timedelta(days=1): [paper.id], DAY: ["2411.00010"]}
    assert [p.title for p in redis_store.papers([paper.id])] == ["Kept from before"]
    assert redis_store.feed("a.xml").body == b"new"  # type: ignore[union-attr]
    redis_store.publish(
        Publication(feeds={"a.xml": rendered_feed(b"new")}, report=published_report())
    )
    assert not any(client.exists(f"{prefix}{name}") for name in ("papers", "days", "feeds"))
    assert [p.title for p in redis_store.papers([paper.id])] == ["Kept from before"]


def test_the_refresh_lock_expires_within_a_minute_in_redis(redis_store: RedisStore) -> None:
    from core.store.lock import LOCK_NAME, LOCK_TTL_SECONDS

    token = redis_store.acquire_lock(LOCK_NAME, LOCK_TTL_SECONDS, now=0.0)
    assert token is not None
    ttl = redis_store.client.pttl(f"{redis_store.prefix}lock:{LOCK_NAME}")
    assert 0 < ttl <= 60_000


def test_the_switch_to_a_new_version_is_one_transaction_on_the_server(
    redis_store: RedisStore, redis_url: str
) -> None:
    """What other connections can see, read from the server's own MONITOR stream: the pointer,
    the reports and the pruning run between one MULTI and its EXEC, never one by one."""
    first, second = two_publications()
    redis_store.publish(first)
    watcher = redis.Redis.from_url(redis_url)
    with watcher.monitor() as monitor:
        redis_store.publish(second)
        redis_store.client.echo("publication done")
        seen: list[str] = []
        for event in monitor.listen():
            if event["command"].startswith("ECHO"):
                break
            seen.append(event["command"].split(" ")[0].upper())
            if event["command"].startswith(f"SET {redis_store.prefix}current "):
                seen[-1] = "SET-CURRENT"
    watcher.close()
    start = seen.index("SET-CURRENT")
    multi = max(i for i in range(start) if seen[i] == "MULTI")
    assert "EXEC" not in seen[multi:start], "the pointer is switched outside the transaction"
    assert "EXEC" in seen[start:]
    assert "UNLINK" in seen[start : seen.index("EXEC", start)], "pruning left out of it"


def test_a_replaced_or_pruned_day_index_leaves_no_parts_behind(redis_store: RedisStore) -> None:
    def parts() -> set[str]:
        found = redis_store.client.scan_iter(match=f"{redis_store.prefix}dayindex:*")
        return {key.decode().removeprefix(redis_store.prefix) for key in found}

    report = RefreshReport(
        started=datetime(2024, 11, 28, tzinfo=UTC), status="published", message="", source="t"
    )
    day1, day2 = date(2024, 11, 27), date(2024, 11, 28)
    redis_store.publish(
        Publication(
            days={day1: ["a"], day2: ["b"]},
            indexes={day1: ("k1", b"x" * 2_000_000), day2: ("k2", b"y")},
            report=report,
        )
    )
    assert parts() == {"dayindex:k1:0", "dayindex:k1:1", "dayindex:k1:2", "dayindex:k2:0"}
    redis_store.publish(
        Publication(
            days={day2: ["b"]},
            indexes={day2: ("k3", b"z")},
            remove_days=[day1],
            report=report,
        )
    )
    assert parts() == {"dayindex:k3:0"}
