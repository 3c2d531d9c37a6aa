"""The issue's acceptance path: `refresh --from-file` on the recorded day, then a real uvicorn
serving `/feeds/cs.LG.xml`, on SQLite and on Redis."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import feedparser
import httpx
import pytest
import uvicorn

from core.cli import main
from core.config import load_settings
from core.store import Store, open_store
from core.store.redis import RedisStore
from core.web.app import create_app
from tests.conftest import shared_fixture

RSS = "arxiv-rss/all-archives-2024-11-28.rss.xml"


@contextmanager
def serving(app: object) -> Iterator[str]:
    """uvicorn on a socket bound before the server starts, so no readiness polling is needed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _expected_cs_lg(raw: bytes) -> set[str]:
    """Computed straight from the recorded feed, independently of the ingest code."""
    return {
        entry.link.rsplit("/", 1)[1]
        for entry in feedparser.parse(raw).entries
        if entry.arxiv_announce_type in ("new", "cross")
        and "cs.LG" in {tag.term for tag in entry.tags}
    }


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f'url = "sqlite:///{tmp_path}/e2e.db"'
    redis_store: RedisStore = request.getfixturevalue("redis_store")
    url = redis_store.client.connection_pool.connection_kwargs
    address = f"redis://{url['host']}:{url['port']}/{url['db']}"
    return f'url = "{address}"\nredis_prefix = "{redis_store.prefix}"'


def test_recorded_day_is_served_complete(
    tmp_path: Path, store_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = shared_fixture(RSS)
    config = tmp_path / "arxiv-feeds.toml"
    config.write_text(f"[store]\n{store_config}\n")

    assert main(["--config", str(config), "refresh", "--from-file", str(fixture)]) == 0
    assert "published: 237 papers announced 2024-11-28" in capsys.readouterr().out

    settings = load_settings(config, env={})
    store: Store = open_store(settings.store)
    with serving(create_app(settings, lambda: store)) as base:
        response = httpx.get(f"{base}/feeds/cs.LG.xml", timeout=30)
    store.close()

    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    ids = [entry.id.rsplit("/", 1)[1] for entry in parsed.entries]
    assert len(ids) == len(set(ids)), "a paper is listed twice"
    assert set(ids) == _expected_cs_lg(fixture.read_bytes())
    assert len(ids) == 147
    scores = [
        float(re.search(r"<details>(?:<summary>)?Score ([-\d.]+)", entry.content[0].value)[1])  # type: ignore[index]
        for entry in parsed.entries[:20]
    ]
    assert scores == sorted(scores, reverse=True)


def test_digest_after_refresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = shared_fixture(RSS)
    config = tmp_path / "arxiv-feeds.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/d.db"\n')
    assert main(["--config", str(config), "refresh", "--from-file", str(fixture)]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "digest", "--limit", "3"]) == 0
    digest = capsys.readouterr().out
    assert digest.startswith("# arXiv digest for 2024-11-28")
    assert "- Papers: 237 (236 new, 1 cross)" in digest
    assert digest.count("\n## ") == 3
