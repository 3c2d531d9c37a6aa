"""The Redis store's connection and its small records, by role: opinions (likes, examples,
secrets), caches (summaries, embeddings), token usage, and the lock and rate limiter every
instance shares. Publications, versioned, are `core.store.redis`; the key layout is described
there."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self, TypeVar

import redis

from core.models import Opinion, Paper, Summary
from core.store import StoreError

T = TypeVar("T")

MAX_COMMAND_BYTES = 1_000_000
"""No command this store sends is larger (a tenth of Upstash's request limit)."""
_READ_BATCH = 500

# Reserve the next request slot atomically: returns how long the caller must wait.
_RESERVE_SLOT = """
local next_at = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
local now = tonumber(ARGV[1])
local start = math.max(now, next_at)
local until_ms = math.ceil((start + tonumber(ARGV[2]) - now) * 1000) + 1000
redis.call('SET', KEYS[1], tostring(start + tonumber(ARGV[2])), 'PX', until_ms)
return tostring(start - now)
"""
_RENEW_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class BatchedWriter:
    """Queues commands on a pipeline and sends them whenever the queued bytes reach
    MAX_COMMAND_BYTES, so memory stays bounded and round trips few."""

    def __init__(self, client: redis.Redis[bytes]) -> None:
        self._pipe = client.pipeline(transaction=False)
        self._queued = 0

    def command(self, name: str, *args: str | bytes) -> None:
        size = sum(len(a) for a in args)
        if self._queued and self._queued + size > MAX_COMMAND_BYTES:
            self.flush()
        self._pipe.execute_command(name, *args)  # type: ignore[no-untyped-call]
        self._queued += size

    def grouped(self, name: str, head: list[str], items: Iterable[tuple[str, ...]]) -> None:
        """`name head... item...` as several commands, each under MAX_COMMAND_BYTES; an item
        (one member, or one field and its value) is never split between two."""
        for group in groups(items, MAX_COMMAND_BYTES - 1024):
            self.command(name, *head, *group)

    def flush(self) -> None:
        if self._queued:
            self._pipe.execute()
            self._queued = 0


def groups(items: Iterable[tuple[str, ...]], budget: int) -> Iterator[list[str]]:
    """The arguments of `items`, flattened, in consecutive groups of at most `budget` bytes
    (an item larger than that alone)."""
    group: list[str] = []
    size = 0
    for item in items:
        item_size = sum(len(argument) for argument in item)
        if group and size + item_size > budget:
            yield group
            group, size = [], 0
        group.extend(item)
        size += item_size
    if group:
        yield group


class RedisRecords:
    def __init__(self, client: redis.Redis[bytes], prefix: str = "arxiv-feeds:") -> None:
        self.client = client
        self.prefix = prefix
        self._reserve = client.register_script(_RESERVE_SLOT)
        self._release = client.register_script(_RELEASE_LOCK)
        self._renew = client.register_script(_RENEW_LOCK)

    @classmethod
    def from_url(cls, url: str, prefix: str = "arxiv-feeds:", timeout: float = 5.0) -> Self:
        try:
            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        except ValueError as error:
            raise StoreError(f"not a usable Redis URL: {error}") from error
        return cls(client, prefix)

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _version_key(self, version: str, name: str) -> str:
        return self._key(f"v:{version}:{name}")

    @staticmethod
    def _call(operation: Callable[[], T]) -> T:
        try:
            return operation()
        except redis.RedisError as error:
            raise StoreError(f"Redis: {error}") from error

    def _get_many(self, keys: list[str]) -> list[bytes | None]:
        """MGET in batches of _READ_BATCH keys, values in the keys' order."""
        values: list[bytes | None] = []
        for start in range(0, len(keys), _READ_BATCH):
            values += self.client.mget(keys[start : start + _READ_BATCH])
        return values

    # -- likes and secrets -------------------------------------------------------------------

    def likes(self) -> dict[str, Opinion]:
        raw: dict[bytes, bytes] = self._call(lambda: self.client.hgetall(self._key("likes")))
        return {k.decode(): "like" if v == b"like" else "dislike" for k, v in sorted(raw.items())}

    def set_like(self, paper_id: str, opinion: Opinion | None) -> None:
        key = self._key("likes")
        if opinion is None:
            self._call(lambda: self.client.hdel(key, paper_id))
        else:
            self._call(lambda: self.client.hset(key, paper_id, opinion))

    def examples(self, ids: list[str]) -> list[Paper]:
        if not ids:
            return []
        records = self._call(lambda: self._get_many([self._key(f"example:{i}") for i in ids]))
        return [Paper.model_validate_json(record) for record in records if record]

    def put_examples(self, papers: list[Paper]) -> None:
        writer = BatchedWriter(self.client)
        for paper in papers:
            writer.command("SET", self._key(f"example:{paper.id}"), paper.model_dump_json())
        self._call(writer.flush)

    def secret(self, name: str) -> str:
        key = self._key(f"secret:{name}")

        def run() -> str:
            self.client.set(key, secrets.token_urlsafe(32), nx=True)
            value: bytes | None = self.client.get(key)
            if value is None:
                raise StoreError("Redis: the secret just set is gone")
            return value.decode()

        return self._call(run)

    # -- summaries, usage, lock, limiter -----------------------------------------------------

    def _variants(self, kind: str, ids: list[str], variant: str) -> dict[str, bytes]:
        """Field `variant` of each paper's `{kind}:{id}` hash, for the papers that have it."""
        if not ids:
            return {}

        def run() -> list[bytes | None]:
            pipe = self.client.pipeline(transaction=False)
            for paper_id in ids:
                pipe.hget(self._key(f"{kind}:{paper_id}"), variant)
            return pipe.execute()

        records = self._call(run)
        return {i: record for i, record in zip(ids, records, strict=True) if record}

    def summaries(self, ids: list[str], variant: str) -> dict[str, Summary]:
        found = self._variants("summaries", ids, variant)
        return {i: Summary.model_validate_json(record) for i, record in found.items()}

    def put_summary(self, summary: Summary, variant: str) -> None:
        key = self._key(f"summaries:{summary.arxiv_id}")
        self._call(lambda: self.client.hset(key, variant, summary.model_dump_json()))

    def embeddings(self, ids: list[str], variant: str) -> dict[str, bytes]:
        return self._variants("embeddings", ids, variant)

    def put_embeddings(self, vectors: dict[str, bytes], variant: str) -> None:
        def run() -> None:
            pipe = self.client.pipeline(transaction=False)
            for paper_id, vector in vectors.items():
                pipe.hset(self._key(f"embeddings:{paper_id}"), variant, vector)
            pipe.execute()

        self._call(run)

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

    def renew_lock(self, name: str, token: str, ttl_seconds: float, now: float) -> bool:
        key, ttl = self._key(f"lock:{name}"), max(1, int(ttl_seconds * 1000))
        renewed: Any = self._call(lambda: self._renew(keys=[key], args=[token, ttl]))
        return bool(renewed)

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
