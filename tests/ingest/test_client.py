"""The arXiv client against a transport that answers like arXiv, with a fake clock."""

from __future__ import annotations

import httpx
import pytest

from core.config import ArxivConfig
from core.ingest import ArxivError
from core.ingest.client import ArxivClient
from core.store.sqlite import SQLiteStore
from tests.conftest import FakeClock
from tests.factories import Drip


def _client(
    responses: list[httpx.Response | Exception],
    store: SQLiteStore,
    clock: FakeClock,
    seen: list[httpx.Request],
    **config: float,
) -> ArxivClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return ArxivClient(
        ArxivConfig(contact="me@example.org", **config),  # type: ignore[arg-type]
        store,
        transport=httpx.MockTransport(handler),
        clock=clock,
    )


def test_one_request_for_all_categories_with_user_agent(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(200, content=b"<rss/>")], sqlite_store, clock, seen)
    assert client.announcements(["cs.AI", "cs.LG"]) == [b"<rss/>"]
    assert [str(r.url) for r in seen] == ["https://rss.arxiv.org/rss/cs.AI+cs.LG"]
    agent = seen[0].headers["user-agent"]
    assert agent.startswith("arxiv-feeds/")
    assert "mailto:me@example.org" in agent


def test_requests_are_spaced_by_the_shared_limiter(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    seen: list[httpx.Request] = []
    ok: list[httpx.Response | Exception] = [httpx.Response(200, content=b"x") for _ in range(3)]
    client = _client(ok, sqlite_store, clock, seen)
    start = clock.now
    for _ in range(3):
        client.get("https://export.arxiv.org/api/query")
    assert clock.now - start == pytest.approx(6.0)
    assert clock.sleeps == [0.0, 3.0, 3.0]


def test_retry_after_is_honoured_on_429_and_503(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    seen: list[httpx.Request] = []
    responses: list[httpx.Response | Exception] = [
        httpx.Response(429, headers={"Retry-After": "10"}),
        httpx.Response(503, headers={"Retry-After": "20"}),
        httpx.Response(200, content=b"done"),
    ]
    client = _client(responses, sqlite_store, clock, seen)
    assert client.get("https://rss.arxiv.org/rss/cs.LG") == b"done"
    assert len(seen) == 3
    assert 10.0 in clock.sleeps
    assert 20.0 in clock.sleeps


def test_connection_errors_back_off_exponentially(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    seen: list[httpx.Request] = []
    responses: list[httpx.Response | Exception] = [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, content=b"ok"),
    ]
    client = _client(responses, sqlite_store, clock, seen)
    assert client.get("https://rss.arxiv.org/rss/cs.LG") == b"ok"
    # slot, backoff 2 s, the rest of the 3 s slot, backoff 4 s, slot
    assert clock.sleeps == [0.0, 2.0, 1.0, 4.0, 0.0]


def test_gives_up_within_the_retry_budget(sqlite_store: SQLiteStore, clock: FakeClock) -> None:
    seen: list[httpx.Request] = []
    failing: list[httpx.Response | Exception] = [httpx.Response(503) for _ in range(50)]
    client = _client(failing, sqlite_store, clock, seen, retry_seconds=30.0)
    start = clock.now
    with pytest.raises(ArxivError, match="HTTP 503"):
        client.get("https://rss.arxiv.org/rss/cs.LG")
    assert clock.now - start <= 30.0 + 3.0
    assert 2 <= len(seen) < 10


def test_client_errors_are_not_retried(sqlite_store: SQLiteStore, clock: FakeClock) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(404)], sqlite_store, clock, seen)
    with pytest.raises(ArxivError, match="HTTP 404"):
        client.get("https://rss.arxiv.org/rss/cs.XX")
    assert len(seen) == 1


def test_a_redirect_loop_or_a_bad_gzip_body_is_arxiv_failing(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    loop = httpx.Response(302, headers={"Location": "https://rss.arxiv.org/rss/cs.LG"})
    broken = httpx.Response(  # a stream, so the body is decoded where arXiv's would be
        200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip at all")
    )
    for answers in ([loop] * 30, [broken]):
        client = _client(list(answers), sqlite_store, clock, [])
        with pytest.raises(ArxivError, match="cannot be read"):
            client.announcements(["cs.LG"])


def test_a_dripping_server_is_cut_off_at_the_deadline(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    drip = Drip(clock.sleep, b"<rss>" + b" " * 200 + b"</rss>")
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(200, stream=drip)], sqlite_store, clock, seen)
    client.deadline = clock.now + 20.0
    start = clock.now
    with pytest.raises(ArxivError, match="time budget ran out"):
        client.announcements(["cs.LG"])
    assert clock.now - start <= 21.0  # one chunk past the deadline at most
    assert drip.sent < len(drip.body) and len(seen) == 1  # abandoned, not retried


def test_no_request_starts_once_the_deadline_has_passed(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(200, content=b"x")], sqlite_store, clock, seen)
    client.deadline = clock.now - 1.0
    with pytest.raises(ArxivError, match="time budget ran out"):
        client.get("https://rss.arxiv.org/rss/cs.LG")
    assert seen == []


def test_retries_stop_at_the_deadline_before_the_retry_budget(
    sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    seen: list[httpx.Request] = []
    failing: list[httpx.Response | Exception] = [httpx.Response(503) for _ in range(50)]
    client = _client(failing, sqlite_store, clock, seen, retry_seconds=120.0)
    client.deadline = clock.now + 10.0
    start = clock.now
    with pytest.raises(ArxivError):
        client.get("https://rss.arxiv.org/rss/cs.LG")
    assert clock.now - start <= 10.0
