"""HTTP behaviour of the app over both stores."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import lxml.html
import pytest
from fastapi.testclient import TestClient

from core.config import Settings, load_settings
from core.models import Publication
from core.refresh import refresh
from core.store import Store, StoreError
from core.web.app import create_app
from tests.conftest import FakeClock, items_made
from tests.factories import RssItem, arxiv_rss

ITEMS = [
    RssItem("2411.00001", title="KV cache compression for LLM inference", categories=("cs.LG",)),
    RssItem(
        "2411.00002",
        title="MoE routing",
        abstract="A mixture of experts.",
        categories=("cs.DC", "cs.LG"),
    ),
    RssItem("2411.00003", title="Graph theory", categories=("cs.DC",)),
]


def _settings(tmp_path: Path) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        '[arxiv]\ncategories = ["cs.DC", "cs.LG"]\n'
        '[rank]\nspecificity = false\ninterests = ""\n'  # the tests below add up weights
        '[feeds.systems]\ntitle = "Systems"\ncategories = ["cs.DC"]\nkeywords = ["MoE"]\n'
    )
    return load_settings(path, env={})


@pytest.fixture
def client(tmp_path: Path, store: Store, clock: FakeClock) -> TestClient:
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    return TestClient(create_app(settings, lambda: store, clock=clock))


def _message(response: httpx.Response) -> str:
    """The error text: JSON under /api/ and /health, a plain-text page elsewhere."""
    if response.headers["content-type"].startswith("application/json"):
        return str(response.json()["error"])
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def _entries(body: bytes) -> list[Any]:
    return list(feedparser.parse(body).entries)


def _ids(body: bytes) -> list[str]:
    return [entry.id.rsplit("/", 1)[1] for entry in feedparser.parse(body).entries]


@pytest.mark.parametrize(
    ("path", "media_type", "ids"),
    [
        ("/feeds/cs.LG.xml", "application/rss+xml", ["2411.00001", "2411.00002"]),
        ("/feeds/cs.DC.atom", "application/atom+xml", ["2411.00002", "2411.00003"]),
        ("/feeds/all.xml", "application/rss+xml", ["2411.00001", "2411.00002"]),
        ("/feeds/keyword/moe.xml", "application/rss+xml", ["2411.00002"]),
        ("/feeds/k/kv-cache.xml", "application/rss+xml", ["2411.00001"]),
        ("/feeds/systems.atom", "application/atom+xml", ["2411.00002"]),
    ],
)
def test_configured_feeds(client: TestClient, path: str, media_type: str, ids: list[str]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert _ids(response.content) == ids
    assert "s-maxage" in response.headers["cache-control"]


def test_json_feed_route(client: TestClient) -> None:
    response = client.get("/feeds/cs.LG.json")
    assert response.headers["content-type"].startswith("application/feed+json")
    assert [i["id"][-10:] for i in response.json()["items"]] == ["2411.00001", "2411.00002"]


def test_conditional_requests_and_head(client: TestClient) -> None:
    first = client.get("/feeds/cs.LG.xml")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get("/feeds/cs.LG.xml", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/cs.LG.xml", headers={"If-None-Match": '"other"'}).status_code == 200
    assert (
        client.get("/feeds/cs.LG.xml", headers={"If-Modified-Since": modified}).status_code == 304
    )
    head = client.head("/feeds/cs.LG.xml")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == etag


def test_unknown_feeds_are_404_naming_the_valid_ones(client: TestClient) -> None:
    response = client.get("/feeds/cs.XX.xml")
    assert response.status_code == 404
    assert "cs.DC, cs.LG" in _message(response)
    assert "systems" in _message(response)
    assert client.get("/feeds/keyword/nope.xml").status_code == 404
    assert client.get("/feeds/cs.LG.html").status_code == 404
    assert client.get("/feed.html").status_code == 404


def test_an_item_returned_by_another_query_is_not_rendered_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = items_made(monkeypatch)
    first = client.get("/feed.xml", params={"cat": "cs.DC"})
    assert sorted(made) == ["xml:2411.00002", "xml:2411.00003"]
    second = client.get("/feed.xml", params={"cat": "cs.LG,cs.DC"})
    assert sorted(made) == ["xml:2411.00001", "xml:2411.00002", "xml:2411.00003"], (
        "only the new one"
    )
    assert sorted(_ids(second.content)) == ["2411.00001", "2411.00002", "2411.00003"]
    dates = {e.id: e.published for body in (first, second) for e in _entries(body.content)}
    assert len(dates) == 3, "a paper kept its date from one query to the next"


def test_a_feed_of_kept_items_reads_no_paper_from_the_store(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/api/count").status_code == 200  # the day's index is built
    read: list[str] = []
    papers = store.papers

    def counted(ids: list[str]) -> list[Any]:
        read.extend(ids)
        return papers(ids)

    monkeypatch.setattr(store, "papers", counted)
    first = client.get("/feed.atom", params={"cat": "cs.DC"})
    assert sorted(read) == ["2411.00002", "2411.00003"]
    again = client.get("/feed.atom", params={"cat": "cs.DC"})
    assert sorted(read) == ["2411.00002", "2411.00003"], "nothing read again"
    assert again.content == first.content
    client.get("/feed.atom", params={"cat": "cs.LG,cs.DC"})
    assert sorted(read) == ["2411.00001", "2411.00002", "2411.00003"], "only the new paper"


def test_an_item_kept_from_before_a_refresh_is_not_served_after_it(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    client = TestClient(create_app(settings, lambda: store, clock=clock))
    assert "Graph theory" in client.get("/feed.xml", params={"cat": "cs.DC"}).text
    (paper,) = store.papers(["2411.00003"])
    report = store.last_report()
    assert report is not None
    store.publish(
        Publication(
            papers=[paper.model_copy(update={"title": "Graph theory, revised"})],
            days={paper.day: store.day_index()[paper.day]},
            report=report.model_copy(update={"started": report.started + timedelta(hours=1)}),
        )
    )
    assert "Graph theory, revised" in client.get("/feed.xml", params={"cat": "cs.DC"}).text


def test_items_scored_by_a_query_s_own_terms_show_that_query_s_reasons(
    client: TestClient,
) -> None:
    """Two queries give "Graph theory" the same points for different words: each feed says
    which of its own words matched."""
    totals = set()
    for term in ("graph", "theory"):
        body = client.get("/feed.json", params={"q": term, "cat": "cs.DC"}).json()
        (item,) = body["items"]
        assert [hit["rule"] for hit in item["_arxiv"]["matched"]] == [term]
        assert f"{term} (title +1.5)" in item["content_html"]
        totals.add(item["_arxiv"]["score"])
    assert len(totals) == 1, "the same points, for different words"


def test_ad_hoc_feed_filters_and_scores_query_terms(client: TestClient) -> None:
    response = client.get("/feed.xml", params={"cat": "cs.DC", "q": 'experts,"graph theory"'})
    assert response.status_code == 200
    assert _ids(response.content) == ["2411.00002", "2411.00003"]  # MoE 1.5 + experts 1 > 1.5
    assert _ids(client.get("/feed.atom", params={"min_score": "2", "type": "new"}).content) == [
        "2411.00001"
    ]
    assert _ids(client.get("/feed.atom", params={"min_score": "1.5"}).content) == [
        "2411.00001",
        "2411.00002",
    ]
    items = client.get("/feed.json", params={"limit": "1"}).json()["items"]
    assert [item["_arxiv"]["id"] for item in items] == ["2411.00001"]


@pytest.mark.parametrize("path", ["/feed.xml", "/api/papers", "/api/count"])
def test_a_query_that_would_score_too_many_papers_is_a_422_saying_how_to_narrow_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr("core.query.search.MAX_SCORED_PAPERS", 1)  # the test day is small
    response = client.get(path, params={"q": "graphs,experts", "days": "1"})
    assert response.status_code == 422
    assert "one request scores at most 1. Use more specific terms" in _message(response)
    assert client.get(path, params={"q": "nothing-matches-this"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"min_score": "abc"}, "min_score"),
        ({"min_score": "5000"}, "min_score"),
        ({"limit": "0"}, "limit"),
        ({"days": "999"}, "days"),
        ({"type": "bogus"}, "unknown announce type 'bogus'"),
        ({"cat": "cs.XX"}, "no paper of the last 3 days is in cs.XX; followed here: cs.DC, cs.LG"),
        ({"q": ",".join(f"t{n}" for n in range(30))}, "at most 20 terms"),
        ({"q": "x" * 2000}, "q"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_are_422_with_a_message(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    for path in ("/feed.xml", "/api/papers"):
        response = client.get(path, params=params)
        assert response.status_code == 422
        assert message in _message(response)


def test_api_papers(client: TestClient) -> None:
    body = client.get("/api/papers", params={"q": "moe"}).json()
    assert body["count"] == 1
    paper = body["papers"][0]
    assert paper["id"] == "2411.00002"
    assert paper["pdf_url"] == "https://arxiv.org/pdf/2411.00002v1"
    rules = [hit["rule"] for hit in paper["score"]["hits"]]
    assert rules.count("MoE") == 1 and "moe" not in rules, "a configured keyword counts once"


def test_health_and_home(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["likes"] == "by shared words (rank.embeddings is off)"
    assert health["meaning"] == "on: similarity to your keywords, weight 1, offline model"
    assert health["store"]["reachable"] is True
    assert health["last_refresh"]["status"] == "published"
    assert health["days"] == ["2024-11-28"]
    assert health["papers"] == 3
    home = client.get("/")
    assert home.status_code == 200
    assert "/feeds/cs.LG.xml" in home.text
    assert "/feeds/systems.atom" in home.text


def test_empty_store_serves_valid_empty_feeds(tmp_path: Path, sqlite_store: Store) -> None:
    client = TestClient(create_app(_settings(tmp_path), lambda: sqlite_store))
    response = client.get("/feeds/cs.LG.xml")
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    assert parsed.entries == []
    assert "arxiv-feeds refresh" in parsed.feed.description
    assert "No papers yet" in client.get("/").text


def test_unreachable_store_is_503_not_a_traceback(tmp_path: Path) -> None:
    def broken() -> Store:
        raise StoreError("Redis: Connection refused")

    client = TestClient(create_app(_settings(tmp_path), broken), raise_server_exceptions=False)
    for path in ("/feeds/cs.LG.xml", "/health", "/api/papers"):
        response = client.get(path)
        assert response.status_code == 503
        assert "the store is unavailable" in _message(response)
        assert "Connection refused" not in response.text, "details go to the logs, not the web"


@pytest.mark.parametrize(("query", "keyword_feeds"), [("", 0), ("?keywords=1", 29)])
def test_opml_lists_the_configured_feeds_and_keyword_feeds_on_request(
    client: TestClient, query: str, keyword_feeds: int
) -> None:
    from lxml import etree

    response = client.get(f"/opml{query}")
    assert response.headers["content-type"].startswith("text/x-opml")
    root = etree.fromstring(response.content)
    urls = {o.get("xmlUrl") for o in root.iter("outline") if o.get("type") == "rss"}
    base = "http://testserver/feeds/"  # the address the request reached
    assert {f"{base}cs.DC.xml", f"{base}cs.LG.xml", f"{base}all.xml", f"{base}systems.xml"} <= urls
    assert (f"{base}keyword/kv-cache.xml" in urls) is bool(keyword_feeds)
    assert len(urls) == 2 + 1 + 1 + keyword_feeds


def test_opml_keeps_the_rules_the_w3c_validator_checks(client: TestClient) -> None:
    """OPML 2.0 as feedvalidator.org reads it: an outline with more than a text attribute
    has a type; an rss outline has xmlUrl; dateCreated is an RFC 822 date."""
    from email.utils import parsedate_to_datetime

    from lxml import etree

    root = etree.fromstring(client.get("/opml?keywords=1").content)
    assert root.get("version") == "2.0"
    assert parsedate_to_datetime(root.findtext("head/dateCreated")).tzinfo is not None
    outlines = list(root.iter("outline"))
    assert outlines and all(o.get("text") for o in outlines)
    for outline in outlines:
        if set(outline.attrib) != {"text"}:
            assert outline.get("type") == "rss" and outline.get("xmlUrl"), outline.attrib
    assert client.get("/opml?keywords=yes").status_code == 422


def test_errors_are_json_for_the_api_and_plain_elsewhere(client: TestClient) -> None:
    api = client.get("/api/nope")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    page = client.get("/nope")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/plain")
    assert "see / for the feeds" in page.text
    assert "Traceback" not in page.text


def test_unexpected_errors_never_show_a_traceback(tmp_path: Path, sqlite_store: Store) -> None:
    class Exploding:
        def __getattr__(self, name: str) -> object:
            raise RuntimeError("secret internals")

    app = create_app(_settings(tmp_path), lambda: Exploding())  # type: ignore[arg-type,return-value]
    client = TestClient(app, raise_server_exceptions=False)
    for path, kind in (("/feeds/cs.LG.xml", "text/plain"), ("/api/papers", "application/json")):
        response = client.get(path)
        assert response.status_code == 500
        assert response.headers["content-type"].startswith(kind)
        assert "secret internals" not in response.text and "Traceback" not in response.text


def test_count_api(client: TestClient) -> None:
    assert client.get("/api/count", params={"q": "moe"}).json() == {"count": 1}
    assert client.get("/api/count").json() == {"count": 3}
    assert client.get("/api/count", params={"min_score": "x"}).status_code == 422


def test_landing_page_shows_todays_ranked_papers_and_builds_feeds(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "Last update:" in html and "Papers found:</b> 3 (announced 2024-11-28)" in html
    assert "cs.DC (2), cs.LG (2)" in html
    assert html.index("KV cache compression for LLM inference") < html.index("MoE routing")
    assert "Graph theory" not in html.split('id="papers"')[1]  # below the minimum score
    assert 'href="/opml"' in html and "/feeds/systems.xml" in html
    assert "<script" in html and "src=" not in html.split("<script")[1].split(">")[0]  # inline only
    # Without JavaScript the builder is a GET form the server answers.
    built = client.get("/", params=[("cat", "cs.DC"), ("kw", "MoE"), ("fmt", "atom")]).text
    url = "http://testserver/feed.atom?cat=cs.DC&amp;q=MoE"
    assert f'<a href="{url}">' in built
    assert 'It would hold now:</b> <output id="feed-count">1 paper<' in built
    feed = client.get("/feed.atom", params={"cat": "cs.DC", "q": "MoE"})
    assert [e.id[-10:] for e in feedparser.parse(feed.content).entries] == ["2411.00002"]


def test_landing_page_escapes_paper_text(
    tmp_path: Path, sqlite_store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    hostile = [
        RssItem("2411.00009", title="LLM <img src=x onerror=alert(1)>", categories=("cs.LG",))
    ]
    refresh(settings, sqlite_store, lambda: arxiv_rss(hostile), source="t", clock=clock)
    html = TestClient(create_app(settings, lambda: sqlite_store)).get("/").text
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_health_turns_stale_after_four_days_without_a_new_day(
    tmp_path: Path, sqlite_store: Store, clock: FakeClock
) -> None:
    """A monitor alerts on any answer but 200: stale and unreachable are 503."""
    settings = _settings(tmp_path)
    client = TestClient(create_app(settings, lambda: sqlite_store, clock=clock))
    never = client.get("/health")
    assert (never.status_code, never.json()["status"]) == (503, "stale")
    refresh(settings, sqlite_store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    clock.now += 3 * 86400  # a long weekend
    fresh = client.get("/health")
    assert (fresh.status_code, fresh.json()["status"]) == (200, "ok")
    clock.now += 2 * 86400
    stale = client.get("/health")
    assert (stale.status_code, stale.json()["status"]) == (503, "stale")


def test_an_ad_hoc_query_of_configured_keywords_scores_as_the_stored_feeds(
    client: TestClient,
) -> None:
    stored = {p["id"]: p["score"]["total"] for p in client.get("/api/papers").json()["papers"]}
    queried = client.get("/api/papers", params={"q": 'MoE,"kv CACHE",moe'}).json()["papers"]
    assert queried
    assert all(paper["score"]["total"] == stored[paper["id"]] for paper in queried)
    theory = client.get("/api/papers", params={"q": "theory"}).json()["papers"]
    assert [p["id"] for p in theory] == ["2411.00003"]
    assert theory[0]["score"]["total"] > stored["2411.00003"], "a new term still adds its points"


def test_an_empty_store_dates_its_feeds_now(
    tmp_path: Path, sqlite_store: Store, clock: FakeClock
) -> None:
    client = TestClient(create_app(_settings(tmp_path), lambda: sqlite_store, clock=clock))
    response = client.get("/feeds/cs.LG.xml")
    modified = parsedate_to_datetime(response.headers["last-modified"])
    assert modified.timestamp() == int(clock.now)


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
@pytest.mark.parametrize("path", ["/feeds/cs.LG.xml", "/feeds/all.json", "/feed.xml?q=moe", "/"])
def test_one_vary_header_naming_accept_encoding_once(
    client: TestClient, path: str, encoding: str
) -> None:
    response = client.get(path, headers={"Accept-Encoding": encoding})
    assert response.headers.get_list("vary") == ["Accept-Encoding"]


def test_opml_outlines_are_typed_rss(client: TestClient) -> None:
    from lxml import etree

    root = etree.fromstring(client.get("/opml").content)
    feeds = [o for o in root.iter("outline") if o.get("xmlUrl")]
    assert feeds and all(o.get("type") == "rss" for o in feeds)


@pytest.mark.parametrize("name", ["q", "cat", "type"])
@pytest.mark.parametrize("path", ["/feed.xml", "/api/papers", "/api/count", "/"])
@pytest.mark.parametrize("character", ["\r", "\n", "\x00", "\t"])
def test_control_characters_in_parameters_are_a_clear_422(
    client: TestClient, name: str, path: str, character: str
) -> None:
    response = client.get(path, params={name: f"moe{character}x"})
    if path == "/":
        assert response.status_code == 200, "the page still renders, without a count"
        return
    assert response.status_code == 422
    assert "control characters" in response.text


def test_ad_hoc_days_reach_back_exactly_that_many_announcement_days(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=clock)
    later = [RssItem("2411.00009", title="KV cache, a day later", categories=("cs.LG",))]
    refresh(settings, store, lambda: arxiv_rss(later, "Fri, 29 Nov 2024"), source="t", clock=clock)
    client = TestClient(create_app(settings, lambda: store, clock=clock))
    for days, expected in ((1, ["2411.00009"]), (2, ["2411.00009", "2411.00001"])):
        query = {"q": "kv cache", "days": days}
        assert _ids(client.get("/feed.xml", params=query).content) == expected
        papers = client.get("/api/papers", params=query).json()["papers"]
        assert [paper["id"] for paper in papers] == expected
        assert client.get("/api/count", params=query).json()["count"] == len(expected)


def test_an_ad_hoc_term_is_weighed_as_a_configured_keyword_would_be(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """Same word rules, same specificity: `q=serving` scores what `serving` as a configured
    keyword scores, and says so in the same words."""
    path = tmp_path / "config.toml"
    path.write_text('[arxiv]\ncategories = ["cs.LG"]\n[rank]\ninterests = ""\nmeaning_weight = 0\n')
    items = [RssItem(f"2411.000{n:02}", title=f"Paper {n} on graphs") for n in range(10)]
    items += [RssItem("2411.00099", title="LLM serving", abstract="We serve models.")]
    refresh(load_settings(path, env={}), store, lambda: arxiv_rss(items), source="t", clock=clock)
    client = TestClient(create_app(load_settings(path, env={}), lambda: store, clock=clock))
    queried = client.get("/api/papers", params={"q": "serving"}).json()["papers"]
    rules = 'keywords = ["LLM", "serving"]\nmeaning_weight = 0\n'
    path.write_text(f'[arxiv]\ncategories = ["cs.LG"]\n[rank]\n{rules}')
    configured = load_settings(path, env={})
    refresh(configured, store, lambda: arxiv_rss(items), source="t", clock=clock)
    stored = TestClient(create_app(configured, lambda: store, clock=clock))
    expected = stored.get("/api/papers").json()["papers"][0]
    assert [p["id"] for p in queried] == [expected["id"]] == ["2411.00099"]
    assert queried[0]["score"] == expected["score"]
    assert "in 1 of 11 papers" in queried[0]["explanation"]


def test_an_ad_hoc_query_sees_a_day_published_again_with_other_content(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """The per-day index a process keeps is rebuilt when its day is published again."""
    settings = _settings(tmp_path)
    client = TestClient(create_app(settings, lambda: store, clock=clock))
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=clock)
    assert client.get("/api/count", params={"q": "hypergraphs"}).json() == {"count": 0}
    revised = [*ITEMS[:2], RssItem("2411.00003", title="Graph theory", abstract="On hypergraphs.")]
    clock.now += 3600  # the second cron
    refresh(settings, store, lambda: arxiv_rss(revised), source="t", clock=clock)
    assert client.get("/api/count", params={"q": "hypergraphs"}).json() == {"count": 1}


@pytest.mark.parametrize(
    "path",
    ["/feeds/cs.LG.xml", "/feed.json?q=moe", "/api/papers", "/health", "/opml", "/", "/nope"],
)
def test_every_answer_forbids_sniffing_and_keeps_its_url_to_itself(
    client: TestClient, path: str
) -> None:
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_the_landing_page_runs_only_its_own_script_and_style_and_is_never_framed(
    client: TestClient,
) -> None:
    """The policy's hashes are checked against the page as served (the browser test runs
    the page under it in Chromium)."""
    response = client.get("/")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    page = lxml.html.fromstring(response.content)
    for kind in ("script", "style"):
        blocks = [element.text for element in page.iter(kind)]
        assert blocks
        assert policy[f"{kind}-src"].split() == [f"'sha256-{_digest(text)}'" for text in blocks]
    assert not page.xpath("//@style | //@*[starts-with(name(), 'on')]"), "no inline attribute"


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/feeds/cs.LG.xml", "GET, HEAD"),
        ("DELETE", "/api/papers", "GET"),
        ("PUT", "/api/refresh", "GET, POST"),
    ],
)
def test_a_method_not_allowed_says_which_are(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == sorted(allowed.split(", "))


def test_a_feeds_description_dates_its_update_as_its_build_date_does(client: TestClient) -> None:
    """arXiv's day starts at midnight US Eastern: 05:00 UTC, said so in both places."""
    channel = feedparser.parse(client.get("/feeds/cs.LG.xml").content).feed
    built = parsedate_to_datetime(channel.updated).astimezone(UTC)
    assert f"Updated {built:%Y-%m-%d %H:%M} UTC;" in channel.description
    assert built.hour == 5


def _built(html: str) -> tuple[str, int]:
    """The builder's URL and the count it says that feed holds, as the page shows them."""
    page = lxml.html.fromstring(html)
    url = page.get_element_by_id("feed-url").text_content().strip()
    count = page.get_element_by_id("feed-count").text_content().split()[0]
    return url, int(count)


def test_the_builder_counts_what_the_feed_it_builds_holds(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """Vetoed papers, the default days and the limit included: every count on the page is the
    number of items its feed holds."""
    settings = _settings(tmp_path)
    items = [*ITEMS, RssItem("2411.00004", title="A survey of MoE", categories=("cs.LG",))]
    refresh(settings, store, lambda: arxiv_rss(items), source="test", clock=clock)
    client = TestClient(create_app(settings, lambda: store, clock=clock))
    page = client.get("/").text
    assert "Papers found:</b> 4 (announced 2024-11-28); 1 excluded by your rules" in page
    assert "cs.DC (2), cs.LG (2)" in page, "the vetoed survey is in no ad-hoc feed"
    for params in ([], [("cat", "cs.LG")], [("limit", "1")], [("kw", "MoE"), ("days", "1")]):
        url, count = _built(client.get("/", params=params).text)
        entries = feedparser.parse(client.get(url.removeprefix("http://testserver")).content)
        assert len(entries.entries) == count, (params, url)
    lg_url, lg_count = _built(client.get("/", params=[("cat", "cs.LG")]).text)
    assert lg_count == 2 and "days=" not in lg_url and "limit=" not in lg_url


def test_the_builder_offers_only_the_announce_types_this_deployment_keeps(
    client: TestClient,
) -> None:
    page = lxml.html.fromstring(client.get("/").content)
    offered = [box.get("value") for box in page.xpath("//input[@name='type']")]
    assert offered == ["new", "cross"]


def test_the_openapi_schema_is_valid_and_states_every_parameter_and_answer(
    client: TestClient,
) -> None:
    """Read by an independent validator (openapi-spec-validator), then checked for what
    generated clients and fuzzers need: each ad-hoc parameter with its bounds, and the
    answers other than 200."""
    from openapi_spec_validator import validate

    schema = client.get("/api/openapi.json").json()
    validate(schema)
    paths = schema["paths"]
    for path in ("/feed.{fmt}", "/api/papers", "/api/count"):
        parameters = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert {"cat", "q", "min_score", "type", "days", "limit"} <= set(parameters), path
        assert parameters["limit"]["schema"] == {
            "default": 200,
            "maximum": 2000,
            "minimum": 1,
            "type": "integer",
        }
        assert {"422", "503"} <= set(paths[path]["get"]["responses"]), path
    for path in ("/feed.{fmt}", "/feeds/{filename}", "/feeds/k/{filename}"):
        assert {"200", "304", "404", "422", "503"} <= set(paths[path]["get"]["responses"]), path
    assert {"401", "409", "503"} <= set(paths["/api/refresh"]["get"]["responses"])


def test_the_api_docs_page_loads_swagger_ui_and_runs_only_its_own_script(
    client: TestClient,
) -> None:
    """The page the README points to: its CDN script and stylesheet allowed, its one inline
    script by hash, never framed (a default HTML policy would leave it blank)."""
    response = client.get("/api/docs")
    assert response.status_code == 200 and "swagger-ui-bundle.js" in response.text
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    page = lxml.html.fromstring(response.content)
    inline = [s.text for s in page.iter("script") if not s.get("src")]
    assert policy["script-src"].split() == [
        "https://cdn.jsdelivr.net",
        *(f"'sha256-{_digest(text)}'" for text in inline),
    ]
    assert policy["frame-ancestors"] == "'none'"
    assert client.get("/api/openapi.json").status_code == 200
