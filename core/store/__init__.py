"""Storage: the `Store` protocols by role, an embedded SQLite store and a Redis store."""

from __future__ import annotations

import gzip
from datetime import date, datetime
from typing import NamedTuple, Protocol

from pydantic import TypeAdapter

from core.config import StoreConfig
from core.models import (
    Calendar,
    Opinion,
    Paper,
    Publication,
    RefreshReport,
    RenderedFeed,
    Summary,
)

CALENDAR = TypeAdapter(Calendar)


class StoreError(Exception):
    """The store could not be reached or answered badly; the message says which and why."""


class FeedHead(NamedTuple):
    """A stored feed's validators, without its bytes."""

    etag: str
    last_modified: datetime
    base_url: str
    compressed: bool
    """Whether it has a gzip copy."""
    version: str = ""
    """The publication it was read from, where a store keeps several (Redis): the feed's
    bytes are read from the same one without looking the current one up again."""


def kept_text(feed: RenderedFeed) -> bytes:
    """What a store keeps of a feed's text beside its gzip copy: nothing, when the copy holds
    it. Almost every reader takes gzip; one that does not gets the copy inflated (`inflated`),
    and a refresh writes a fraction of the bytes (the text is several times its copy)."""
    return b"" if feed.gzip else feed.body


def inflated(feed: RenderedFeed) -> RenderedFeed:
    """A feed read as its gzip copy alone, as its text (for a reader that takes no gzip)."""
    return feed.model_copy(update={"body": gzip.decompress(feed.gzip), "gzip": b""})


class Publications(Protocol):
    """The published days: papers, feeds, per-day indexes and items, reports and the
    calendar. `publish` is atomic: a reader sees the previous refresh or this one, never a
    mix. Removing a paper also removes its cached summaries and embeddings."""

    def publish(self, publication: Publication) -> None: ...

    def save_report(self, report: RefreshReport) -> None: ...

    def last_report(self) -> RefreshReport | None:
        """The report of the latest refresh attempt, whatever its outcome."""
        ...

    def last_published(self) -> RefreshReport | None:
        """The report of the latest refresh that published a day (a run that only completed
        summaries while arXiv failed publishes them, but is not this)."""
        ...

    def feed(
        self, key: str, gzip: bool = False, head: FeedHead | None = None
    ) -> RenderedFeed | None:
        """A stored feed with only the bytes one response needs: with `gzip`, the compressed
        copy in `.gzip` and an empty `.body` (unless there is no compressed copy); else the
        bytes in `.body` and an empty `.gzip`. `head`: its `feed_head`, just read (a reader's
        poll of a changed feed reads both)."""
        ...

    def feed_head(self, key: str) -> FeedHead | None:
        """A stored feed's validators without its bytes (None also where a store cannot
        tell them apart from its bytes: the caller then reads the feed)."""
        ...

    def feed_validators(self) -> dict[str, tuple[str, datetime]]:
        """Every stored feed's ETag and Last-Modified, without its bytes."""
        ...

    def day_index(self) -> dict[date, list[str]]: ...

    def papers(self, ids: list[str]) -> list[Paper]: ...

    def day_index_bytes(self, day: date, key: str) -> bytes | None:
        """The day's stored index if it was written under `key`, else None (a publication
        replaces a day's index; removing the day removes it)."""
        ...

    def calendar(self) -> Calendar:
        """The announcement days' records (`core.days.calendar`), by day."""
        ...

    def put_calendar(self, calendar: Calendar) -> None: ...


class Caches(Protocol):
    """What is costly to make again: summaries and embeddings per paper (pruned with it),
    and the LLM tokens spent per day."""

    def summaries(self, ids: list[str], variant: str) -> dict[str, Summary]:
        """Cached summaries by paper id, for one `language|model|prompt version` variant."""
        ...

    def put_summary(self, summary: Summary, variant: str) -> None:
        """Saved as soon as it is made, so work cut short by a deadline is kept."""
        ...

    def embeddings(self, ids: list[str], variant: str) -> dict[str, bytes]:
        """Cached embeddings by paper id (packed float32), for one `model|dimensions` variant."""
        ...

    def put_embeddings(self, vectors: dict[str, bytes], variant: str) -> None:
        """Kept until the paper is pruned, like its summaries."""
        ...

    def add_usage(self, day: str, tokens: int) -> int:
        """Add LLM tokens spent on `day` (UTC, ISO date) and return the day's total."""
        ...


class Opinions(Protocol):
    """The reader's likes and dislikes, the papers they name, and the deployment's secrets."""

    def likes(self) -> dict[str, Opinion]:
        """The reader's feedback: arXiv id -> "like" or "dislike"."""
        ...

    def set_like(self, paper_id: str, opinion: Opinion | None) -> None:
        """Record (or with None, forget) the reader's opinion of a paper."""
        ...

    def examples(self, ids: list[str]) -> list[Paper]:
        """Kept papers the reader liked or disliked; never pruned by retention."""
        ...

    def put_examples(self, papers: list[Paper]) -> None: ...

    def secret(self, name: str) -> str:
        """A random secret of this deployment, made on first use and then always the same."""
        ...


class Coordination(Protocol):
    """What every instance shares: the refresh's lock and arXiv's request slots."""

    def acquire_lock(self, name: str, ttl_seconds: float, now: float) -> str | None: ...

    def renew_lock(self, name: str, token: str, ttl_seconds: float, now: float) -> bool:
        """Extend a lock this token holds to `now + ttl_seconds`; False when it holds none."""
        ...

    def release_lock(self, name: str, token: str) -> None: ...

    def reserve_slot(self, name: str, interval_seconds: float, now: float) -> float: ...


class Store(Publications, Caches, Opinions, Coordination, Protocol):
    """Every role, as the SQLite and Redis stores implement them; code that needs one role
    asks for that protocol."""

    def ping(self) -> bool: ...

    def close(self) -> None: ...


def feed_key(name: str, fmt: str, language: str | None = None) -> str:
    """Where a rendered feed is stored: `cs.LG.xml`, or `zh/cs.LG.xml` for a second language."""
    return f"{language}/{name}.{fmt}" if language else f"{name}.{fmt}"


def papers_of_days(store: Store, days: list[date]) -> list[Paper]:
    """The papers announced on `days`, newest day first, in each day's stored order."""
    index = store.day_index()
    ids = list(dict.fromkeys(i for day in sorted(days, reverse=True) for i in index.get(day, [])))
    return store.papers(ids)


def open_store(config: StoreConfig) -> Store:
    """The store named by the URL; imports only the backend it needs."""
    if config.url.startswith("sqlite://"):
        from core.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(config.url)
    from core.store.redis import RedisStore

    return RedisStore.from_url(
        config.url, prefix=config.redis_prefix, timeout=config.redis_timeout_seconds
    )
