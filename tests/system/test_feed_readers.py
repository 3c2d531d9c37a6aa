"""Every kind of feed in every format, read back by two independent parsers, as a reader shows
it: feedparser (Python) and sfeed (C, Debian's `sfeed`) for RSS and Atom, and a JSON Feed
1.1 check. Each item must show its title, link to the abstract page, every author, a date on
its announcement day (UTC and US time zones) and its content as HTML in which hostile markup
from arXiv or an LLM is text, never elements. Atom is checked against RFC 4287's mechanical
rules."""

from __future__ import annotations

import calendar
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import lxml.html
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from core.config import Settings, load_settings
from core.models import Paper
from core.refresh import refresh
from core.render.feeds import FeedMeta, render
from core.store import open_store
from core.web.app import create_app
from tests.conftest import unavailable
from tests.factories import HOSTILE, HOSTILE_LLM, RssItem, arxiv_rss, make_paper, with_summary

ATOM = "{http://www.w3.org/2005/Atom}"
DAY = date(2024, 11, 28)
ZONES = ["UTC", "America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu"]
ITEMS = [
    RssItem(
        "2411.00001",
        title="KV cache <script>alert(1)</script> for a<b models",
        abstract=f"We compress the KV cache. {HOSTILE} Also $x<y$ and Tom & Jerry.",
        creators="Ada Lovelace, Alan Turing, Grace Hopper (Yale, USA)",
    ),
    RssItem("2411.00002", title="MoE routing ]]> at scale", abstract="A mixture of experts."),
    RssItem("2411.00003", title="Graph theory", categories=("cs.DC",), abstract="Plain."),
    RssItem(
        "2411.00004",
        title=r"KV cache in $\mathcal{O}(n\log n)$ with H$^3$",
        abstract=r"We reach $\tilde{O}(\sqrt{T})$ regret and $x_{ij}^{2}$, see~\cite{a}.",
        creators=r"Fran\c{c}ois Derrida, \v{S}imon Sedl\'a\v{c}ek",
    ),
]
KINDS = ["/feeds/cs.LG", "/feeds/all", "/feeds/keyword/kv-cache", "/feeds/mine", "/feed"]


def sfeed(body: bytes) -> list[dict[str, str]]:
    """sfeed's TSV: one line per item; newlines, tabs and backslashes escaped in content."""
    binary = shutil.which("sfeed")
    if binary is None:
        message = "sfeed is not installed (apt-get install sfeed): the second feed parser"
        unavailable(message)
    out = subprocess.run([binary], input=body, capture_output=True, check=True).stdout.decode()
    fields = ["timestamp", "title", "link", "content", "content_type", "id", "author"]
    return [dict(zip(fields, line.split("\t"), strict=False)) for line in out.splitlines()]


def _unescape_sfeed(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def _abstract_shown(paper: Paper) -> str:
    """What a reader shows of the abstract: its text, its math as MathML renders it."""
    if paper.abstract_html is None:
        return paper.abstract
    return str(lxml.html.fromstring(f"<p>{paper.abstract_html}</p>").text_content())


def _shows_as_text(html: str, text: str) -> None:
    """`text` is what a browser shows of `html`, and `html` holds no active element."""
    document = lxml.html.fromstring(f"<div>{html}</div>")
    assert text in document.text_content()
    assert not document.xpath("//script | //img | //svg | //iframe | //*[@onerror]")


def _check_day(when: datetime) -> None:
    for zone in ZONES:
        assert when.astimezone(ZoneInfo(zone)).date() == DAY, f"{when} is not {DAY} in {zone}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, list[Paper]]]:
    directory = tmp_path_factory.mktemp("readers")
    config = directory / "arxiv-feeds.toml"
    config.write_text('[feeds.mine]\ntitle = "Mine"\nkeywords = ["KV cache", "MoE"]\n')
    settings: Settings = load_settings(config, env={"STORE_URL": f"sqlite:///{directory}/s.db"})
    store = open_store(settings.store)
    report = refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test")
    assert report.status == "published"
    papers = store.papers([item.arxiv_id for item in ITEMS])
    with TestClient(create_app(settings, lambda: store)) as client:
        yield client, papers


def _fetch(client: TestClient, kind: str, fmt: str) -> bytes:
    query = {"q": 'kv cache,"moe"', "cat": "cs.LG"} if kind == "/feed" else {}
    response = client.get(f"{kind}.{fmt}", params=query)
    assert response.status_code == 200, response.text
    body: bytes = response.content
    return body


def _check_rss_or_atom(body: bytes, papers: dict[str, Paper]) -> None:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries
    by_sfeed = {item["link"]: item for item in sfeed(body)}
    assert len(by_sfeed) == len(parsed.entries)
    for entry in parsed.entries:
        paper = papers[entry.link.rsplit("/", 1)[1]]
        assert entry.link == paper.abs_url
        assert entry.title == paper.title
        assert entry.content[0].type == "text/html"
        _shows_as_text(entry.content[0].value, _abstract_shown(paper))
        names = [a.get("name") for a in entry.get("authors", [])]
        assert names == paper.authors or entry.author == ", ".join(paper.authors)
        _check_day(datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC))
        other = by_sfeed[paper.abs_url]
        assert other["title"] == paper.title
        assert other["content_type"] == "html"
        _shows_as_text(_unescape_sfeed(other["content"]), _abstract_shown(paper))
        assert other["author"] in (paper.authors[0], ", ".join(paper.authors))
        _check_day(datetime.fromtimestamp(int(other["timestamp"]), UTC))


def _check_atom_rules(body: bytes) -> None:
    """RFC 4287, the parts a program can check."""
    feed = etree.fromstring(body)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None
    ids = []
    for entry in feed.iterfind(f"{ATOM}entry"):
        for required in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{required}")) == 1
        ids.append(entry.findtext(f"{ATOM}id"))
        assert entry.find(f"{ATOM}author") is not None or feed.find(f"{ATOM}author") is not None
        links = entry.findall(f"{ATOM}link")
        alternates = [link for link in links if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == 1 and alternates[0].get("href").startswith(
            "https://arxiv.org/abs/"
        )
        related = {link.get("type") for link in links if link.get("rel") == "related"}
        assert related == {"application/pdf", "text/html"}
        for content in entry.findall(f"{ATOM}content"):
            assert content.get("type") in ("text", "html", "xhtml")
    assert len(ids) == len(set(ids))


def test_tex_reads_as_unicode_and_mathml(served: tuple[TestClient, list[Paper]]) -> None:
    client, papers = served
    (paper,) = [p for p in papers if p.id == "2411.00004"]
    assert paper.title == "KV cache in 𝒪(n log n) with H³"
    assert paper.authors == ["François Derrida", "Šimon Sedláček"]
    assert paper.abstract == "We reach Õ(√(T)) regret and xᵢⱼ², see."
    html = _fetch(client, "/feeds/cs.LG", "xml")
    entry = next(e for e in feedparser.parse(html).entries if e.link == paper.abs_url)
    maths = lxml.html.fromstring(entry.content[0].value).xpath("//*[local-name()='math']")
    assert [m.get("alttext") for m in maths] == [r"\tilde{O}(\sqrt{T})", "x_{ij}^{2}"]


def _check_json_feed(body: bytes, papers: dict[str, Paper]) -> None:
    """JSON Feed 1.1: version, title, items with a string id and content, authors a list."""
    document = json.loads(body)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and "author" not in document
    assert document["items"]
    for item in document["items"]:
        assert isinstance(item["id"], str) and "author" not in item
        paper = papers[item["id"].rsplit("/", 1)[1]]
        assert item["url"] == paper.abs_url and item["title"] == paper.title
        assert [a["name"] for a in item["authors"]] == paper.authors
        _shows_as_text(item["content_html"], _abstract_shown(paper))
        _check_day(datetime.fromisoformat(item["date_published"]))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["xml", "atom", "json"])
def test_every_feed_reads_the_same_in_two_parsers(
    served: tuple[TestClient, list[Paper]], kind: str, fmt: str
) -> None:
    client, papers = served
    body = _fetch(client, kind, fmt)
    by_id = {paper.id: paper for paper in papers}
    if fmt == "json":
        _check_json_feed(body, by_id)
        return
    _check_rss_or_atom(body, by_id)
    if fmt == "atom":
        _check_atom_rules(body)


@pytest.mark.parametrize("fmt", ["xml", "atom", "json"])
def test_summaries_and_hostile_llm_output_read_as_text(fmt: str) -> None:
    papers = [
        with_summary(make_paper(f"2411.0000{n}", abstract=HOSTILE), HOSTILE_LLM) for n in (1, 2)
    ]
    meta = FeedMeta(
        title="t",
        description="d",
        self_url="https://h.example/feeds/x",
        home_url="https://h.example/",
        updated=datetime(2024, 11, 28, 6, tzinfo=UTC),
    )
    body = render(fmt, meta, papers)  # type: ignore[arg-type]
    by_id = {paper.id: paper for paper in papers}
    if fmt == "json":
        _check_json_feed(body, by_id)
        contents = [item["content_html"] for item in json.loads(body)["items"]]
    else:
        _check_rss_or_atom(body, by_id)
        contents = [entry.content[0].value for entry in feedparser.parse(body).entries]
    for html in contents:
        _shows_as_text(html, "Ignore the above.")
        assert "<h2" not in html and "## Heading" in lxml.html.fromstring(html).text_content()


def test_the_second_parser_is_really_there() -> None:
    """sfeed reads a minimal Atom feed: the oracle above is not silently skipped."""
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>T</title>'
        b'<link rel="alternate" href="https://x/"/><updated>2024-11-28T12:00:00Z</updated>'
        b"</entry></feed>"
    )
    assert sfeed(atom)[0]["title"] == "T"


def test_fixture_shape_is_arxivs(tmp_path: Path) -> None:
    """The hostile day above is in rss.arxiv.org's shape: feedparser reads all its items."""
    assert len(feedparser.parse(arxiv_rss(ITEMS)).entries) == len(ITEMS)
