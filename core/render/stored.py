"""Rendered feeds as they are stored and served: bytes, a gzip copy made once, validators.

Light on purpose (no feedgen): the serving path imports it for every stored feed.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime

from core.models import RenderedFeed


def rendered(
    body: bytes, media_type: str, updated: datetime, base_url: str, compress: bool = True
) -> RenderedFeed:
    return RenderedFeed(
        body=body,
        # level 3: ~4x smaller than the body; 2.5x faster than level 6 for 11% more bytes
        gzip=gzip.compress(body, compresslevel=3, mtime=0) if compress else b"",
        media_type=media_type,
        etag='"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"',
        last_modified=updated,
        base_url=base_url,
    )


def with_base(feed: RenderedFeed, base_url: str) -> RenderedFeed:
    """The feed with its self and home links on `base_url` (the address the service is
    reached at) instead of the one it was rendered with; the same feed when they agree.
    Works on either copy a store returns (plain, or gzip only)."""
    if not feed.base_url or feed.base_url == base_url:
        return feed
    body = feed.body or gzip.decompress(feed.gzip)
    moved = body.replace(feed.base_url.encode(), base_url.encode())
    return rendered(moved, feed.media_type, feed.last_modified, base_url)
