"""Following whole archives (`cs`, `math`, ...) as well as single categories."""

from __future__ import annotations

from pathlib import Path

import feedparser
import httpx
import pytest
from fastapi.testclient import TestClient

from core.config import load_settings
from core.days.recovery import live_refresh
from core.ingest.rss import merge, parse_announcements
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
        and "no paper of the last 3 days is in math.AG" in (refused.json()["error"])
    )


def test_a_capped_answer_is_asked_again_in_halves_through_the_limiter(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rss.arxiv.org stops at 2,000 items (4 here): such an answer is asked again per half of
    the categories; one category that alone fills the cap is reported, not split."""
    import core.ingest.client
    import core.ingest.rss

    for module in (core.ingest.client, core.ingest.rss):
        monkeypatch.setattr(module, "RSS_ITEM_CAP", 4)
    by_category = {
        "cs.AI": [
            RssItem(f"2411.0010{n}", title=f"AI {n}", categories=("cs.AI",)) for n in range(3)
        ],
        "cs.LG": [
            RssItem(f"2411.0020{n}", title=f"LG {n}", categories=("cs.LG",)) for n in range(4)
        ],
    }
    asked: list[str] = []

    def arxiv(request: httpx.Request) -> httpx.Response:
        wanted = request.url.path.rsplit("/", 1)[1].split("+")
        asked.append("+".join(wanted))
        return httpx.Response(200, content=arxiv_rss([i for c in wanted for i in by_category[c]]))

    path = tmp_path / "config.toml"
    path.write_text('[arxiv]\ncategories = ["cs.AI", "cs.LG"]\n')
    report = live_refresh(
        load_settings(path, env={}), store, clock=clock, arxiv_transport=httpx.MockTransport(arxiv)
    )
    assert asked == ["cs.AI+cs.LG", "cs.AI", "cs.LG"]
    assert clock.sleeps[:3] == [0.0, 3.0, 3.0], "each request waits for the rate limiter"
    assert report.status == "published" and report.kept == 7
    assert "split into 2 requests" in report.message
    assert "1 answer(s) held 4 items and may be cut" in report.message


def test_split_answers_for_different_days_are_an_upstream_error() -> None:
    one = parse_announcements(arxiv_rss(ITEMS[:1]))
    other = parse_announcements(arxiv_rss(ITEMS[1:2], "Fri, 29 Nov 2024"))
    both = merge([one, other])
    assert both.status == "error" and "disagree on the day: 2024-11-28, 2024-11-29" in (
        both.message
    )
    same = merge([one, parse_announcements(arxiv_rss(ITEMS[:2]))])
    assert same.status == "ok" and [p.id for p in same.papers] == ["2411.00001", "2411.00002"]
