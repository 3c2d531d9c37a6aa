"""Shared test fixtures: the recorded arXiv responses, a controllable clock, and both stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core.config import Settings, load_settings
from core.store import Store
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = os.environ.get("ARXIV_FEEDS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def shared_fixture(relative: str) -> Path:
    """A recorded arXiv response from ../shared/fixtures: skipped when absent, failed in CI."""
    path = SHARED_FIXTURES / relative
    if not path.is_file():
        message = f"{path} is missing: the recorded arXiv responses live in ../shared/fixtures"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
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


def _redis_client() -> redis.Redis[bytes]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"no Redis answers at {REDIS_URL} ({error}); set ARXIV_FEEDS_TEST_REDIS_URL"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return client


@pytest.fixture
def redis_store() -> Iterator[RedisStore]:
    """A Redis store under a key prefix of its own; only its own keys are deleted afterwards."""
    client = _redis_client()
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
