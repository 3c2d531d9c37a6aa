"""Shared test fixtures: the recorded arXiv responses, a controllable clock, both stores, and a
spy on the feed items made."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest
import redis

from core.config import Format, Settings, load_settings
from core.models import Paper
from core.store import Store
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from scripts.local_redis import local_redis_server

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_LIMIT_BYTES = 1024 * 1024
"""The test Redis refuses any value larger than this (`proto-max-bulk-len 1mb`), as Upstash
refuses any request over 10 MB: a store that sends large values fails here first."""


LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", ""}
_real_getaddrinfo = socket.getaddrinfo


class NetworkForbidden(BaseException):
    """Not an Exception, so no retry loop or error handler of the code under test hides it."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never leave this machine: only arXiv and LLM stand-ins at the transport answer.
    Looking up any other host fails the test at once."""

    def local_only(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name not in LOCAL_HOSTS:
            raise NetworkForbidden(f"a test reached for {name}: answer it at the transport")
        return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


def unavailable(message: str) -> NoReturn:
    """A test's real dependency is missing: skipped on a developer's machine, failed in CI."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def shared_fixture(relative: str) -> Path:
    """A recorded arXiv response from ../shared/fixtures: skipped when absent, failed in CI."""
    path = SHARED_FIXTURES / relative
    if not path.is_file():
        message = f"{path} is missing: the recorded arXiv responses live in ../shared/fixtures"
        unavailable(message)
    return path


class FakeClock:
    """Time that moves only when the code under test sleeps (or a test advances it)."""

    def __init__(self, start: float = 1_732_770_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={"STORE_URL": f"sqlite:///{tmp_path}/store.db"})


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """ARXIV_FEEDS_TEST_REDIS_URL if set; else a redis-server of the tests' own, started with
    Upstash-like limits, when one is installed; else the local default."""
    configured = os.environ.get("ARXIV_FEEDS_TEST_REDIS_URL")
    if configured or shutil.which("redis-server") is None:
        yield configured or "redis://127.0.0.1:6379/0"
        return
    with local_redis_server() as url:
        yield url


def _redis_client(url: str) -> redis.Redis[bytes]:
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"no Redis answers at {url} ({error}); set ARXIV_FEEDS_TEST_REDIS_URL"
        unavailable(message)
    return client


class CommandLog:
    """What a Redis client sent: each command's name and packed size in bytes. With
    `fail_after`, every command after that many raises a connection error, as when a
    refresh dies halfway through."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.commands: list[tuple[str, int]] = []
        self.fail_after = fail_after

    def record(self, args: tuple[object, ...], packed: list[bytes | memoryview]) -> None:
        if self.fail_after is not None and len(self.commands) >= self.fail_after:
            raise redis.ConnectionError("connection lost (injected by the test)")
        name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        self.commands.append((name.upper(), sum(len(chunk) for chunk in packed)))


def measured_redis_store(url: str, prefix: str, log: CommandLog) -> RedisStore:
    """A RedisStore whose every packed command goes through `log` first."""

    class Packer:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def pack(self, *args: object) -> list[bytes | memoryview]:
            packed: list[bytes | memoryview] = self.inner.pack(*args)  # type: ignore[attr-defined]
            log.record(args, packed)
            return packed

    class MeasuredConnection(redis.Connection):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._command_packer = Packer(self._command_packer)  # type: ignore[has-type]

    pool = redis.ConnectionPool.from_url(url, connection_class=MeasuredConnection, socket_timeout=5)
    return RedisStore(redis.Redis(connection_pool=pool), prefix)


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisStore]:
    """A Redis store under a key prefix of its own; only its own keys are deleted afterwards."""
    client = _redis_client(redis_url)
    prefix = f"arxiv-feeds-test-{uuid.uuid4().hex}:"
    yield RedisStore(client, prefix)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "store.db")
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> Store:
    """Each contract test runs against both real stores."""
    fixture: Store = request.getfixturevalue(f"{request.param}_store")
    return fixture


def items_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`format:id` of every feed item made (by feedgen, or as JSON) from now on."""
    import core.render.feeds as feeds

    made: list[str] = []
    xml_item, json_item = feeds._xml_item, feeds._json_item

    def counted_xml(fmt: Format, paper: Paper, body: str, when: datetime, entry: Any = None) -> str:
        made.append(f"{fmt}:{paper.id}")
        return xml_item(fmt, paper, body, when, entry)

    def counted_json(paper: Paper, body: str, when: datetime) -> bytes:
        made.append(f"json:{paper.id}")
        return json_item(paper, body, when)

    monkeypatch.setattr(feeds, "_xml_item", counted_xml)
    monkeypatch.setattr(feeds, "_json_item", counted_json)
    return made
