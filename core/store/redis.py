"""The production store: Redis (Upstash on Vercel), every key under one prefix.

Keys: `{prefix}papers` (hash id -> paper JSON), `{prefix}days` (hash day -> id list JSON),
`{prefix}feeds` (hash key -> metadata line + body + gzip body), `{prefix}report`,
`{prefix}published`, `{prefix}lock:{name}`, `{prefix}limiter:{name}`, `{prefix}summaries:{id}`
(hash variant -> summary JSON), `{prefix}usage:{day}`. A publication is one MULTI/EXEC transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import redis

from core.models import Paper, Publication, RefreshReport, RenderedFeed, Summary
from core.store import StoreError

T = TypeVar("T")

# Reserve the next request slot atomically: returns how long the caller must wait.
_RESERVE_SLOT = """
local next_at = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
local now = tonumber(ARGV[1])
local start = math.max(now, next_at)
local until_ms = math.ceil((start + tonumber(ARGV[2]) - now) * 1000) + 1000
redis.call('SET', KEYS[1], tostring(start + tonumber(ARGV[2])), 'PX', until_ms)
return tostring(start - now)
"""
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisStore:
    def __init__(self, client: redis.Redis[bytes], prefix: str = "arxiv-feeds:") -> None:
        self.client = client
        self.prefix = prefix
        self._reserve = client.register_script(_RESERVE_SLOT)
        self._release = client.register_script(_RELEASE_LOCK)

    @classmethod
    def from_url(cls, url: str, prefix: str = "arxiv-feeds:", timeout: float = 5.0) -> RedisStore:
        try:
            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        except ValueError as error:
            raise StoreError(f"not a usable Redis URL: {error}") from error
        return cls(client, prefix)

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @staticmethod
    def _call(operation: Callable[[], T]) -> T:
        try:
            return operation()
        except redis.RedisError as error:
            raise StoreError(f"Redis: {error}") from error

    def publish(self, publication: Publication) -> None:
        papers, days, feeds = self._key("papers"), self._key("days"), self._key("feeds")

        def run() -> None:
            pipe = self.client.pipeline(transaction=True)
            if publication.papers:
                pipe.hset(papers, mapping={p.id: p.model_dump_json() for p in publication.papers})
            if publication.days:
                pipe.hset(
                    days,
                    mapping={d.isoformat(): json.dumps(i) for d, i in publication.days.items()},
                )
            if publication.remove_days:
                pipe.hdel(days, *[day.isoformat() for day in publication.remove_days])
            if publication.remove_papers:
                pipe.hdel(papers, *publication.remove_papers)
                pipe.delete(*[self._key(f"summaries:{i}") for i in publication.remove_papers])
            pipe.delete(feeds)
            if publication.feeds:
                pipe.hset(feeds, mapping={k: _pack(f) for k, f in publication.feeds.items()})
            pipe.set(self._key("report"), publication.report.model_dump_json())
            pipe.set(self._key("published"), publication.report.model_dump_json())
            pipe.execute()

        self._call(run)

    def save_report(self, report: RefreshReport) -> None:
        self._call(lambda: self.client.set(self._key("report"), report.model_dump_json()))

    def _get_report(self, name: str) -> RefreshReport | None:
        raw = self._call(lambda: self.client.get(self._key(name)))
        return RefreshReport.model_validate_json(raw) if raw else None

    def last_report(self) -> RefreshReport | None:
        return self._get_report("report")

    def last_published(self) -> RefreshReport | None:
        return self._get_report("published")

    def feed(self, key: str) -> RenderedFeed | None:
        raw = self._call(lambda: self.client.hget(self._key("feeds"), key))
        return _unpack(raw) if raw else None

    def day_index(self) -> dict[date, list[str]]:
        raw: dict[bytes, bytes] = self._call(lambda: self.client.hgetall(self._key("days")))
        return {date.fromisoformat(day.decode()): json.loads(ids) for day, ids in raw.items()}

    def papers(self, ids: list[str]) -> list[Paper]:
        if not ids:
            return []
        records: list[bytes | None] = self._call(
            lambda: self.client.hmget(self._key("papers"), ids)
        )
        return [Paper.model_validate_json(record) for record in records if record]

    def summaries(self, ids: list[str], variant: str) -> dict[str, Summary]:
        if not ids:
            return {}

        def run() -> list[bytes | None]:
            pipe = self.client.pipeline(transaction=False)
            for paper_id in ids:
                pipe.hget(self._key(f"summaries:{paper_id}"), variant)
            return pipe.execute()

        records = self._call(run)
        return {
            paper_id: Summary.model_validate_json(record)
            for paper_id, record in zip(ids, records, strict=True)
            if record
        }

    def put_summary(self, summary: Summary, variant: str) -> None:
        key = self._key(f"summaries:{summary.arxiv_id}")
        self._call(lambda: self.client.hset(key, variant, summary.model_dump_json()))

    def add_usage(self, day: str, tokens: int) -> int:
        key = self._key(f"usage:{day}")

        def run() -> int:
            pipe = self.client.pipeline(transaction=True)
            pipe.incrby(key, tokens)
            pipe.expire(key, 3 * 86400)
            total, _ = pipe.execute()
            return int(total)

        return self._call(run)

    def acquire_lock(self, name: str, ttl_seconds: float, now: float) -> str | None:
        token = uuid.uuid4().hex
        acquired = self._call(
            lambda: self.client.set(
                self._key(f"lock:{name}"), token, nx=True, px=max(1, int(ttl_seconds * 1000))
            )
        )
        return token if acquired else None

    def release_lock(self, name: str, token: str) -> None:
        self._call(lambda: self._release(keys=[self._key(f"lock:{name}")], args=[token]))

    def reserve_slot(self, name: str, interval_seconds: float, now: float) -> float:
        wait: Any = self._call(
            lambda: self._reserve(keys=[self._key(f"limiter:{name}")], args=[now, interval_seconds])
        )
        return float(wait)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self.client.close()


def _pack(feed: RenderedFeed) -> bytes:
    meta = {
        "media_type": feed.media_type,
        "etag": feed.etag,
        "last_modified": feed.last_modified.isoformat(),
        "body_length": len(feed.body),
    }
    return json.dumps(meta).encode() + b"\n" + feed.body + feed.gzip


def _unpack(raw: bytes) -> RenderedFeed:
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
