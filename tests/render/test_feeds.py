"""Rendered feeds read back by real parsers: feedparser and lxml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from core.models import Hit, Paper, Score
from core.render.digest import render_digest
from core.render.feeds import (
    JSON_FEED_VERSION,
    MEDIA_TYPES,
    FeedMeta,
    item_html,
    render,
    render_feed,
)
from tests.conftest import items_made
from tests.factories import make_paper, with_summary

META = FeedMeta(
    title="arXiv cs.LG",
    description="Every cs.LG paper.",
    self_url="https://feeds.example.org/feeds/cs.LG.xml",
    home_url="https://feeds.example.org/",
    updated=datetime(2024, 11, 28, 6, 0, tzinfo=UTC),
)


def _papers() -> list[Paper]:
    hostile = make_paper(
        "2411.00002",
        title="Beating <b>baselines</b> & more",
        abstract="We show a < b and <script>alert(1)</script>\x0b done.",
        authors=("Dénes Berta (ELTE)", "Alan Turing"),
        categories=("cs.LG", "cs.AI"),
    )
    scored = make_paper("2411.00001", title="Top paper").model_copy(
        update={
            "score": Score(
                total=4.5, hits=[Hit(rule="LLM", field="title", matched="llm", points=4.5)]
            )
        }
    )
    return [scored, hostile]


@pytest.mark.parametrize("fmt", ["xml", "atom"])
def test_xml_feeds_parse_cleanly(fmt: str) -> None:
    body = render(fmt, META, _papers())  # type: ignore[arg-type]
    etree.fromstring(body)  # well-formed XML
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == [
        "https://arxiv.org/abs/2411.00001",
        "https://arxiv.org/abs/2411.00002",
    ]
    first, second = parsed.entries
    assert first.title == "Top paper"
    assert second.title == "Beating <b>baselines</b> & more"
    assert second.link == "https://arxiv.org/abs/2411.00002"
    if fmt == "atom":
        assert [a.name for a in second.authors] == ["Dénes Berta (ELTE)", "Alan Turing"]
    else:
        assert second.author == "Dénes Berta (ELTE), Alan Turing"
    assert [t.term for t in second.tags] == ["cs.LG", "cs.AI"]
    html = second.content[0].value
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "Score 4.5" in first.content[0].value
    assert "LLM (title +4.5)" in first.content[0].value
    assert first.published_parsed > second.published_parsed  # rank survives date sorting
    assert parsed.feed.link == "https://feeds.example.org/"


def test_rss_channel_has_ttl_skipdays_self_link_and_counts() -> None:
    root = etree.fromstring(render("xml", META, _papers()))
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("ttl") == "360"
    assert sorted(d.text for d in channel.find("skipDays")) == ["Saturday", "Sunday"]
    self_link = channel.find("{http://www.w3.org/2005/Atom}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == META.self_url
    assert "2 papers announced 2024-11-28" in (channel.findtext("description") or "")
    creators = channel.findall("item/{http://purl.org/dc/elements/1.1/}creator")
    assert creators[1].text == "Dénes Berta (ELTE), Alan Turing"


_RENDER_IN_A_PROCESS = """
import hashlib
from tests.render.test_feeds import META, _papers
from core.render.feeds import render
feeds = b"".join(render(fmt, META, _papers()) for fmt in ("xml", "atom", "json"))
print(hashlib.sha256(feeds).hexdigest())
"""


def test_every_process_renders_the_same_feed_to_the_same_bytes() -> None:
    """A feed's bytes, so its ETag, must not depend on the process that made it (Vercel
    runs many): feedgen's set of skip days came out in each process's hash order."""
    digests = {
        subprocess.run(
            [sys.executable, "-c", _RENDER_IN_A_PROCESS],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(4)
    }
    assert len(digests) == 1


def test_json_feed_1_1() -> None:
    document = json.loads(render("json", META, _papers()))
    assert document["version"] == JSON_FEED_VERSION
    assert document["feed_url"] == META.self_url
    item = document["items"][1]
    assert item["id"] == "https://arxiv.org/abs/2411.00002"
    assert "&lt;script&gt;" in item["content_html"]
    assert item["authors"] == [{"name": "Dénes Berta (ELTE)"}, {"name": "Alan Turing"}]
    assert document["items"][0]["_arxiv"]["score"] == 4.5


@pytest.mark.parametrize("fmt", ["xml", "atom", "json"])
def test_empty_feed_is_valid_and_says_how_to_refresh(fmt: str) -> None:
    feed = render_feed(fmt, META, [])  # type: ignore[arg-type]
    assert feed.media_type == MEDIA_TYPES[fmt]
    text = feed.body.decode()
    assert "arxiv-feeds refresh" in text
    if fmt != "json":
        assert not feedparser.parse(feed.body).bozo


def test_etag_follows_content() -> None:
    a = render_feed("xml", META, _papers())
    b = render_feed("xml", META, _papers())
    c = render_feed("xml", META, _papers()[:1])
    assert a.etag == b.etag != c.etag


def test_digest_lists_statistics_then_ranked_papers() -> None:
    papers = _papers()
    text = render_digest(papers, papers[0].day, ["cs.LG", "cs.AI"], META.updated, limit=1)
    assert text.startswith("# arXiv digest for 2024-11-28")
    assert "- Papers: 2 (2 new)" in text
    assert "cs.LG (2), cs.AI (1)" in text
    assert "## 1. [Top paper](https://arxiv.org/abs/2411.00001)" in text
    assert "## 2." not in text


def test_a_feed_in_another_language_never_shows_a_summary_in_the_first() -> None:
    """`?lang=zh` shows Chinese summaries only: a paper without one shows its abstract alone,
    never the English summary under Chinese labels. The first language shows any summary."""
    paper = with_summary(make_paper(abstract="The abstract."), "An English summary.")
    chinese = item_html(paper, "zh")
    assert "An English summary." not in chinese and "The abstract." in chinese
    assert "An English summary." in item_html(paper, None)


def _scored(arxiv_id: str, total: float, categories: tuple[str, ...], day: int) -> Paper:
    paper = make_paper(
        arxiv_id,
        title=f"Paper {arxiv_id}",
        categories=categories,
        announced=datetime(2024, 11, day, 5, tzinfo=UTC),
    )
    hit = Hit(rule="LLM", field="title", matched="LLM", points=total)
    return paper.model_copy(update={"score": Score(total=total, hits=[hit] if total else [])})


def test_every_feed_dates_a_paper_alike_and_in_its_ranked_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each paper's item is made once per format and reused by every feed listing it, so it
    must carry the same date everywhere, and dates must fall in each feed's order (readers
    that sort by date keep the ranking)."""
    from core.config import Settings
    from core.render.configured import render_all

    papers = [  # in no feed's order: days mixed, a vetoed-like zero before a 3
        _scored("2411.00005", 7.0, ("cs.LG", "cs.CL"), 27),
        _scored("2411.00001", 9.0, ("cs.LG",), 28),
        _scored("2411.00004", 0.0, ("cs.AI", "cs.LG"), 28),
        _scored("2411.00002", 5.0, ("cs.AI", "cs.LG"), 28),
        _scored("2411.00003", 3.0, ("cs.AI",), 28),
    ]
    made = items_made(monkeypatch)
    rendered = render_all(Settings(), papers, datetime(2024, 11, 28, 6, tzinfo=UTC))
    assert sorted(made) == sorted({*made}), "each paper's item made once per format"
    dates: dict[str, set[tuple[int, ...]]] = {}
    for key, feed in rendered.items():
        if not key.endswith((".xml", ".atom")):
            continue
        entries = feedparser.parse(feed.body).entries
        published = [entry.published_parsed for entry in entries]
        assert published == sorted(published, reverse=True), f"{key}: dates in feed order"
        for entry in entries:
            dates.setdefault(entry.id, set()).add(tuple(entry.published_parsed))
    assert len(dates) == 5 and all(len(found) == 1 for found in dates.values()), dates
