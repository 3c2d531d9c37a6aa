"""Property-based fuzzing of every route's parameters (Hypothesis): whatever a client sends,
the answer is never a 5xx (a 503 would only mean the store is down, and it is up here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import load_settings
from core.refresh import refresh
from core.store import open_store
from core.web.app import create_app
from tests.conftest import FakeClock
from tests.factories import RssItem, arxiv_rss

ROUTES = [
    "/feed.xml",
    "/feed.atom",
    "/feed.json",
    "/api/papers",
    "/api/count",
    "/",
    "/opml",
    "/feedback",
]
NAMES = ["cat", "q", "min_score", "type", "days", "limit", "lang", "fmt", "kw", "x"]
NAMES += ["id", "opinion", "sig"]
VALUES = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=20),  # control characters too
    st.text(alphabet="cs.LG,AI \"'-*0123456789e+", max_size=30),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(["nan", "inf", "-0", "1e309", "", "new,cross", 'moe,"kv cache"']),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    config = load_settings(env={"STORE_URL": f"sqlite:///{directory}/f.db"})
    store = open_store(config.store)
    items = [RssItem(f"2411.0000{n}", title=f"LLM MoE paper {n}") for n in range(1, 5)]
    refresh(config, store, lambda: arxiv_rss(items), source="fuzz", clock=FakeClock())
    with TestClient(create_app(config, lambda: store), raise_server_exceptions=False) as client:
        yield client
    store.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(ROUTES),
    params=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=5),
)
def test_no_parameters_make_a_server_error(
    client: TestClient, route: str, params: dict[str, str]
) -> None:
    response = client.get(route, params=params)
    assert response.status_code < 500, (route, params, response.text[:300])


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=st.binary(max_size=3000))
def test_no_posted_feedback_form_makes_a_server_error(client: TestClient, form: bytes) -> None:
    response = client.post("/feedback", content=form)
    assert response.status_code in (403, 413, 422), (form[:100], response.text[:300])


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(min_size=1, max_size=40), suffix=st.sampled_from([".xml", ".atom", ".json", ""])
)
def test_no_feed_name_makes_a_server_error(client: TestClient, name: str, suffix: str) -> None:
    response = client.get(f"/feeds/{quote(name, safe='')}{suffix}")
    assert response.status_code < 500, (name, response.text[:300])
