"""Optional embeddings: similarity to likes from an OpenAI-compatible `/embeddings` endpoint,
replaced here at the transport by a stand-in that answers in OpenAI's shape."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pytest

from core.config import Settings, load_settings
from core.days.recovery import live_refresh
from core.models import Paper, RefreshReport
from core.rank.embeddings import pack, unpack
from core.store import Store
from tests.conftest import FakeClock
from tests.factories import KNOTS, SERVING, RssItem, arxiv_rss

NO_SHARED_WORD = RssItem(
    "2411.00002",
    title="Fast GPU inference engines",
    abstract="Throughput of deployed language models on accelerators.",
)
TOPICS = (("serving", "inference"), ("knot",))
"""The stand-in's idea of meaning: one axis per topic, by words a text holds."""


def _vector(text: str) -> list[float]:
    lowered = text.lower()
    axes = [float(any(word in lowered for word in words)) for words in TOPICS]
    return [*axes, 0.1]


class Provider:
    """An OpenAI-compatible embeddings endpoint: records what it is asked, answers in OpenAI's
    shape, or with `answer` when one is set."""

    def __init__(self, answer: httpx.Response | None = None) -> None:
        self.inputs: list[str] = []
        self.bodies: list[dict[str, object]] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/embeddings", request.url
        assert request.headers["authorization"] == "Bearer sk-test"
        body = json.loads(request.content)
        self.bodies.append(body)
        self.inputs.extend(body["input"])
        if self.answer is not None:
            return self.answer
        data = [
            {"object": "embedding", "index": n, "embedding": _vector(text)}
            for n, text in reversed(list(enumerate(body["input"])))
        ]
        usage = {"prompt_tokens": 10, "total_tokens": 10}
        return httpx.Response(
            200, json={"object": "list", "data": data, "model": body["model"], "usage": usage}
        )


def _settings(tmp_path: Path, rank: str, key: bool = True) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        '[arxiv]\ncategories = ["cs.LG"]\n[rank]\nkeywords = ["topology"]\n'
        f'like = ["2411.00001"]\n{rank}\n[summaries]\nmax_papers = 0\n'
    )
    env = {"LLM_API_KEY": "sk-test", "LLM_BASE_URL": "https://llm.example/v1"} if key else {}
    return load_settings(path, env=env)


def _day(tmp_path: Path) -> Path:
    path = tmp_path / "day.xml"
    path.write_bytes(arxiv_rss([KNOTS, NO_SHARED_WORD, SERVING]))
    return path


def _papers(store: Store) -> dict[str, Paper]:
    ids = [i for ids in store.day_index().values() for i in ids]
    return {paper.id: paper for paper in store.papers(ids)}


def _refresh(
    settings: Settings, store: Store, tmp_path: Path, clock: FakeClock, provider: Provider
) -> RefreshReport:
    return live_refresh(
        settings,
        store,
        source_file=_day(tmp_path),
        clock=clock,
        llm_transport=httpx.MockTransport(provider),
    )


def test_embeddings_find_a_paper_that_shares_no_word_with_the_liked_one(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    provider = Provider()
    settings = _settings(tmp_path, "embeddings = true\nembedding_dimensions = 256")
    report = _refresh(settings, store, tmp_path, clock, provider)
    assert report.status == "published" and "embeddings" not in report.message
    assert provider.bodies[0]["model"] == "text-embedding-3-small"
    assert provider.bodies[0]["dimensions"] == 256
    found = _papers(store)["2411.00002"].score
    assert "like: Paged attention memory for serving (1.00, +" in found.explain()
    likes = {i: [h for h in p.score.hits if h.field == "like"] for i, p in _papers(store).items()}
    assert likes["2411.00002"][0].points >= 12, "like_weight at least: the day's scale is >= 1"
    assert likes["2411.00003"] == [], "another topic"

    terms_only = _settings(tmp_path, "")
    live_refresh(terms_only, store, source_file=_day(tmp_path), clock=clock)
    assert "like:" not in _papers(store)["2411.00002"].score.explain(), "no shared word"


def test_each_paper_is_embedded_once_then_read_from_the_store(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    provider = Provider()
    settings = _settings(tmp_path, "embeddings = true")
    for _ in range(2):
        _refresh(settings, store, tmp_path, clock, provider)
    assert len(provider.inputs) == 3, "three papers (the liked one among them), asked once"
    other_size = _settings(tmp_path, "embeddings = true\nembedding_dimensions = 64")
    _refresh(other_size, store, tmp_path, clock, provider)
    assert len(provider.inputs) == 6, "vectors of another size are not compared with these"


def _rows(embedding: str, count: int) -> bytes:
    rows = ",".join(f'{{"index": {n}, "embedding": {embedding}}}' for n in range(count))
    return f'{{"data": [{rows}]}}'.encode()


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (httpx.Response(401, json={"error": "bad key"}), "HTTP 401"),
        (httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0]}]}), "asked for 3"),
        (httpx.Response(200, content=_rows("[NaN, 1.0]", 3)), "a value that is not a number"),
        (httpx.Response(200, content=b"<html>gateway</html>"), "not a list of embeddings"),
    ],
)
def test_a_failing_provider_falls_back_to_term_similarity_and_says_so(
    tmp_path: Path, store: Store, clock: FakeClock, answer: httpx.Response, said: str
) -> None:
    settings = _settings(tmp_path, "embeddings = true")
    report = _refresh(settings, store, tmp_path, clock, Provider(answer))
    assert report.status == "published"
    assert "embeddings failed, likes by term similarity" in report.message
    assert said in report.message
    assert "sk-test" not in report.message
    assert "like: Paged attention" not in _papers(store)["2411.00002"].score.explain()
    assert store.embeddings(["2411.00001"], "text-embedding-3-small|native") == {}


def test_embeddings_without_a_key_say_that_likes_use_terms(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path, "embeddings = true", key=False)
    report = live_refresh(settings, store, source_file=_day(tmp_path), clock=clock)
    assert report.status == "published"
    assert "embeddings off (no LLM key here), likes by term similarity" in report.message


def test_embeddings_are_off_by_default_even_with_a_key(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    provider = Provider()
    report = _refresh(_settings(tmp_path, ""), store, tmp_path, clock, provider)
    assert report.status == "published" and provider.inputs == []


def test_vectors_are_kept_as_little_endian_float32() -> None:
    packed = pack([1.0, -0.5, 0.25])
    assert packed == b"\x00\x00\x80?\x00\x00\x00\xbf\x00\x00\x80>"
    assert unpack(packed) == (1.0, -0.5, 0.25)
    assert math.isclose(sum(x * x for x in unpack(pack([0.6, 0.8]))), 1.0, rel_tol=1e-6)


def test_the_service_says_how_it_measures_likes(tmp_path: Path) -> None:
    on = _settings(tmp_path, "embeddings = true")
    assert on.likes_status == "by embeddings: text-embedding-3-small at https://llm.example/v1"
    assert _settings(tmp_path, "").likes_status == "by shared words (rank.embeddings is off)"
    keyless = _settings(tmp_path, "embeddings = true", key=False)
    assert keyless.likes_status.startswith("by shared words: rank.embeddings needs LLM_API_KEY")
