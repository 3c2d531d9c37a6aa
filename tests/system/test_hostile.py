"""A hostile day end to end: what arXiv and the LLM send is data on every surface.

A recorded-shape arXiv response carries hostile titles, authors and abstracts (markup, event
handlers, `javascript:` URLs, `]]>`, RTL overrides, a 1 MB abstract) and the LLM answers with
hostile summaries; every surface (RSS, Atom, JSON Feed, stored and ad-hoc, the landing page,
the API, the digest) must stay well-formed, bounded and inert. A response with a control
character XML forbids is not a feed at all: an upstream error that keeps the stored day.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import lxml.html
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from markdown_it import MarkdownIt

from core.config import Settings, load_settings
from core.models import CUT, LIMITS
from core.refresh import refresh
from core.render.digest import render_digest
from core.store import Store, open_store, papers_of_days
from core.summarize.batch import Summarizer
from core.summarize.client import LLMClient
from core.summarize.fulltext import abstract_only
from core.web.app import create_app
from tests.conftest import FakeClock
from tests.factories import HOSTILE, HOSTILE_LLM, RssItem, arxiv_rss, chat_completion

RLO = "\u202e"  # right-to-left override: text that reads backwards after it
ITEMS = [
    RssItem(
        "2411.00001",
        title=f"KV cache <img src=x onerror=alert(1)> {RLO}txt.exe ]]> javascript:alert(3)",
        abstract=f"We compress the KV cache. {HOSTILE} {RLO}gnp.evil",
        creators='<script>alert("author")</script>, Mallory <a href="javascript:x">M</a>',
    ),
    RssItem("2411.00002", title="KV cache at length", abstract="KV cache " + "a" * 1_000_000),
]
SURFACES = [
    "/feeds/cs.LG.xml",
    "/feeds/cs.LG.atom",
    "/feeds/cs.LG.json",
    "/feed.xml?q=kv+cache",
    "/feed.atom?q=kv+cache",
    "/feed.json?q=kv+cache",
    "/",
    "/api/papers?days=1",
]
ACTIVE = (  # the landing page's own script builds feed URLs; a hostile one would alert
    "//script[contains(., 'alert')] | //img | //svg | //iframe | //object | //embed"
    " | //*[@onerror] | //*[@onload]"
)


def _summary_fields() -> str:
    fields = ("tldr", "contributions", "methods", "results", "conclusions")
    return json.dumps(dict.fromkeys(fields, f"{HOSTILE_LLM} bell\u0007 escape\u001b"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store]]:
    directory = tmp_path_factory.mktemp("hostile")
    config = directory / "arxiv-feeds.toml"
    config.write_text('[arxiv]\ncategories = ["cs.LG"]\n[summaries]\nmin_score = 0.5\n')
    env = {"STORE_URL": f"sqlite:///{directory}/s.db", "LLM_API_KEY": "sk-test"}
    settings: Settings = load_settings(config, env=env)
    store = open_store(settings.store)
    clock = FakeClock()
    answer = chat_completion(_summary_fields())
    llm = LLMClient(
        settings.summaries,
        clock,
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=answer)),
    )
    summarizer = Summarizer(settings, store, llm, abstract_only, clock)
    report = refresh(
        settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=clock, summarizer=summarizer
    )
    assert report.status == "published" and report.summaries is not None
    assert report.summaries.made == 2
    with TestClient(create_app(settings, lambda: store)) as client:
        yield client, store


def _html_parts(path: str, body: bytes) -> list[str]:
    """Every piece of HTML a reader would render from this surface."""
    if path == "/":
        return [body.decode()]
    if ".json" in path:
        return [item["content_html"] for item in json.loads(body)["items"]]
    if path.startswith("/api/"):
        return []
    etree.fromstring(body)  # well-formed XML, strictly
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [entry.link for entry in parsed.entries] == [
        "https://arxiv.org/abs/2411.00001",
        "https://arxiv.org/abs/2411.00002",
    ]
    return [entry.content[0].value for entry in parsed.entries]


@pytest.mark.parametrize("path", SURFACES)
def test_every_surface_is_well_formed_bounded_and_inert(
    hostile: tuple[TestClient, Store], path: str
) -> None:
    client, _ = hostile
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert len(response.content) < 200_000, "the 1 MB abstract was served whole"
    for html in _html_parts(path, response.content):
        document = lxml.html.fromstring(f"<div>{html}</div>")
        assert not document.xpath(ACTIVE), "markup from arXiv or the LLM became an element"
        hrefs = document.xpath("//@href | //@src | //@action")
        assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")]
        assert not [h for h in hrefs if "evil.example" in h], "an LLM link became a link"
        text = document.text_content()
        assert "<script>" in text or path.startswith("/api/") or "onerror" in text


def test_the_api_returns_the_hostile_text_as_text_and_bounded(
    hostile: tuple[TestClient, Store],
) -> None:
    client, _ = hostile
    papers = {paper["id"]: paper for paper in client.get("/api/papers?days=1").json()["papers"]}
    # kept exactly but for the invisible override (removed at ingest), escaped on output
    assert papers["2411.00001"]["title"] == ITEMS[0].title.replace(RLO, "")
    assert RLO not in papers["2411.00001"]["abstract"]
    long_abstract = papers["2411.00002"]["abstract"]
    assert len(long_abstract) == LIMITS["abstract"] + len(CUT) and long_abstract.endswith(CUT)


def test_the_digest_cannot_be_steered(hostile: tuple[TestClient, Store]) -> None:
    _, store = hostile
    papers = papers_of_days(store, list(store.day_index()))
    digest = render_digest(papers, papers[0].day, ["cs.LG"], None)
    rendered = lxml.html.fromstring(f"<div>{MarkdownIt('commonmark').render(digest)}</div>")
    assert not rendered.xpath(ACTIVE)
    links = rendered.xpath("//a/@href")
    assert links and all(link.startswith("https://arxiv.org/") for link in links), links
    assert not rendered.xpath("//h2[contains(., 'Heading')]"), "LLM output added a heading"


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b"])
def test_a_control_character_xml_forbids_is_removed_and_the_day_kept(
    tmp_path: Path, store: Store, clock: FakeClock, control: str
) -> None:
    settings = Settings()
    damaged = arxiv_rss(
        [RssItem("2411.00003", title=f"Bell {control} here", categories=("cs.LG",))]
    )
    report = refresh(settings, store, lambda: damaged, source="t", clock=clock)
    assert report.status == "published" and report.repaired_characters == 1
    assert [paper.title for paper in store.papers(["2411.00003"])] == ["Bell here"]
