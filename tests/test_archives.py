"""Following whole archives (`cs`, `math`, ...) as well as single categories."""

from __future__ import annotations

from pathlib import Path

import feedparser
from fastapi.testclient import TestClient

from core.config import load_settings
from core.refresh import refresh
from core.store import Store
from core.web.app import create_app
from tests.conftest import FakeClock
from tests.factories import RssItem, arxiv_rss

ITEMS = [
    RssItem("2411.00001", title="Serving LLMs", categories=("cs.DC", "cs.LG")),
    RssItem("2411.00002", title="Kernels for MoE", categories=("cs.AR",)),
    RssItem("2411.00003", title="Sheaves", categories=("math.AG",)),
    RssItem("2411.00004", title="Bandits", categories=("stat.ML", "cs.LG"), announce_type="cross"),
]


def test_an_archive_follows_every_category_in_it(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[arxiv]\ncategories = ["cs"]\n')
    settings = load_settings(path, env={})
    report = refresh(settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=clock)
    assert report.status == "published" and report.kept == 3
    client = TestClient(create_app(settings, lambda: store, clock=clock))
    links = [e.link for e in feedparser.parse(client.get("/feeds/cs.xml").content).entries]
    assert sorted(link.rsplit("/", 1)[1] for link in links) == [
        "2411.00001",
        "2411.00002",
        "2411.00004",
    ]
    for cat, expected in (("cs.AR", 1), ("stat.ML", 1), ("cs", 3), ("cs.DC,stat.ML", 2)):
        count = client.get("/api/count", params={"cat": cat}).json()
        assert count == {"count": expected}, cat
    refused = client.get("/api/count", params={"cat": "math.AG"})
    assert (
        refused.status_code == 422
        and "no paper of the last 1 days is in math.AG" in (refused.json()["error"])
    )
