"""Interests by example: liked and disliked papers move similar ones, through every refresh."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import httpx
import pytest

from core.config import RankConfig, Settings, load_settings
from core.days.recovery import live_refresh
from core.models import Paper
from core.rank.ranker import MIN_SIMILARITY, Examples, Ranker
from core.rank.similarity import Example, Similarity
from core.rank.words import Words
from core.refresh import refresh
from core.store import Store
from tests.conftest import FakeClock
from tests.factories import (
    KNOTS,
    NEXT_DAY,
    NEXT_DAY_ITEMS,
    SERVING,
    RssItem,
    arxiv_api,
    arxiv_rss,
    make_paper,
)

SIMILAR = RssItem(
    "2411.00002",
    title="Serving with paged memory and batching",
    abstract="A serving system that batches requests with paged attention memory.",
)


def _settings(tmp_path: Path, rank: str) -> Settings:
    """Likes and interests by shared words alone (meaning off: `tests/rank/test_meaning.py`)."""
    path = tmp_path / "config.toml"
    rules = 'keywords = ["topology"]\nmeaning_weight = 0\n'
    path.write_text(f'[arxiv]\ncategories = ["cs.LG"]\n[rank]\n{rules}{rank}')
    return load_settings(path, env={})


def _by_id(store: Store) -> dict[str, Paper]:
    ids = [i for ids in store.day_index().values() for i in ids]
    return {paper.id: paper for paper in store.papers(ids)}


def test_the_nearest_liked_paper_is_the_one_sharing_the_most_specific_words() -> None:
    papers = [make_paper(i.arxiv_id, i.title, i.abstract) for i in (SERVING, SIMILAR, KNOTS)]
    other = Example("x", "Knots", "knot invariants of topology")
    corpus = {p.id: Words.of(f"{p.title} {p.abstract}").keys for p in papers}
    similarity = Similarity({"like": [Example.of(papers[0]), other]}, corpus)
    near = similarity.nearest("2411.00002")["like"]
    assert near.example.id == "2411.00001" and near.similarity > 0.3
    far = similarity.nearest("2411.00003")["like"]
    assert far.example.id == "x", "a max over examples, not an average"


def test_likes_and_dislikes_share_one_set_of_statistics() -> None:
    papers = [make_paper(i.arxiv_id, i.title, i.abstract) for i in (SERVING, SIMILAR, KNOTS)]
    corpus = {p.id: Words.of(f"{p.title} {p.abstract}").keys for p in papers}
    liked, disliked = [Example.of(papers[0])], [Example("x", "Knots", "knot invariants")]
    both = Similarity({"like": liked, "dislike": disliked}, corpus).nearest("2411.00002")
    assert set(both) == {"like"}, "a side nothing is near to is left out"
    with_dislike_as_paper = corpus | {"x": Words.of(disliked[0].text).keys}
    alone = Similarity({"like": liked}, with_dislike_as_paper).nearest("2411.00002")
    assert both["like"] == alone["like"], "one corpus: the papers and every example"
    assert both["like"] != Similarity({"like": liked}, corpus).nearest("2411.00002")["like"]


def test_a_liked_paper_lifts_similar_ones_and_says_so(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path, 'like = ["2411.00001v2"]\n')
    day = arxiv_rss([KNOTS, SIMILAR, SERVING])
    report = refresh(settings, store, lambda: day, source="t", clock=clock)
    assert report.status == "published"
    papers = _by_id(store)
    similar = papers["2411.00002"].score
    assert similar.total > papers["2411.00003"].score.total
    assert "like: Paged attention memory for serving (0." in similar.explain()
    assert store.examples(["2411.00001"])[0].title == SERVING.title, "kept for good"


def test_a_disliked_paper_pushes_similar_ones_down(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path, 'dislike = ["2411.00001"]\n')
    refresh(settings, store, lambda: arxiv_rss([KNOTS, SIMILAR, SERVING]), source="t", clock=clock)
    similar = _by_id(store)["2411.00002"].score
    assert similar.total < 0 and "dislike: Paged attention memory for serving" in similar.explain()


def test_a_liked_paper_the_store_lacks_comes_from_the_export_api(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path, 'like = ["2401.00042"]\n')
    asked: list[str] = []

    def arxiv(request: httpx.Request) -> httpx.Response:
        if request.url.host == "rss.arxiv.org":
            return httpx.Response(200, content=arxiv_rss([KNOTS, SIMILAR]))
        asked.append(request.url.params["id_list"])
        entry = ("2401.00042v1", "Paged serving memory", "2024-01-02T00:00:00Z", ("cs.LG",))
        return httpx.Response(200, content=arxiv_api([entry]))

    report = live_refresh(settings, store, clock=clock, arxiv_transport=httpx.MockTransport(arxiv))
    assert report.status == "published" and asked == ["2401.00042"]
    assert "like: Paged serving memory" in _by_id(store)["2411.00002"].score.explain()
    live_refresh(settings, store, clock=clock, arxiv_transport=httpx.MockTransport(arxiv))
    assert asked == ["2401.00042"], "asked once, then kept in the store"


def test_a_liked_paper_found_nowhere_is_reported(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path, 'like = ["2412.99999"]\n')
    report = refresh(settings, store, lambda: arxiv_rss([KNOTS]), source="t", clock=clock)
    assert report.status == "published"
    assert "liked or disliked papers not found: 2412.99999" in report.message


def test_new_feedback_rescores_the_held_days_at_the_next_refresh_even_without_news(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, "")
    refresh(settings, store, lambda: arxiv_rss([KNOTS, SIMILAR, SERVING]), source="t", clock=clock)
    before = store.feed("cs.LG.xml")
    store.set_like("2411.00001", "like")
    quiet = refresh(settings, store, lambda: arxiv_rss([]), source="t", clock=clock)
    assert quiet.status == "no-announcement" and "re-scored" in quiet.message
    after = store.feed("cs.LG.xml")
    assert before is not None and after is not None and after.body != before.body
    assert b"like: Paged attention memory for serving" in after.body
    assert store.day_index() and "like:" in _by_id(store)["2411.00002"].score.explain()
    publications: list[object] = []
    monkeypatch.setattr(store, "publish", publications.append)
    again = refresh(settings, store, lambda: arxiv_rss([]), source="t", clock=clock)
    assert "re-scored" not in again.message and publications == []


def test_a_similarity_below_the_floor_adds_nothing_and_no_line_to_the_explanation() -> None:
    papers = [make_paper("2411.00001"), make_paper("2411.00002")]
    vectors = {  # unit vectors: cosines 0.5 and 0.02 with the liked one
        "liked": (1.0, 0.0),
        "2411.00001": (0.5, math.sqrt(0.75)),
        "2411.00002": (0.02, math.sqrt(1 - 0.02**2)),
    }
    liked = Examples([Example("liked", "Liked", "")], (), 10.0, vectors)
    ranked = {p.id: p.score for p in Ranker([], examples=liked).rank(papers)}
    assert ranked["2411.00001"].explain() == "5: like: Liked (0.50, +5)"
    assert MIN_SIMILARITY > 0.02 and ranked["2411.00002"].hits == []


def test_a_liked_paper_adds_to_the_interests_instead_of_standing_in_for_them() -> None:
    """A paper near both the interests and a liked paper gains from each: likes build on what
    the interests say (measured on the graded days: likes from an earlier day had lowered
    the next days' ranking while they competed with the interests for "nearest")."""
    papers = [make_paper(i.arxiv_id, i.title, i.abstract) for i in (SERVING, SIMILAR, KNOTS)]
    interests = [Example.interests("paged attention serving systems that batch requests")]
    liked = [Example.of(papers[0])]
    both = Examples(liked, (), 20.0, interests=interests, interests_weight=10.0)
    scores = Ranker.from_config(Settings().rank.model_copy(update={"keywords": []}), both).scores(
        papers
    )
    matched = [hit.matched for hit in scores[1].hits if hit.field == "like"]
    assert matched == ["your interests", SERVING.title]
    alone = Examples((), (), 20.0, interests=interests, interests_weight=10.0)
    without_likes = Ranker.from_config(Settings().rank.model_copy(update={"keywords": []}), alone)
    assert scores[1].total > without_likes.scores(papers)[1].total


def _like_points_and_scale(keywords: list[str]) -> tuple[float, float, float]:
    """The like's points on the paper like the liked one, its similarity, and the spread of
    the day's scores without the likes' points."""
    papers = [make_paper(i.arxiv_id, i.title, i.abstract) for i in (SIMILAR, KNOTS)]
    rank = RankConfig.model_validate({"keywords": keywords, "interests": ""})
    liked = Examples(
        [Example.of(make_paper(SERVING.arxiv_id, SERVING.title, SERVING.abstract))],
        weight=12.0,
        interests=[Example.interests("paged attention serving systems that batch requests")],
        interests_weight=10.0,
    )
    scores = Ranker.from_config(rank, liked).scores(papers)
    likes = [[hit for hit in score.hits if hit.matched == SERVING.title] for score in scores]
    before = [s.total - sum(h.points for h in mine) for s, mine in zip(scores, likes, strict=True)]
    hit = likes[0][0]
    assert hit.similarity is not None
    return hit.points, hit.similarity, max(statistics.pstdev(before), 1.0)


def test_a_like_counts_in_the_days_scale_beside_many_keywords_or_none() -> None:
    """A like gains like_weight x similarity x the spread of the day's scores without likes
    (at least a point): absolute points outweighed a reader's interests alone and vanished
    beside a long keyword list (graded days: likes cost readers of interests only 0.04)."""
    few = _like_points_and_scale([])
    many = _like_points_and_scale(["paged", "serving", "memory", "attention", "batching"])
    for points, similarity, scale in (few, many):
        assert points == pytest.approx(12.0 * scale * similarity, abs=0.01)
    assert many[2] > 2 * few[2] and many[0] > 2 * few[0], "more keywords, a larger scale"


def test_a_like_recorded_today_lifts_similar_papers_of_a_later_day(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path, "")
    refresh(settings, store, lambda: arxiv_rss([SERVING, KNOTS]), source="t", clock=clock)
    before = refresh(
        settings, store, lambda: arxiv_rss(NEXT_DAY_ITEMS, day=NEXT_DAY), source="t", clock=clock
    )
    assert before.status == "published"
    order_before = store.day_index()[max(store.day_index())]
    store.set_like(SERVING.arxiv_id, "like")
    refresh(settings, store, lambda: arxiv_rss([]), source="t", clock=clock)
    order_after = store.day_index()[max(store.day_index())]
    assert order_before == ["2411.00011", "2411.00012"], "the keyword ranks first without likes"
    assert order_after == ["2411.00012", "2411.00011"], "the like lifts the similar paper"
