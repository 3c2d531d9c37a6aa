"""Feedback from inside the reader: signed links in every item, a page that asks, a POST that
records, the next refresh that uses it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import feedparser
import lxml.html
import pytest
from fastapi.testclient import TestClient

from core.config import Settings, load_settings
from core.refresh import refresh
from core.store import Store
from core.web.feed_cache import TTL_SECONDS
from tests.conftest import FakeClock
from tests.factories import KNOTS, NEXT_DAY, NEXT_DAY_ITEMS, SERVING, RssItem, arxiv_rss

ITEMS = [SERVING, RssItem("2411.00002", title="Serving with paged memory and batching"), KNOTS]


@pytest.fixture
def served(tmp_path: Path, store: Store, clock: FakeClock) -> tuple[TestClient, Store, Settings]:
    path = tmp_path / "config.toml"
    path.write_text('[arxiv]\ncategories = ["cs.LG"]\n[rank]\nkeywords = ["topology"]\n')
    settings = load_settings(path, env={})
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=clock)
    from core.web.app import create_app

    return TestClient(create_app(settings, lambda: store, clock=clock)), store, settings


def _links(client: TestClient, path: str) -> dict[tuple[str, str], str]:
    """(paper id, label) -> href of every feedback link in a feed's items."""
    body = client.get(path).content
    if path.endswith(".json") or "feed.json" in path:
        contents = [item["content_html"] for item in json.loads(body)["items"]]
    else:
        contents = [entry.content[0].value for entry in feedparser.parse(body).entries]
    links = {}
    for html in contents:
        for anchor in lxml.html.fromstring(f"<div>{html}</div>").iter("a"):
            href = anchor.get("href", "")
            if "/feedback?" in href:
                links[(parse_qs(urlsplit(href).query)["id"][0], anchor.text_content())] = href
    return links


@pytest.mark.parametrize(
    "path", ["/feeds/cs.LG.xml", "/feeds/cs.LG.atom", "/feeds/cs.LG.json", "/feed.xml?q=paged"]
)
def test_every_item_carries_signed_more_and_less_links(
    served: tuple[TestClient, Store, Settings], path: str
) -> None:
    client, _, _ = served
    links = _links(client, path)
    ids = {paper_id for paper_id, _ in links}
    assert ids and {label for _, label in links} == {"More like this", "Less like this"}
    for href in links.values():
        assert href.startswith("http://testserver/feedback?"), "on the address readers reach"
        assert client.get(href).status_code == 200


def _confirm_form(client: TestClient, href: str) -> dict[str, str]:
    """The fields of the form the link's page asks to confirm (its cookie kept by `client`)."""
    form = lxml.html.fromstring(client.get(href).content).forms[0]
    return {name: str(value) for name, value in form.fields.items()}


def test_following_a_link_changes_nothing_confirming_records(
    served: tuple[TestClient, Store, Settings],
) -> None:
    client, store, _ = served
    href = _links(client, "/feeds/cs.LG.xml")[("2411.00001", "More like this")]
    page = client.get(href)
    assert page.status_code == 200 and store.likes() == {}, "a prefetch must not record"
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "script-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Paged attention memory for serving" in page.text
    form = lxml.html.fromstring(page.content).forms[0]
    assert form.method == "POST"
    done = client.post(urlsplit(form.action).path, data=dict(form.fields))
    assert done.status_code == 200 and "Recorded" in done.text
    assert store.likes() == {"2411.00001": "like"}


def test_the_next_refresh_ranks_with_the_recorded_opinion(
    served: tuple[TestClient, Store, Settings], clock: FakeClock
) -> None:
    client, store, settings = served
    href = _links(client, "/feeds/cs.LG.xml")[("2411.00001", "More like this")]
    assert client.post("/feedback", data=_confirm_form(client, href)).status_code == 200
    refresh(settings, store, lambda: arxiv_rss([]), source="t", clock=clock)
    clock.now += TTL_SECONDS + 1  # the process serves a feed from memory that long
    item = next(
        entry
        for entry in feedparser.parse(client.get("/feeds/cs.LG.xml").content).entries
        if entry.link.endswith("2411.00002")
    )
    assert "like: Paged attention memory for serving" in item.content[0].value


def test_a_like_through_a_feed_link_lifts_similar_papers_of_a_later_day(
    served: tuple[TestClient, Store, Settings], clock: FakeClock
) -> None:
    """The whole way a reader teaches the ranking: a link in today's feed, the confirm form,
    then a later day's order, where the keyword paper would otherwise come first."""
    client, store, settings = served
    href = _links(client, "/feeds/cs.LG.xml")[("2411.00001", "More like this")]
    assert client.post("/feedback", data=_confirm_form(client, href)).status_code == 200
    report = refresh(
        settings, store, lambda: arxiv_rss(NEXT_DAY_ITEMS, day=NEXT_DAY), source="t", clock=clock
    )
    assert report.status == "published"
    assert store.day_index()[max(store.day_index())] == ["2411.00012", "2411.00011"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"sig": "0" * 32}, 403),
        ({"opinion": "dislike"}, 403),  # a like link's signature does not sign a dislike
        ({"id": "2411.00002"}, 403),
        ({"id": "nope"}, 422),
        ({"opinion": "love"}, 422),
        ({"sig": "short"}, 422),
        ({"id": "2411.00001\r\nX: y"}, 422),
    ],
)
def test_a_tampered_link_is_refused_and_records_nothing(
    served: tuple[TestClient, Store, Settings], change: dict[str, str], status: int
) -> None:
    client, store, _ = served
    href = _links(client, "/feeds/cs.LG.xml")[("2411.00001", "More like this")]
    fields = {name: values[0] for name, values in parse_qs(urlsplit(href).query).items()}
    fields.update(change)
    assert client.get("/feedback", params=fields).status_code == status
    posted = {**_confirm_form(client, href), **change}
    assert client.post("/feedback", data=posted).status_code == status
    assert store.likes() == {}


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "null"},
    ],
)
def test_a_post_from_another_site_is_refused_even_with_the_token(
    served: tuple[TestClient, Store, Settings], headers: dict[str, str]
) -> None:
    client, store, _ = served
    href = _links(client, "/feeds/cs.LG.xml")[("2411.00001", "More like this")]
    response = client.post("/feedback", data=_confirm_form(client, href), headers=headers)
    assert response.status_code == 403 and "from this site only" in response.text
    assert store.likes() == {}


@pytest.mark.parametrize("token", ["missing", "forged", "no cookie"])
def test_a_post_without_the_pages_token_is_refused(
    served: tuple[TestClient, Store, Settings], token: str
) -> None:
    """A signed link is all a page elsewhere could hold: it is not enough to record."""
    client, store, _ = served
    href = _links(client, "/feeds/cs.LG.xml")[("2411.00001", "More like this")]
    fields = _confirm_form(client, href)
    if token == "missing":
        del fields["token"]
    elif token == "forged":
        fields["token"] = "x" * 32
    else:
        client.cookies.clear()
    response = client.post("/feedback", data=fields)
    assert response.status_code == 403 and "open the link again" in response.text
    assert store.likes() == {}


def test_the_confirm_forms_cookie_is_same_site_only_and_unreadable_by_scripts(
    served: tuple[TestClient, Store, Settings],
) -> None:
    client, _, _ = served
    href = _links(client, "/feeds/cs.LG.xml")[("2411.00001", "More like this")]
    cookie = client.get(href).headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie and "path=/feedback" in cookie


def test_an_oversized_form_is_refused(served: tuple[TestClient, Store, Settings]) -> None:
    client, store, _ = served
    response = client.post("/feedback", content=b"id=" + b"9" * 5000)
    assert response.status_code == 413 and store.likes() == {}


def test_the_secret_is_asked_of_the_store_once_per_process(
    served: tuple[TestClient, Store, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking the store for it may write (made on first use): not on every request."""
    client, store, _ = served
    asked: list[str] = []
    secret = store.secret

    def counted(name: str) -> str:
        asked.append(name)
        return secret(name)

    monkeypatch.setattr(store, "secret", counted)
    for _ in range(3):
        assert _links(client, "/feed.xml?q=paged")
    assert asked == ["feedback"]
