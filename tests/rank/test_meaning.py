"""Similarity by meaning (`core.rank.meaning`): offline, deterministic, kept in the store, and
ranking a paper about the reader's interests above one that is not, whatever words it uses."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import core.rank.meaning as meaning
from core.config import RankConfig, Settings, load_settings
from core.rank.meaning import DIMENSIONS, VARIANT, MeaningError, closeness, compared_with
from core.rank.ranker import Examples, Ranker
from core.rank.similarity import Example
from core.refresh import refresh
from core.store import Store
from tests.conftest import FakeClock
from tests.factories import RssItem, arxiv_rss, make_paper

INTERESTS = "Reconstructing 3D scenes from photographs and rendering novel views of them."
ON_TOPIC = make_paper(
    "2411.00001",
    title="Gaussian splats from a handful of photos",
    abstract="We recover a scene's geometry from multi-view images and render unseen viewpoints.",
)
OFF_TOPIC = [
    make_paper(
        f"2411.0010{n}",
        title=title,
        abstract="We study the question and report results on standard benchmarks.",
    )
    for n, title in enumerate(
        [
            "Tax policy and household savings",
            "A proof of a conjecture on prime gaps",
            "Protein folding with lattice models",
            "Sentiment of product reviews",
            "Queueing delays in call centres",
        ]
    )
]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every attempt to reach the network fails and is recorded; the model loads anew."""
    attempts: list[str] = []

    def refused(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args))
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refused)
    monkeypatch.setattr(socket.socket, "connect", refused)
    meaning._model.cache_clear()
    yield attempts
    meaning._model.cache_clear()


def test_the_model_loads_and_embeds_with_the_network_off(offline: list[str]) -> None:
    vectors = meaning.embed([INTERESTS, ON_TOPIC.title])
    assert vectors.shape == (2, DIMENSIONS)
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-4, "unit vectors"
    assert offline == [], "nothing reached for the network"


def test_the_same_papers_and_interests_give_the_same_closeness_and_order() -> None:
    papers = [ON_TOPIC, *OFF_TOPIC]
    first = closeness(papers, INTERESTS, None)
    again = closeness(list(reversed(papers)), INTERESTS, None)
    assert first == again
    assert max(first, key=first.__getitem__) == ON_TOPIC.id


def test_each_paper_is_embedded_once_and_kept_at_half_precision(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    papers = [ON_TOPIC, *OFF_TOPIC]
    first = closeness(papers, INTERESTS, store)
    kept = store.embeddings([p.id for p in papers], VARIANT)
    assert set(kept) == {p.id for p in papers}
    assert {len(vector) for vector in kept.values()} == {2 * DIMENSIONS}, "512 bytes a paper"
    embedded: list[str] = []
    embed = meaning.embed

    def counted(texts: list[str]) -> Any:
        embedded.extend(texts)
        return embed(texts)

    monkeypatch.setattr(meaning, "embed", counted)
    assert closeness(papers, INTERESTS, store) == first, "read back, the same closeness"
    assert embedded == [INTERESTS], "only the interests were embedded again"


def test_a_damaged_stored_vector_is_made_again(store: Store) -> None:
    store.put_embeddings({ON_TOPIC.id: b"short"}, VARIANT)
    found = closeness([ON_TOPIC, *OFF_TOPIC], INTERESTS, store)
    assert found == closeness([ON_TOPIC, *OFF_TOPIC], INTERESTS, None)
    assert len(store.embeddings([ON_TOPIC.id], VARIANT)[ON_TOPIC.id]) == 2 * DIMENSIONS


def _ranked(examples: Examples) -> list[Any]:
    return Ranker([], examples=examples).rank([*OFF_TOPIC, ON_TOPIC])


SENTENCES = (
    "3D computer vision and visual generative models: reconstructing 3D scenes and objects from "
    "images or video, novel view synthesis with NeRF and Gaussian splatting, and generating 3D "
    "and 4D content."
)


@pytest.mark.parametrize(
    ("interests", "keywords", "text", "name"),
    [
        (SENTENCES, ["NeRF", "avatar"], SENTENCES, "your interests"),
        ("3D vision.", ["NeRF"], "3D vision. NeRF", "your interests and keywords"),
        ("  ", ["NeRF", "avatar"], "NeRF, avatar", "your keywords"),
        ("3D vision.", [], "3D vision.", "your interests"),
        ("", [], "", "your interests"),
    ],
)
def test_interests_of_a_sentence_or_less_are_completed_by_the_keywords(
    interests: str, keywords: list[str], text: str, name: str
) -> None:
    """A few words make a vague target for a static model (a one-sentence interests text lost
    NDCG@15 to words alone on the graded days, docs/BENCHMARKS.md); a few sentences stand alone."""
    rank = RankConfig.model_validate({"interests": interests, "keywords": keywords})
    assert compared_with(rank) == (text, name)


def test_check_config_names_what_meaning_compares_with() -> None:
    short = Settings(
        rank=RankConfig.model_validate({"interests": "3D vision.", "keywords": ["NeRF"]})
    )
    assert short.meaning_status == (
        "on: similarity to your interests and keywords, weight 1, offline model"
    )
    nothing = Settings(rank=RankConfig(interests="", keywords=[]))
    assert nothing.meaning_status == "off (no interests or keywords to compare with)"
    off = Settings(rank=RankConfig(meaning_weight=0))
    assert off.meaning_status == "off (rank.meaning_weight is 0)"


def test_a_paper_about_the_interests_in_other_words_ranks_first_and_says_why() -> None:
    found = closeness([ON_TOPIC, *OFF_TOPIC], INTERESTS, None)
    first, *rest = _ranked(Examples(meaning=found, meaning_weight=1.0))
    assert first.id == ON_TOPIC.id
    assert [hit.field for hit in first.score.hits] == ["meaning"]
    assert first.score.why() == "Why: your interests"
    assert first.score.rules == [], "meaning is no rule: keyword feeds do not list it"
    assert all(paper.score.total == 0 for paper in rest), "nothing for the day's ordinary papers"


def test_no_weight_no_meaning_and_likes_halve_it() -> None:
    found = closeness([ON_TOPIC, *OFF_TOPIC], INTERESTS, None)
    assert _ranked(Examples(meaning=found, meaning_weight=0.0))[0].score.total == 0
    alone = _ranked(Examples(meaning=found, meaning_weight=1.0))[0].score
    liked = [Example.of(paper) for paper in OFF_TOPIC[:4]]
    examples = Examples(liked=liked, weight=0.0, meaning=found, meaning_weight=1.0)
    with_likes = next(p for p in _ranked(examples) if p.id == ON_TOPIC.id).score
    meaning_points = [hit.points for hit in with_likes.hits if hit.field == "meaning"]
    assert meaning_points == [pytest.approx(alone.total / 2, abs=0.01)], "4 likes halve it"


def _settings(tmp_path: Path, rank: str = "") -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[arxiv]\ncategories = ["cs.CV"]\n[rank]\nkeywords = ["NeRF"]\n'
        f'interests = "{INTERESTS}"\n{rank}'
    )
    return load_settings(path, env={})


DAY = [
    RssItem(ON_TOPIC.id, title=ON_TOPIC.title, abstract=ON_TOPIC.abstract, categories=("cs.CV",)),
    *(RssItem(p.id, title=p.title, abstract=p.abstract, categories=("cs.CV",)) for p in OFF_TOPIC),
]


def test_a_refresh_ranks_by_meaning_and_a_failing_model_only_says_so(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = refresh(_settings(tmp_path), store, lambda: arxiv_rss(DAY), source="t", clock=clock)
    assert report.status == "published"
    assert next(iter(store.day_index().values()))[0] == ON_TOPIC.id

    def broken() -> Any:
        raise MeaningError("the embedding model could not be loaded: gone")

    monkeypatch.setattr(meaning, "_model", broken)
    moved = _settings(tmp_path, "meaning_weight = 2.0\n")  # rules changed: scored again
    again = refresh(moved, store, lambda: arxiv_rss(DAY), source="t", clock=clock)
    assert again.status == "published"
    assert "ranked without meaning: the embedding model could not be loaded" in again.message
