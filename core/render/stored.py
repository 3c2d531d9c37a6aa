"""Rendered feeds as they are stored and served: bytes, a gzip copy, validators.

A feed document is made of pieces (its head, its items, its tail). An ad-hoc feed's items
are also kept compressed, each on its own: a raw deflate stream ended by a sync flush (an
empty stored block, so it ends on a byte, and not as the last block). Such streams laid end
to end, then a final empty block, are one deflate stream (RFC 1951), which gzip's header and
trailer (the CRC-32 and length of the whole text, RFC 1952) make a gzip file. Its gzip copy
is so spliced from items compressed once, instead of compressing megabytes per request, at
the price of about half again as many bytes (items do not refer to each other's words). A
stored feed, compressed once and served many times, is compressed whole.

Deflate is Intel's ISA-L (`isal`), whose output any inflater reads: every refresh deflates
every feed whole, and ISA-L does it in a fraction of zlib's time for as few bytes
(docs/BENCHMARKS.md).

Light on purpose (no feedgen): the serving path imports it for every stored feed.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from isal import isal_zlib

from core.models import RenderedFeed

WHOLE_LEVEL = 2
"""For a feed compressed whole, by every refresh for every feed: level 3 takes nearly twice
the time for a few percent fewer bytes (`scripts/bench_refresh.py --gzip-levels`)."""
PIECE_LEVEL = 1
"""For items deflated apart: pieces this small leave a higher level nothing to find."""
_RAW = -isal_zlib.MAX_WBITS  # a bare deflate stream: the gzip header and trailer are ours
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime, any OS
_LAST_BLOCK = isal_zlib.compressobj(PIECE_LEVEL, isal_zlib.DEFLATED, _RAW).flush()


class Piece(NamedTuple):
    """Part of a feed document: its UTF-8 bytes, a digest of them and, for pieces to splice,
    the same deflated on their own."""

    plain: bytes
    digest: bytes
    packed: bytes | None


def piece(plain: bytes, pack: bool = False) -> Piece:
    digest = hashlib.blake2b(plain, digest_size=16).digest()
    if not pack:
        return Piece(plain, digest, None)
    compressor = isal_zlib.compressobj(PIECE_LEVEL, isal_zlib.DEFLATED, _RAW)
    packed = compressor.compress(plain) + compressor.flush(isal_zlib.Z_SYNC_FLUSH)
    return Piece(plain, digest, packed)


def rendered(
    document: Sequence[Piece] | bytes,
    media_type: str,
    updated: datetime,
    base_url: str,
    compress: bool = True,
) -> RenderedFeed:
    """A feed's bytes, with a gzip copy when `compress`: spliced when every piece is packed,
    else compressed whole. Its ETag is a digest of its pieces' digests (each made once with
    its piece), not of megabytes per feed."""
    pieces = [piece(document)] if isinstance(document, bytes) else document
    body = b"".join([p.plain for p in pieces])
    digests = b"".join([p.digest for p in pieces])
    return RenderedFeed(
        body=body,
        gzip=_gzip(body, pieces) if compress else b"",
        media_type=media_type,
        etag='"' + hashlib.blake2b(digests, digest_size=12).hexdigest() + '"',
        last_modified=updated,
        base_url=base_url,
    )


def _gzip(body: bytes, pieces: Sequence[Piece]) -> bytes:
    packed = [part.packed for part in pieces if part.packed is not None]
    checks = isal_zlib.crc32(body).to_bytes(4, "little") + (len(body) % 2**32).to_bytes(4, "little")
    if len(packed) < len(pieces):
        return b"".join([_GZIP_HEADER, isal_zlib.compress(body, WHOLE_LEVEL, _RAW), checks])
    return b"".join([_GZIP_HEADER, *packed, _LAST_BLOCK, checks])


def moves_links(rendered_on: str, base_url: str) -> bool:
    """Whether a feed rendered with its links on `rendered_on` must have them moved to be
    served at `base_url` (and so gets other bytes and another ETag: `with_base`)."""
    return bool(rendered_on) and rendered_on != base_url


def with_base(feed: RenderedFeed, base_url: str) -> RenderedFeed:
    """The feed with its self and home links on `base_url` (the address the service is
    reached at) instead of the one it was rendered with; the same feed when they agree.
    Works on either copy a store returns (plain, or gzip only)."""
    if not moves_links(feed.base_url, base_url):
        return feed
    body = feed.body or gzip.decompress(feed.gzip)
    moved = body.replace(feed.base_url.encode(), base_url.encode())
    return rendered(moved, feed.media_type, feed.last_modified, base_url)
