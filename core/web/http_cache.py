"""HTTP caching for feeds in one place: Cache-Control for the CDN, ETag and Last-Modified
validators, conditional GET (RFC 9110 section 13) and the pre-compressed copy. The table of
cases it must answer is tests/web/test_http_cache.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

from fastapi import Request
from fastapi.responses import Response

from core.models import RenderedFeed
from core.store import FeedHead

# Feeds change once a day: the CDN may serve a copy for 30 minutes, then keep serving it while
# it fetches a new one (a day), and for three days if this service is failing.
FEED_CACHE = (
    "public, max-age=900, s-maxage=1800, stale-while-revalidate=86400, stale-if-error=259200"
)
QUERY_CACHE = "public, max-age=300, s-maxage=900, stale-while-revalidate=3600, stale-if-error=86400"


@lru_cache(maxsize=256)
def http_date(when: datetime) -> str:
    """An IMF-fixdate; cached, as every response of a feed names the same few dates."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def _etag_matches(if_none_match: str, etags: set[str]) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or bool(tags & etags)


def accepts_gzip(request: Request) -> bool:
    """Whether Accept-Encoding admits gzip: named (or `*`) with a q-value above zero."""
    for coding in request.headers.get("accept-encoding", "").split(","):
        name, _, parameters = coding.partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = parameters.strip().removeprefix("q=").strip() if "q=" in parameters else "1"
        try:
            return float(q) > 0
        except ValueError:
            return False
    return False


_Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Prepared:
    """A feed's response made once for one copy of it (plain or gzip): the body, and the
    raw headers of its 200 and of its 304. Kept with the copy, so a request for a fresh
    feed only compares validators (every reader's poll; headers were most of its work)."""

    feed: RenderedFeed
    etag: str
    body: bytes
    headers: _Headers
    not_modified: _Headers


def _served_etag(etag: str, compressed: bool) -> str:
    """The ETag of one copy: the gzip copy's names its coding (RFC 9110 8.8.3)."""
    return etag[:-1] + '-gzip"' if compressed else etag


def _validators(etag: str, last_modified: datetime, cache_control: str) -> _Headers:
    return [
        (b"etag", etag.encode("latin-1")),
        (b"last-modified", http_date(last_modified).encode("latin-1")),
        (b"cache-control", cache_control.encode("latin-1")),
        (b"vary", b"Accept-Encoding"),
    ]


def prepare(feed: RenderedFeed, gzip: bool, cache_control: str) -> Prepared:
    """`feed`'s response; its pre-compressed copy if `gzip` (the client takes it) and it has one."""
    compressed = gzip and bool(feed.gzip)
    etag = _served_etag(feed.etag, compressed)
    validators = _validators(etag, feed.last_modified, cache_control)
    body = feed.gzip if compressed else feed.body
    content = [
        (b"content-length", str(len(body)).encode("latin-1")),
        (b"content-type", feed.media_type.encode("latin-1")),
    ]
    encoding = [(b"content-encoding", b"gzip")] if compressed else []
    return Prepared(feed, etag, body, [*validators, *encoding, *content], validators)


class _PreparedResponse(Response):
    """A response whose raw headers are made already (Response would encode them again).
    It gets its own list of them: middleware edits a response's headers in place."""

    def __init__(self, status_code: int, body: bytes, raw_headers: _Headers):
        self.status_code, self.body, self.raw_headers = status_code, body, list(raw_headers)
        self.background = None


def _current(request: Request, etags: set[str], last_modified: datetime) -> bool:
    """Whether the client's copy is current by its validators (If-None-Match wins)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, etags)
    if since := request.headers.get("if-modified-since"):
        try:
            return last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def feed_response(request: Request, prepared: Prepared) -> Response:
    """The prepared response, or its 304 when the client's validators match."""
    feed = prepared.feed
    if _current(request, {feed.etag, prepared.etag}, feed.last_modified):
        return _PreparedResponse(304, b"", prepared.not_modified)
    return _PreparedResponse(200, prepared.body, prepared.headers)


def not_modified(
    request: Request, head: FeedHead, gzip: bool, cache_control: str
) -> Response | None:
    """The 304 `feed_response` would give, known from a stored feed's validators alone (no
    bytes read: most polls are of a feed that has not changed); None if the client's copy
    is not current."""
    etag = _served_etag(head.etag, gzip and head.compressed)
    if not _current(request, {head.etag, etag}, head.last_modified):
        return None
    return _PreparedResponse(304, b"", _validators(etag, head.last_modified, cache_control))
