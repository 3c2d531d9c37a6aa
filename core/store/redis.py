"""The production store: Redis (Upstash on Vercel), every key under one prefix.

Upstash refuses any request over 10 MB, and a Redis started with `proto-max-bulk-len 1mb`
any value over 1 MB, so nothing here is sent or kept in one large piece: every command this
store sends stays under `MAX_COMMAND_BYTES`, and every key holds at most one part of a feed,
one day's id list, one paper or one summary hash.

A publication is versioned so that it can be written in many small commands and still switch
at once. Keys (all under the prefix):

- `current`: the published version's id. Readers resolve every versioned key through it.
- `v:{version}:days`: hash day -> digest of that day's ordered id list.
- `v:{version}:feeds`: hash feed key -> its media type, validators and number of parts.
- `v:{version}:feed:{key}:{body|gzip}:{n}`: part n of a rendered feed's compressed copy, or
  of its bytes when it has no such copy (a reader that takes no gzip gets the copy inflated).
- `day:{digest}`: a day's id list (JSON), content-addressed, so versions share unchanged days.
- `paper:{id}`: one paper (JSON), shared by versions, deleted (with its summaries and
  embeddings) by the switch to a version that no longer holds it.
- `report`, `published`, `lock:{name}`, `limiter:{name}`, `summaries:{id}` (hash variant ->
  summary JSON), `embeddings:{id}` (hash variant -> packed float32), `usage:{day}`.
- `dayindexes` (hash day -> the key of its stored index and how many parts it has) and
  `dayindex:{key}:{n}` (part n of that index), switched with `current` and pruned with
  the day; a reader that finds a part gone (replaced meanwhile) builds the index itself.
  `v:{version}:dayindexes` lists those a version wrote, and `v:{version}:papers` the papers,
  so that what one that never became current wrote is deleted with it.
- `likes` (hash arXiv id -> like | dislike), `example:{id}` (a liked or disliked paper,
  never pruned), `secret:{name}` (made once with SET NX), `calendar` (the announcement
  days' records, JSON).

`publish` first deletes what no reader can still hold (versions other than the current one,
an interrupted publication's leftovers), then writes the new version beside the current one,
then, in one MULTI/EXEC, switches `current` and the reports and deletes the papers retention
drops. A reader that resolved the previous version keeps reading it until the next
publication, so it never sees a mix; a publication that dies halfway leaves readers on the
current version, and the next one removes what it left.

A store written by an earlier release (hashes `papers`, `days`, `feeds` and no `current`) is
read as it is and moved to this layout by the next publication.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime
from typing import Any

import redis

from core.models import (
    Calendar,
    Paper,
    Publication,
    RefreshReport,
    RenderedFeed,
)
from core.store import CALENDAR, FeedHead, StoreError, inflated, kept_text
from core.store.redis_records import MAX_COMMAND_BYTES, BatchedWriter, RedisRecords, groups

FEED_PART_BYTES = 900_000
"""A stored feed is cut into parts of this size, so one SET stays under MAX_COMMAND_BYTES."""
_INDEXES = "dayindexes"
"""The hash of each day's index entry (`{key} {number of parts}`); parts are
`dayindex:{key}:{n}`."""
_LEGACY_KEYS = ("papers", "days", "feeds")
_RETIRED_ITEMS = "dayitems"
"""Each day's feed items, kept the same way (parts `dayitem:{key}:{n}`) by releases before
2026-12-07: deleted by the next publication."""

_SCAN_COUNT = 1000
"""Keys SCAN looks at per call when finding a dead version's keys: at Redis's default (10),
deleting one version took a SCAN command per ten keys in the store (each paper is one)."""


def _digest(ids: list[str]) -> str:
    return hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:32]


class RedisStore(RedisRecords):
    """The store, its publications versioned as above (`RedisRecords` keeps the rest)."""

    def __init__(self, client: redis.Redis[bytes], prefix: str = "arxiv-feeds:") -> None:
        super().__init__(client, prefix)
        self._days_by_digest: dict[str, list[str]] = {}
        self._headers: tuple[str, dict[str, dict[str, Any]]] | None = None

    def _current(self) -> str | None:
        raw = self._call(lambda: self.client.get(self._key("current")))
        return raw.decode() if raw else None

    # -- publishing -----------------------------------------------------------------------

    def publish(self, publication: Publication) -> None:
        self._call(lambda: self._publish(publication))

    def _publish(self, publication: Publication) -> None:
        current = self._current()
        days = self._manifest(current)
        self._collect_garbage(current, keep=set(days.values()))
        days.update({day.isoformat(): _digest(ids) for day, ids in publication.days.items()})
        for day in publication.remove_days:
            days.pop(day.isoformat(), None)
        version = uuid.uuid4().hex
        index_parts = {
            day.isoformat(): (key, _parts(data)) for day, (key, data) in publication.indexes.items()
        }
        entries = {day: f"{key} {len(parts)}" for day, (key, parts) in index_parts.items()}
        writer = BatchedWriter(self.client)
        # The version and its manifests (its days, the day records it writes) go first: a
        # publication that dies later leaves a trail for the next one to clean up.
        writer.command("SADD", self._key("versions"), version)
        writer.grouped("HSET", [self._version_key(version, "days")], days.items())
        writer.grouped("HSET", [self._version_key(version, _INDEXES)], entries.items())
        ids = ((paper.id,) for paper in publication.papers)
        writer.grouped("SADD", [self._version_key(version, "papers")], ids)
        writer.flush()
        for day_ids in publication.days.values():
            writer.command("SET", self._key(f"day:{_digest(day_ids)}"), json.dumps(day_ids))
        for paper in publication.papers:
            writer.command("SET", self._key(f"paper:{paper.id}"), paper.model_dump_json())
        if current is None:
            self._migrate_legacy(writer)
        index: dict[str, str] = {}
        for key, feed in publication.feeds.items():
            parts = {"body": _parts(kept_text(feed)), "gzip": _parts(feed.gzip)}
            for copy, pieces in parts.items():
                for n, piece in enumerate(pieces):
                    writer.command(
                        "SET", self._version_key(version, f"feed:{key}:{copy}:{n}"), piece
                    )
            index[key] = _feed_header(feed, len(parts["body"]), len(parts["gzip"]))
        writer.grouped("HSET", [self._version_key(version, "feeds")], index.items())
        for key, pieces in index_parts.values():
            for n, piece in enumerate(pieces):
                writer.command("SET", self._key(f"dayindex:{key}:{n}"), piece)
        writer.flush()
        self._switch(version, publication, entries)

    def _replaced_parts(self, publication: Publication, entries: dict[str, str]) -> list[str]:
        """The parts of the day indexes this publication replaces or removes."""
        replaced = [day.isoformat() for day in publication.remove_days] + list(entries)
        old = self.client.hmget(self._key(_INDEXES), replaced) if replaced else []
        return [
            part
            for entry in old
            if entry and entry.decode() not in entries.values()
            for part in self._part_keys("dayindex", entry)
        ]

    def _switch(self, version: str, publication: Publication, entries: dict[str, str]) -> None:
        stale = self._replaced_parts(publication, entries)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._key("current"), version)
        pipe.set(self._key("report"), publication.report.model_dump_json())
        if publication.report.status == "published":  # not a run that only added summaries
            pipe.set(self._key("published"), publication.report.model_dump_json())
        removed = (
            tuple(self._key(f"{kind}:{i}") for kind in ("paper", "summaries", "embeddings"))
            for i in publication.remove_papers
        )
        for group in groups(removed, MAX_COMMAND_BYTES - 1024):
            pipe.unlink(*group)
        if entries:
            mapping: dict[str | bytes, str | bytes | float | int] = dict(entries.items())
            pipe.hset(self._key(_INDEXES), mapping=mapping)
        if publication.remove_days:
            pipe.hdel(self._key(_INDEXES), *(day.isoformat() for day in publication.remove_days))
        for group in groups(((key,) for key in stale), MAX_COMMAND_BYTES - 1024):
            pipe.unlink(*group)
        pipe.execute()

    def _collect_garbage(self, current: str | None, keep: set[str]) -> None:
        """Delete what no reader can hold any more: every version but the current one, the
        day lists only they used (`keep`: the current version's), the papers they wrote that
        no current day holds (a publication that died leaves its new day's), and (once a
        version is current) the layout of an earlier release."""
        members: set[bytes] = self.client.smembers(self._key("versions"))
        stale = [m.decode() for m in members if m.decode() != current]
        doomed: list[str] = []
        current_indexes = set(self.client.hvals(self._key(_INDEXES))) if stale else set()
        papers: set[bytes] = set()
        for version in stale:
            doomed += [
                self._key(f"day:{d}") for d in self._manifest(version).values() if d not in keep
            ]
            written = self.client.hvals(self._version_key(version, _INDEXES))
            doomed += [
                part
                for entry in written
                if entry not in current_indexes
                for part in self._part_keys("dayindex", entry)
            ]
            papers |= self.client.smembers(self._version_key(version, "papers"))
            found = self.client.scan_iter(self._version_key(version, "*"), count=_SCAN_COUNT)
            doomed += [k.decode() for k in found]
        if papers:  # with no current version, readers read no `paper:{id}`
            held = self._held_papers(keep)
            doomed += [self._key(f"paper:{i.decode()}") for i in papers if i.decode() not in held]
        if current is not None:
            doomed += [self._key(name) for name in (*_LEGACY_KEYS, _RETIRED_ITEMS)]
            retired = self.client.hvals(self._key(_RETIRED_ITEMS))
            doomed += [part for entry in retired for part in self._part_keys("dayitem", entry)]
        writer = BatchedWriter(self.client)
        writer.grouped("UNLINK", [], ((key,) for key in doomed))
        writer.grouped("SREM", [self._key("versions")], ((version,) for version in stale))
        writer.flush()

    def _held_papers(self, digests: set[str]) -> set[str]:
        """The ids the day lists named by `digests` hold."""
        lists = self._get_many([self._key(f"day:{digest}") for digest in sorted(digests)])
        return {paper_id for ids in lists if ids for paper_id in json.loads(ids)}

    def _part_keys(self, name: str, entry: bytes) -> list[str]:
        """The keys of a stored day record's parts (`{name}:{key}:{n}`), from its entry."""
        key, _, parts = entry.decode().partition(" ")
        return (
            [self._key(f"{name}:{key}:{n}") for n in range(int(parts))] if parts.isdigit() else []
        )

    def _manifest(self, version: str | None) -> dict[str, str]:
        """Day (ISO) -> digest of its id list, for `version`; an earlier release's `days`
        hash when there is no version yet."""
        if version is None:
            legacy: dict[bytes, bytes] = self.client.hgetall(self._key("days"))
            return {day.decode(): _digest(json.loads(ids)) for day, ids in legacy.items()}
        raw: dict[bytes, bytes] = self.client.hgetall(self._version_key(version, "days"))
        return {day.decode(): digest.decode() for day, digest in raw.items()}

    def _migrate_legacy(self, writer: BatchedWriter) -> None:
        """Copy an earlier release's day lists and papers into this layout."""
        for _, ids in self.client.hscan_iter(self._key("days")):
            writer.command("SET", self._key(f"day:{_digest(json.loads(ids))}"), ids)
        for paper_id, record in self.client.hscan_iter(self._key("papers")):
            writer.command("SET", self._key(f"paper:{paper_id.decode()}"), record)

    # -- reports, feeds, days, papers -------------------------------------------------------

    def save_report(self, report: RefreshReport) -> None:
        self._call(lambda: self.client.set(self._key("report"), report.model_dump_json()))

    def _get_report(self, name: str) -> RefreshReport | None:
        raw = self._call(lambda: self.client.get(self._key(name)))
        return RefreshReport.model_validate_json(raw) if raw else None

    def last_report(self) -> RefreshReport | None:
        return self._get_report("report")

    def last_published(self) -> RefreshReport | None:
        return self._get_report("published")

    def feed(
        self, key: str, gzip: bool = False, head: FeedHead | None = None
    ) -> RenderedFeed | None:
        return self._call(lambda: self._read_feed(key, gzip, head.version if head else ""))

    def _read_feed(self, key: str, gzip: bool, head_version: str) -> RenderedFeed | None:
        version = head_version or self._current()
        if version is None:
            legacy = self.client.hget(self._key("feeds"), key)
            return _one_copy(_unpack(legacy), gzip) if legacy else None
        header = self._feed_headers(version).get(key)
        if header is None:
            return None
        copy = "gzip" if header["gzip_parts"] and (gzip or not header["body_parts"]) else "body"
        count = header[f"{copy}_parts"]
        names = [self._version_key(version, f"feed:{key}:{copy}:{n}") for n in range(count)]
        pieces: list[bytes | None] = self.client.mget(names) if names else []
        if any(piece is None for piece in pieces):
            raise StoreError(f"Redis: feed {key} of version {version} is incomplete")
        data = b"".join(piece for piece in pieces if piece is not None)
        kept = RenderedFeed(
            body=b"" if copy == "gzip" else data,
            gzip=data if copy == "gzip" else b"",
            media_type=header["media_type"],
            etag=header["etag"],
            last_modified=datetime.fromisoformat(header["last_modified"]),
            base_url=header.get("base_url", ""),
        )
        return inflated(kept) if copy == "gzip" and not gzip else kept

    def feed_head(self, key: str) -> FeedHead | None:
        return self._call(lambda: self._read_head(key))

    def _read_head(self, key: str) -> FeedHead | None:
        version = self._current()
        if version is None:  # an earlier release's layout: read with the feed
            return None
        header = self._feed_headers(version).get(key)
        if header is None:
            return None
        return FeedHead(
            header["etag"],
            datetime.fromisoformat(header["last_modified"]),
            header.get("base_url", ""),
            bool(header["gzip_parts"]),
            version,
        )

    def _feed_headers(self, version: str) -> dict[str, dict[str, Any]]:
        """The version's feed index, read once per version (versions never change)."""
        cached = self._headers
        if cached is None or cached[0] != version:
            raw: dict[bytes, bytes] = self.client.hgetall(self._version_key(version, "feeds"))
            cached = (version, {k.decode(): json.loads(v) for k, v in raw.items()})
            self._headers = cached
        return cached[1]

    def feed_validators(self) -> dict[str, tuple[str, datetime]]:
        """The current version's; none for an earlier release's store (moved once)."""
        version = self._call(self._current)
        if version is None:
            return {}
        headers = self._call(lambda: self._feed_headers(version))
        return {
            key: (header["etag"], datetime.fromisoformat(header["last_modified"]))
            for key, header in headers.items()
        }

    def day_index(self) -> dict[date, list[str]]:
        return self._call(self._read_day_index)

    def _read_day_index(self) -> dict[date, list[str]]:
        version = self._current()
        if version is None:
            legacy: dict[bytes, bytes] = self.client.hgetall(self._key("days"))
            return {date.fromisoformat(d.decode()): json.loads(ids) for d, ids in legacy.items()}
        manifest = self._manifest(version)
        missing = sorted({d for d in manifest.values() if d not in self._days_by_digest})
        lists = self._get_many([self._key(f"day:{d}") for d in missing])
        for digest, ids in zip(missing, lists, strict=True):
            if ids is None:
                raise StoreError(f"Redis: a day list of version {version} is missing")
            self._days_by_digest[digest] = json.loads(ids)
        self._days_by_digest = {d: self._days_by_digest[d] for d in manifest.values()}
        return {date.fromisoformat(day): self._days_by_digest[d] for day, d in manifest.items()}

    def day_index_bytes(self, day: date, key: str) -> bytes | None:
        return self._call(lambda: self._read_index_bytes(day, key))

    def _read_index_bytes(self, day: date, key: str) -> bytes | None:
        entry = self.client.hget(self._key(_INDEXES), day.isoformat())
        if entry is None:
            return None
        stored_key, _, parts = entry.decode().partition(" ")
        if stored_key != key or not parts.isdigit():
            return None
        pieces = self._get_many(self._part_keys("dayindex", entry))
        if any(piece is None for piece in pieces):
            return None  # replaced since the entry was read
        return b"".join(piece for piece in pieces if piece is not None)

    def papers(self, ids: list[str]) -> list[Paper]:
        if not ids:
            return []
        return self._call(lambda: self._read_papers(ids))

    def _read_papers(self, ids: list[str]) -> list[Paper]:
        if self._current() is None:
            records = self.client.hmget(self._key("papers"), ids)
        else:
            records = self._get_many([self._key(f"paper:{i}") for i in ids])
        return [Paper.model_validate_json(record) for record in records if record]

    def calendar(self) -> Calendar:
        raw = self._call(lambda: self.client.get(self._key("calendar")))
        return CALENDAR.validate_json(raw) if raw else {}

    def put_calendar(self, calendar: Calendar) -> None:
        data = CALENDAR.dump_json(calendar)
        self._call(lambda: self.client.set(self._key("calendar"), data))


def _parts(data: bytes) -> list[bytes]:
    return [data[i : i + FEED_PART_BYTES] for i in range(0, len(data), FEED_PART_BYTES)]


def _feed_header(feed: RenderedFeed, body_parts: int, gzip_parts: int) -> str:
    return json.dumps(
        {
            "media_type": feed.media_type,
            "etag": feed.etag,
            "last_modified": feed.last_modified.isoformat(),
            "base_url": feed.base_url,
            "body_parts": body_parts,
            "gzip_parts": gzip_parts,
        }
    )


def _one_copy(feed: RenderedFeed, gzip: bool) -> RenderedFeed:
    """Only the bytes a response needs: the compressed copy, when asked for and present."""
    if gzip and feed.gzip:
        return feed.model_copy(update={"body": b""})
    return feed.model_copy(update={"gzip": b""})


def _unpack(raw: bytes) -> RenderedFeed:
    """A feed as an earlier release stored it: a JSON header line, the bytes, the gzip copy."""
    meta, _, payload = raw.partition(b"\n")
    fields = json.loads(meta)
    length = fields["body_length"]
    return RenderedFeed(
        body=payload[:length],
        gzip=payload[length:],
        media_type=fields["media_type"],
        etag=fields["etag"],
        last_modified=datetime.fromisoformat(fields["last_modified"]),
    )
