"""Conditional GET and content coding of stored feeds, case by case (the table below), in the
manner of miniflux's internal/http/response tests and Starlette's staticfiles tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from core.config import Settings
from core.models import Publication, RenderedFeed
from core.render.stored import rendered
from core.store import FeedHead, Store
from core.web.http_cache import FEED_CACHE, accepts_gzip, feed_response, not_modified, prepare
from tests.conftest import FakeClock
from tests.factories import published_report

FEED = RenderedFeed(
    body=b"<rss/>",
    gzip=b"gzipped",
    media_type="application/rss+xml; charset=utf-8",
    etag='"abc"',
    last_modified=datetime(2024, 11, 28, 12, 0, tzinfo=UTC),
)
MODIFIED = "Thu, 28 Nov 2024 12:00:00 GMT"
PLAIN, ZIPPED = '"abc"', '"abc-gzip"'
BASE = "http://testserver"  # the address TestClient reaches the app at

CASES = [
    # (name, request headers, status, body, ETag)
    ("plain", {}, 200, b"<rss/>", PLAIN),
    ("gzip accepted", {"accept-encoding": "gzip, br"}, 200, b"gzipped", ZIPPED),
    ("gzip refused by q=0", {"accept-encoding": "gzip;q=0, br"}, 200, b"<rss/>", PLAIN),
    ("any coding", {"accept-encoding": "*"}, 200, b"gzipped", ZIPPED),
    ("If-None-Match equal", {"if-none-match": PLAIN}, 304, b"", PLAIN),
    ("If-None-Match in a list", {"if-none-match": f'"x", {PLAIN}'}, 304, b"", PLAIN),
    ("If-None-Match weak", {"if-none-match": f"W/{PLAIN}"}, 304, b"", PLAIN),
    ("If-None-Match star", {"if-none-match": "*"}, 304, b"", PLAIN),
    ("If-None-Match other", {"if-none-match": '"other"'}, 200, b"<rss/>", PLAIN),
    (
        "If-None-Match of the other coding",
        {"if-none-match": PLAIN, "accept-encoding": "gzip"},
        304,
        b"",
        ZIPPED,
    ),
    ("If-Modified-Since equal", {"if-modified-since": MODIFIED}, 304, b"", PLAIN),
    (
        "If-Modified-Since later",
        {"if-modified-since": "Fri, 29 Nov 2024 00:00:00 GMT"},
        304,
        b"",
        PLAIN,
    ),
    (
        "If-Modified-Since earlier",
        {"if-modified-since": "Thu, 28 Nov 2024 11:59:59 GMT"},
        200,
        b"<rss/>",
        PLAIN,
    ),
    ("If-Modified-Since garbage", {"if-modified-since": "yesterday"}, 200, b"<rss/>", PLAIN),
    (
        "If-None-Match wins over If-Modified-Since",
        {"if-none-match": '"other"', "if-modified-since": "Fri, 29 Nov 2024 00:00:00 GMT"},
        200,
        b"<rss/>",
        PLAIN,
    ),
]


def _request(headers: dict[str, str]) -> Request:
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/feeds/x.xml", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "status", "body", "etag"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_conditional_get(headers: dict[str, str], status: int, body: bytes, etag: str) -> None:
    request = _request(headers)
    response = feed_response(request, prepare(FEED, accepts_gzip(request), FEED_CACHE))
    assert response.status_code == status
    assert response.body == body
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == MODIFIED
    assert response.headers["cache-control"] == FEED_CACHE
    assert response.headers["vary"] == "Accept-Encoding"
    compressed = body == b"gzipped"
    assert response.headers.get("content-encoding") == ("gzip" if compressed else None)


def _publish(store: Store, body: bytes) -> None:
    when = datetime(2024, 11, 28, 12, tzinfo=UTC)
    feeds = {"cs.LG.xml": rendered(body, "application/rss+xml", when, "")}
    store.publish(Publication(feeds=feeds, report=published_report()))


def _feed_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the feeds read from `store` from now on, in order."""
    reads: list[str] = []
    feed = store.feed

    def counted(key: str, gzip: bool = False, head: FeedHead | None = None) -> RenderedFeed | None:
        reads.append(key)
        return feed(key, gzip, head)

    monkeypatch.setattr(store, "feed", counted)
    return reads


def test_a_stored_feed_is_served_from_memory_for_a_few_seconds(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No store read and no link rewriting while it is fresh; the new bytes after a refresh
    within TTL_SECONDS."""
    from core.web.app import create_app
    from core.web.feed_cache import TTL_SECONDS

    _publish(store, b"<rss>one</rss>")
    client = TestClient(create_app(Settings(), lambda: store, clock=clock))
    reads = _feed_reads(store, monkeypatch)
    assert client.get("/feeds/cs.LG.xml").content == b"<rss>one</rss>"
    assert client.get("/feeds/cs.LG.xml").content == b"<rss>one</rss>"
    assert reads == ["cs.LG.xml"]
    _publish(store, b"<rss>two</rss>")
    assert client.get("/feeds/cs.LG.xml").content == b"<rss>one</rss>"
    clock.now += TTL_SECONDS + 1
    assert client.get("/feeds/cs.LG.xml").content == b"<rss>two</rss>"


def test_a_kept_feed_is_answered_with_the_same_headers_every_time(
    store: Store, clock: FakeClock
) -> None:
    """The headers are made once per kept copy; the middleware that edits a response's
    headers in place must not edit the kept ones (each poll would lengthen their `Vary`,
    which VaryOnce hides from the client)."""
    from core.web.app import create_app

    _publish(store, b"<rss>" + b"x" * 4096 + b"</rss>")  # large enough for the gzip middleware
    app = create_app(Settings(), lambda: store, clock=clock)
    client = TestClient(app)
    for encoding in ("identity", "gzip"):
        answers = [
            client.get("/feeds/cs.LG.xml", headers={"accept-encoding": encoding}).headers
            for _ in range(3)
        ]
        assert answers[0]["vary"] == "Accept-Encoding"
        assert all(sorted(a.items()) == sorted(answers[0].items()) for a in answers)
        kept = app.state.context.cached_feeds.get("cs.LG.xml", encoding == "gzip", BASE)
        assert kept is not None
        assert dict(kept.headers)[b"vary"] == b"Accept-Encoding"


HEAD = FeedHead(FEED.etag, FEED.last_modified, "", compressed=True)


@pytest.mark.parametrize(
    ("headers", "status", "body", "etag"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_stored_feeds_validators_alone_give_the_same_304(
    headers: dict[str, str], status: int, body: bytes, etag: str
) -> None:
    """`not_modified` answers every case of the table as `feed_response` does, or not at
    all (the feed is then read)."""
    request = _request(headers)
    answer = not_modified(request, HEAD, accepts_gzip(request), FEED_CACHE)
    if status == 200:
        assert answer is None
        return
    full = feed_response(request, prepare(FEED, accepts_gzip(request), FEED_CACHE))
    assert answer is not None and answer.status_code == 304 == full.status_code
    assert answer.raw_headers == full.raw_headers
    assert answer.headers["etag"] == etag


def test_a_poll_of_an_unchanged_feed_reads_none_of_its_bytes(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold instance answers a reader's conditional poll from the validators; a changed
    feed, or one whose links a request on another address rewrites, is read."""
    from core.web.app import create_app

    _publish(store, b"<rss>" + b"x" * 4096 + b"</rss>")
    current = TestClient(create_app(Settings(), lambda: store, clock=clock)).get(
        "/feeds/cs.LG.xml", headers={"accept-encoding": "gzip"}
    )
    reads = _feed_reads(store, monkeypatch)
    polls = {"if-none-match": current.headers["etag"], "accept-encoding": "gzip"}
    cold = TestClient(create_app(Settings(), lambda: store, clock=clock))
    answer = cold.get("/feeds/cs.LG.xml", headers=polls)
    assert (answer.status_code, reads) == (304, [])
    assert answer.headers["etag"] == current.headers["etag"]
    changed = {**polls, "if-none-match": '"an-older-copy"'}
    assert cold.get("/feeds/cs.LG.xml", headers=changed).status_code == 200
    assert reads == ["cs.LG.xml"]


def test_a_poll_on_another_address_is_answered_from_the_rewritten_feed(
    store: Store, clock: FakeClock
) -> None:
    """Its links, and so its ETag, are those of the address it was reached at: the stored
    feed's validators do not answer for it."""
    from core.web.app import create_app

    when = datetime(2024, 11, 28, 12, tzinfo=UTC)
    rendered_elsewhere = rendered(
        b"<rss><link>https://elsewhere.example/</link></rss>",
        "application/rss+xml",
        when,
        "https://elsewhere.example",
    )
    store.publish(Publication(feeds={"cs.LG.xml": rendered_elsewhere}, report=published_report()))
    client = TestClient(create_app(Settings(), lambda: store, clock=clock))
    polls = {"if-none-match": rendered_elsewhere.etag}
    answer = client.get("/feeds/cs.LG.xml", headers=polls)
    assert answer.status_code == 200
    assert b"http://testserver" in answer.content
