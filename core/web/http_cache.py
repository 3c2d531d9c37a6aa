"""HTTP caching for feeds in one place: Cache-Control for the CDN, ETag and Last-Modified
validators, conditional GET (RFC 9110 section 13) and the pre-compressed copy. The table of
cases it must answer is tests/test_http_cache.py."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

from fastapi import Request
from fastapi.responses import Response

from core.models import RenderedFeed

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


def feed_response(request: Request, feed: RenderedFeed, cache_control: str) -> Response:
    """Stored bytes with validators; the pre-compressed copy for clients that accept gzip."""
    compressed = bool(feed.gzip) and accepts_gzip(request)
    etag = feed.etag[:-1] + '-gzip"' if compressed else feed.etag
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(feed.last_modified),
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if _etag_matches(if_none_match, {feed.etag, etag}):
            return Response(status_code=304, headers=headers)
    elif since := request.headers.get("if-modified-since"):
        try:
            if feed.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since):
                return Response(status_code=304, headers=headers)
        except (TypeError, ValueError):
            pass
    if compressed:
        headers["Content-Encoding"] = "gzip"
        return Response(feed.gzip, media_type=feed.media_type, headers=headers)
    return Response(feed.body, media_type=feed.media_type, headers=headers)
