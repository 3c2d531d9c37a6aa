"""The embedded store: one SQLite file in WAL mode, a connection per thread."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from core.models import (
    Calendar,
    Opinion,
    Paper,
    Publication,
    RefreshReport,
    RenderedFeed,
    Summary,
)
from core.store import CALENDAR, FeedHead, StoreError, inflated, kept_text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS days (day TEXT PRIMARY KEY, ids TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (
    key TEXT PRIMARY KEY, media_type TEXT NOT NULL, etag TEXT NOT NULL,
    last_modified TEXT NOT NULL, body BLOB NOT NULL, gzip BLOB NOT NULL,
    base_url TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY, token TEXT NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS limiter (name TEXT PRIMARY KEY, next_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS summaries (
    id TEXT NOT NULL, variant TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (id, variant)
);
CREATE TABLE IF NOT EXISTS embeddings (
    id TEXT NOT NULL, variant TEXT NOT NULL, record BLOB NOT NULL, PRIMARY KEY (id, variant)
);
CREATE TABLE IF NOT EXISTS day_indexes (
    day TEXT PRIMARY KEY, key TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (day TEXT PRIMARY KEY, tokens INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS likes (id TEXT PRIMARY KEY, opinion TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS examples (id TEXT PRIMARY KEY, record TEXT NOT NULL);
DROP TABLE IF EXISTS day_items;
"""


def path_from_url(url: str) -> Path:
    """`sqlite:///./data/x.db` -> ./data/x.db; `sqlite:////abs/x.db` -> /abs/x.db."""
    rest = url.removeprefix("sqlite://")
    if not rest.startswith("/") or len(rest) < 2:
        raise StoreError(
            f"expected sqlite:///RELATIVE/PATH or sqlite:////ABSOLUTE/PATH, got {url!r}"
        )
    return Path(rest[1:])


class SQLiteStore:
    """Readers never block the publisher and see the previous or the new publication (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._connection().executescript(_SCHEMA)
            self._migrate()
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the SQLite store at {path}: {error}") from error

    def _migrate(self) -> None:
        """Bring a store made by an earlier version up to this schema, keeping its data."""
        db = self._connection()
        columns = {row[1] for row in db.execute("PRAGMA table_info(feeds)")}
        if "gzip" not in columns:
            db.execute("ALTER TABLE feeds ADD COLUMN gzip BLOB NOT NULL DEFAULT x''")
        if "base_url" not in columns:
            db.execute("ALTER TABLE feeds ADD COLUMN base_url TEXT NOT NULL DEFAULT ''")
        embedding_columns = {row[1] for row in db.execute("PRAGMA table_info(embeddings)")}
        if "vector" in embedding_columns:  # its name before it shared the summaries' reader
            db.execute("ALTER TABLE embeddings RENAME COLUMN vector TO record")

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        return cls(path_from_url(url))

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: all of it is committed, or none. SQLite's own errors
        (a full disk, a read-only file) become StoreErrors that say so."""
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:  # SQLite may have rolled back already
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StoreError(f"SQLite at {self.path}: {error}") from error

    def publish(self, publication: Publication) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO papers (id, record) VALUES (?, ?)",
                [(paper.id, paper.model_dump_json()) for paper in publication.papers],
            )
            db.executemany(
                "INSERT OR REPLACE INTO days (day, ids) VALUES (?, ?)",
                [(day.isoformat(), json.dumps(ids)) for day, ids in publication.days.items()],
            )
            db.executemany(
                "DELETE FROM days WHERE day = ?",
                [(day.isoformat(),) for day in publication.remove_days],
            )
            db.executemany(
                "INSERT OR REPLACE INTO day_indexes (day, key, data) VALUES (?, ?, ?)",
                [(day.isoformat(), key, data) for day, (key, data) in publication.indexes.items()],
            )
            db.executemany(
                "DELETE FROM day_indexes WHERE day = ?",
                [(day.isoformat(),) for day in publication.remove_days],
            )
            for table in ("papers", "summaries", "embeddings"):
                db.executemany(
                    f"DELETE FROM {table} WHERE id = ?", [(i,) for i in publication.remove_papers]
                )
            db.execute("DELETE FROM feeds")
            db.executemany(
                "INSERT INTO feeds (key, media_type, etag, last_modified, body, gzip, base_url) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        key,
                        f.media_type,
                        f.etag,
                        f.last_modified.isoformat(),
                        kept_text(f),
                        f.gzip,
                        f.base_url,
                    )
                    for key, f in publication.feeds.items()
                ],
            )
            self._put_report(db, publication.report, "report")
            if publication.report.status == "published":  # not a run that only added summaries
                self._put_report(db, publication.report, "published")

    @staticmethod
    def _put_report(db: sqlite3.Connection, report: RefreshReport, key: str) -> None:
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (key, report.model_dump_json()),
        )

    def save_report(self, report: RefreshReport) -> None:
        with self._write() as db:
            self._put_report(db, report, "report")

    def _get_report(self, key: str) -> RefreshReport | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return RefreshReport.model_validate_json(row[0]) if row else None

    def last_report(self) -> RefreshReport | None:
        return self._get_report("report")

    def last_published(self) -> RefreshReport | None:
        return self._get_report("published")

    def feed(
        self, key: str, gzip: bool = False, head: FeedHead | None = None
    ) -> RenderedFeed | None:
        row = (
            self._connection()
            .execute(
                "SELECT media_type, etag, last_modified, base_url, "
                "length(gzip) > 0 AND (? OR length(body) = 0), "
                "CASE WHEN length(gzip) > 0 AND (? OR length(body) = 0) THEN gzip ELSE body END "
                "FROM feeds WHERE key = ?",
                (gzip, gzip, key),
            )
            .fetchone()
        )
        if row is None:
            return None
        media_type, etag, last_modified, base_url, compressed, data = row
        kept = RenderedFeed(
            body=b"" if compressed else data,
            gzip=data if compressed else b"",
            media_type=media_type,
            etag=etag,
            last_modified=datetime.fromisoformat(last_modified),
            base_url=base_url,
        )
        return inflated(kept) if compressed and not gzip else kept

    def feed_head(self, key: str) -> FeedHead | None:
        row = (
            self._connection()
            .execute(
                "SELECT etag, last_modified, base_url, length(gzip) > 0 FROM feeds WHERE key = ?",
                (key,),
            )
            .fetchone()
        )
        if row is None:
            return None
        etag, last_modified, base_url, compressed = row
        return FeedHead(etag, datetime.fromisoformat(last_modified), base_url, bool(compressed))

    def feed_validators(self) -> dict[str, tuple[str, datetime]]:
        rows = self._connection().execute("SELECT key, etag, last_modified FROM feeds")
        return {key: (etag, datetime.fromisoformat(when)) for key, etag, when in rows}

    def day_index(self) -> dict[date, list[str]]:
        rows = self._connection().execute("SELECT day, ids FROM days").fetchall()
        return {date.fromisoformat(day): json.loads(ids) for day, ids in rows}

    def _records(self, table: str, ids: list[str], variant: str | None = None) -> dict[str, Any]:
        """The `record` column of `table` by id (JSON text, or bytes), read in chunks under
        SQLite's bound-parameter limit; `variant` narrows a table of variants to one."""
        found: dict[str, Any] = {}
        db = self._connection()
        where = "variant = ? AND " if variant is not None else ""
        leading = [variant] if variant is not None else []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, record FROM {table} WHERE {where}id IN ({marks})"
            found.update(db.execute(sql, [*leading, *chunk]).fetchall())
        return found

    def day_index_bytes(self, day: date, key: str) -> bytes | None:
        sql = "SELECT data FROM day_indexes WHERE day = ? AND key = ?"
        row = self._connection().execute(sql, (day.isoformat(), key)).fetchone()
        return bytes(row[0]) if row else None

    def papers(self, ids: list[str]) -> list[Paper]:
        found = self._records("papers", ids)
        return [Paper.model_validate_json(found[i]) for i in ids if i in found]

    def summaries(self, ids: list[str], variant: str) -> dict[str, Summary]:
        found = self._records("summaries", ids, variant)
        return {i: Summary.model_validate_json(record) for i, record in found.items()}

    def put_summary(self, summary: Summary, variant: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO summaries (id, variant, record) VALUES (?, ?, ?)",
                (summary.arxiv_id, variant, summary.model_dump_json()),
            )

    def embeddings(self, ids: list[str], variant: str) -> dict[str, bytes]:
        return {i: bytes(record) for i, record in self._records("embeddings", ids, variant).items()}

    def put_embeddings(self, vectors: dict[str, bytes], variant: str) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings (id, variant, record) VALUES (?, ?, ?)",
                [(paper_id, variant, vector) for paper_id, vector in vectors.items()],
            )

    def add_usage(self, day: str, tokens: int) -> int:
        with self._write() as db:
            db.execute(
                "INSERT INTO usage (day, tokens) VALUES (?, ?) "
                "ON CONFLICT (day) DO UPDATE SET tokens = tokens + excluded.tokens",
                (day, tokens),
            )
            row = db.execute("SELECT tokens FROM usage WHERE day = ?", (day,)).fetchone()
        return int(row[0])

    def calendar(self) -> Calendar:
        row = self._connection().execute("SELECT value FROM meta WHERE key = 'calendar'")
        found = row.fetchone()
        return CALENDAR.validate_json(found[0]) if found else {}

    def put_calendar(self, calendar: Calendar) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('calendar', ?)",
                (CALENDAR.dump_json(calendar).decode(),),
            )

    def likes(self) -> dict[str, Opinion]:
        rows = self._connection().execute("SELECT id, opinion FROM likes ORDER BY id")
        return {paper_id: "like" if value == "like" else "dislike" for paper_id, value in rows}

    def set_like(self, paper_id: str, opinion: Opinion | None) -> None:
        with self._write() as db:
            if opinion is None:
                db.execute("DELETE FROM likes WHERE id = ?", (paper_id,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO likes (id, opinion) VALUES (?, ?)",
                    (paper_id, opinion),
                )

    def examples(self, ids: list[str]) -> list[Paper]:
        found = self._records("examples", ids)
        return [Paper.model_validate_json(found[i]) for i in ids if i in found]

    def put_examples(self, papers: list[Paper]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO examples (id, record) VALUES (?, ?)",
                [(paper.id, paper.model_dump_json()) for paper in papers],
            )

    def secret(self, name: str) -> str:
        key = f"secret:{name}"
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                (key, secrets.token_urlsafe(32)),
            )
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    def acquire_lock(self, name: str, ttl_seconds: float, now: float) -> str | None:
        token = uuid.uuid4().hex
        with self._write() as db:
            db.execute("DELETE FROM locks WHERE name = ? AND expires <= ?", (name, now))
            inserted = db.execute(
                "INSERT OR IGNORE INTO locks (name, token, expires) VALUES (?, ?, ?)",
                (name, token, now + ttl_seconds),
            ).rowcount
        return token if inserted else None

    def renew_lock(self, name: str, token: str, ttl_seconds: float, now: float) -> bool:
        with self._write() as db:
            renewed = db.execute(
                "UPDATE locks SET expires = ? WHERE name = ? AND token = ? AND expires > ?",
                (now + ttl_seconds, name, token, now),
            ).rowcount
        return bool(renewed)

    def release_lock(self, name: str, token: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM locks WHERE name = ? AND token = ?", (name, token))

    def reserve_slot(self, name: str, interval_seconds: float, now: float) -> float:
        with self._write() as db:
            row = db.execute("SELECT next_at FROM limiter WHERE name = ?", (name,)).fetchone()
            start = max(now, row[0] if row else now)
            db.execute(
                "INSERT OR REPLACE INTO limiter (name, next_at) VALUES (?, ?)",
                (name, start + interval_seconds),
            )
        return start - now

    def ping(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
