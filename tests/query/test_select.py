"""Which papers a feed holds (`core.query.select`), checked against its definition as read."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from core.arxiv import listed_under
from core.models import AnnounceType, FeedSpec, Hit, Paper, Score
from core.query.select import feed_order, select_all
from tests.factories import make_paper

CATEGORIES = ["cs.LG", "cs.CL", "cs.AI", "math.OC", "stat.ML", "hep-th"]
RULES = ["LLM", "KV cache", "MoE"]


def _paper(n: int, draw: random.Random) -> Paper:
    paper = make_paper(
        f"2411.{n:05d}",
        categories=tuple(draw.sample(CATEGORIES, draw.randint(1, 3))),
        announced=datetime(2024, 11, draw.randint(25, 29), 5, tzinfo=UTC),
    )
    rules = draw.sample(RULES, draw.randint(0, 2))
    hits = [Hit(rule=rule, field="title", matched=rule, points=1.0) for rule in rules]
    score = Score(
        total=float(draw.randint(0, 6)),
        hits=hits,
        vetoed_by="survey" if draw.random() < 0.1 else None,
    )
    kind = draw.choice(list(AnnounceType))
    return paper.model_copy(update={"score": score, "announce_type": kind})


def _spec(n: int, draw: random.Random) -> FeedSpec:
    return FeedSpec(
        name=f"feed{n}",
        title="t",
        categories=draw.sample([*CATEGORIES, "cs", "math"], draw.choice([0, 0, 1, 2])),
        rules=draw.sample(RULES, draw.choice([0, 0, 1, 2])),
        min_score=draw.choice([None, 2.0]),
        types=draw.sample(list(AnnounceType), draw.choice([0, 0, 1])),
        include_vetoed=draw.random() < 0.5,
        days=draw.randint(1, 4),
        limit=draw.choice([3, 40, 500]),
    )


def _by_definition(papers: list[Paper], spec: FeedSpec) -> list[Paper]:
    """The spec's latest `days` days in feed order, each filter applied, cut at `limit`."""
    days = sorted({paper.day for paper in papers}, reverse=True)[: spec.days]
    return [
        paper
        for paper in feed_order(papers)
        if paper.day in days
        and (not spec.categories or listed_under(paper.categories) & set(spec.categories))
        and (not spec.rules or set(paper.score.rules) & set(spec.rules))
        and (not spec.types or paper.announce_type in spec.types)
        and (spec.include_vetoed or paper.score.vetoed_by is None)
        and (spec.min_score is None or paper.score.total >= spec.min_score)
    ][: spec.limit]


def test_every_feed_holds_what_its_definition_says() -> None:
    """Feeds look only at the papers listed under their categories or matching their rules:
    that must never change what they hold."""
    draw = random.Random(7)
    papers = [_paper(n, draw) for n in range(400)]
    specs = {spec.name: spec for spec in (_spec(n, draw) for n in range(200))}
    chosen = select_all(papers, specs)
    for name, spec in specs.items():
        assert [p.id for p in chosen[name]] == [p.id for p in _by_definition(papers, spec)], spec
    assert sum(1 for found in chosen.values() if found) > 150, "most feeds hold something"
