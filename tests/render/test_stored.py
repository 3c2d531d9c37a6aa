"""Stored feeds' gzip copies, spliced from pieces compressed apart, read back by GNU gzip
(its own inflate, not zlib) and by Python's."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from core.config import Format
from core.render.feeds import FeedMeta, ItemFragments, item_html, item_times, render_feed
from core.render.stored import piece, rendered
from tests.factories import make_paper, noise

WHEN = datetime(2024, 11, 28, 12, tzinfo=UTC)


def _gnu_gunzip(data: bytes) -> bytes:
    if shutil.which("gzip") is None:
        pytest.skip("GNU gzip is not installed (Debian: apt-get install gzip)")
    return subprocess.run(["gzip", "-dc"], input=data, capture_output=True, check=True).stdout


def test_pieces_compressed_apart_splice_into_one_gzip_file() -> None:
    parts = [b"<rss>", b"", "Säge ∑ 論文".encode(), noise(100_000, seed=1), b"</rss>" * 9000]
    feed = rendered([piece(part, pack=True) for part in parts], "application/rss+xml", WHEN, "")
    assert feed.body == b"".join(parts)
    assert _gnu_gunzip(feed.gzip) == feed.body
    assert gzip.decompress(feed.gzip) == feed.body


@pytest.mark.parametrize("fmt", ["xml", "atom", "json"])
def test_a_feeds_gzip_copy_reads_back_as_its_body_spliced_or_whole(fmt: Format) -> None:
    """Ad-hoc feeds splice items packed apart; stored ones are compressed whole."""
    papers = [make_paper(f"2411.{n:05d}", title=f"Paper {n}") for n in range(50)]
    meta = FeedMeta(title="t", description="d", self_url="u", home_url="h", updated=WHEN)
    packed = ItemFragments(fmt, item_html, item_times(papers), pack=True)
    spliced = render_feed(fmt, meta, papers, fragments=packed)
    whole = render_feed(fmt, meta, papers)
    assert spliced.body == whole.body
    assert spliced.etag == whole.etag
    assert _gnu_gunzip(spliced.gzip) == _gnu_gunzip(whole.gzip) == whole.body
    assert len(whole.gzip) < len(spliced.gzip) < len(whole.body) * 0.6


def test_the_etag_names_the_bytes() -> None:
    parts = [b"<rss>", b"<item>one</item>", b"</rss>"]
    feed = rendered([piece(part) for part in parts], "application/rss+xml", WHEN, "")
    again = rendered([piece(part) for part in parts], "application/rss+xml", WHEN, "")
    other = rendered(
        [piece(part) for part in [*parts[:1], b"<item>One</item>", *parts[2:]]], "", WHEN, ""
    )
    assert feed.etag == again.etag != other.etag
    assert rendered(b"", "", WHEN, "", compress=False).etag != rendered(b" ", "", WHEN, "").etag
