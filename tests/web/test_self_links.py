"""A feed's self link, the OPML and the landing page name the address the service is really
reached at: a refresh without BASE_URL bakes the default address into the stored feeds, and a
real server on another port serves them with its own."""

from __future__ import annotations

from pathlib import Path

import feedparser
import httpx
import pytest

from core.config import load_settings
from core.refresh import refresh
from core.store import open_store
from core.web.app import create_app
from scripts.check_vercel_build import sample_day
from tests.system.test_end_to_end import serving

FORMATS = ["xml", "atom", "json"]


def _self_link(body: bytes, fmt: str) -> str:
    if fmt == "json":
        return str(httpx.Response(200, content=body).json()["feed_url"])
    parsed = feedparser.parse(body)
    return str(next(link.href for link in parsed.feed.links if link.rel == "self"))


@pytest.fixture
def refreshed(tmp_path: Path) -> str:
    """A store refreshed with no BASE_URL: its feeds name http://127.0.0.1:8000."""
    url = f"sqlite:///{tmp_path}/s.db"
    settings = load_settings(env={"STORE_URL": url})
    assert settings.site.base_url == "http://127.0.0.1:8000"
    store = open_store(settings.store)
    assert refresh(settings, store, sample_day, source="test").status == "published"
    stored = store.feed("cs.LG.xml")
    assert stored is not None and b"http://127.0.0.1:8000/feeds/cs.LG.xml" in stored.body
    store.close()
    return url


@pytest.mark.parametrize("accept", ["gzip", "identity"])
def test_served_on_another_port_every_link_names_that_port(refreshed: str, accept: str) -> None:
    settings = load_settings(env={"STORE_URL": refreshed})
    store = open_store(settings.store)
    with serving(create_app(settings, lambda: store)) as base:
        headers = {"Accept-Encoding": accept}
        for fmt in FORMATS:
            response = httpx.get(f"{base}/feeds/cs.LG.{fmt}", headers=headers)
            assert _self_link(response.content, fmt) == f"{base}/feeds/cs.LG.{fmt}"
            assert b"127.0.0.1:8000" not in response.content
            again = httpx.get(
                f"{base}/feeds/cs.LG.{fmt}",
                headers={**headers, "If-None-Match": response.headers["etag"]},
            )
            assert again.status_code == 304
        opml = httpx.get(f"{base}/opml").text
        assert f'xmlUrl="{base}/feeds/cs.LG.xml"' in opml and "8000" not in opml
        page = httpx.get(f"{base}/").text
        assert f"{base}/feeds/cs.LG.xml" in page and "127.0.0.1:8000" not in page
    store.close()


def test_a_configured_address_wins_and_a_hostile_host_is_ignored(refreshed: str) -> None:
    configured = load_settings(env={"STORE_URL": refreshed, "BASE_URL": "https://feeds.example"})
    store = open_store(configured.store)
    with serving(create_app(configured, lambda: store)) as base:
        body = httpx.get(f"{base}/feeds/cs.LG.atom").content
        assert _self_link(body, "atom") == "https://feeds.example/feeds/cs.LG.atom"
    default = load_settings(env={"STORE_URL": refreshed})
    with serving(create_app(default, lambda: store)) as base:
        hostile = httpx.get(f"{base}/feeds/cs.LG.xml", headers={"Host": 'x"><script>a</script>'})
        assert hostile.status_code in (200, 400)
        assert b"<script>a" not in hostile.content
    store.close()
