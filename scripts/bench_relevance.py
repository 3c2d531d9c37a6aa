"""How well the ranking puts what a researcher wants first, on hand-graded days.

Reads `../shared/relevance/labels-*.json` (graded 0-3 for the default profile; see its
README) and the recorded arXiv day each grades, ranks that day's papers several ways, and
prints NDCG@15, NDCG@30, P@15 (rel >= 2), R@30 (rel = 3) and rel-0 papers in the top 15,
computed by the labels' own evaluator (`relevance_eval.py`, beside them):

- substring: the tool this service replaced (+1 per keyword found anywhere, +0.5 more in
  the title, plain case-insensitive substrings);
- rules: the keyword rules of `arxiv-feeds.toml` (stemmed words), every keyword at its weight;
- rules+specificity: the same, each keyword weighed by how rare it is that day;
- default: rules+specificity plus similarity to the default profile's `rank.interests`;
- k=N, without / with likes: N papers drawn from the day's own rel-3 papers are taken out
  of ranking and labels; the rest is ranked by the default alone, then with those N liked
  too (`rank.like_weight`); mean of 20 draws.

It also times ranking every paper of the recorded day (all categories) by the default, and
with 50 liked papers more, and feedparser parsing the same day, interleaved, median of 5
runs (the ratios compare across machines of other speeds).

    uv run python scripts/bench_relevance.py   (needs ../shared)
"""

from __future__ import annotations

import importlib.util
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import feedparser

from core.config import DEFAULT_KEYWORDS, Settings
from core.ingest.rss import parse_announcements
from core.models import Paper
from core.rank import Examples, Ranker
from core.similarity import Example

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RELEVANCE = SHARED / "relevance"
FIXTURES = SHARED / "fixtures" / "arxiv-rss"

Ranking = Callable[[list[Paper]], list[str]]
LIKE_DRAWS = 20


def _evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("relevance_eval", RELEVANCE / "relevance_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def day_papers(labels_file: Path, settings: Settings) -> list[Paper]:
    """The graded day's papers in arXiv's order, as the service ingests them."""
    day = labels_file.stem.removeprefix("labels-")
    raw = (FIXTURES / f"all-archives-{day}.rss.xml").read_bytes()
    announcements = parse_announcements(
        raw, settings.arxiv.categories, settings.arxiv.announce_types
    )
    return announcements.papers


def substring_scores(papers: list[Paper]) -> list[str]:
    def score(paper: Paper) -> float:
        title, text = paper.title.casefold(), f"{paper.title} {paper.abstract}".casefold()
        points = 0.0
        for keyword in DEFAULT_KEYWORDS:
            word = keyword.casefold()
            if word in text:
                points += 1.0 + (0.5 if word in title else 0.0)
        return points

    return _ordered(papers, score)


def rules_scores(settings: Settings, specificity: bool, interests: bool) -> Ranking:
    config = settings.rank.model_copy(update={"specificity": specificity})

    def rank(papers: list[Paper]) -> list[str]:
        examples = _examples(settings, [], with_interests=interests)
        return [paper.id for paper in Ranker.from_config(config, examples).rank(papers)]

    return rank


def _examples(settings: Settings, liked: list[Paper], *, with_interests: bool = True) -> Examples:
    """Liked papers and (as the refresh does) the configured interests."""
    examples = [Example.of(paper) for paper in liked]
    if with_interests and settings.rank.interests:
        examples.append(Example.interests(settings.rank.interests))
    return Examples(examples, (), settings.rank.like_weight)


class RankingTimes(NamedTuple):
    papers: int
    default: float
    liked: float
    """Median milliseconds to rank every paper, by default and with 50 liked papers more."""
    feedparser: float
    """Median milliseconds of feedparser parsing the same day: the yardstick the refresh
    benchmark uses, so that runs on machines of other speeds compare."""


def ranking_milliseconds(settings: Settings) -> RankingTimes:
    """Papers of the whole recorded day, and the median times to rank them all without and
    with 50 liked papers, and to parse the day with feedparser (runs interleaved, so all
    three see the same machine)."""
    raw = (FIXTURES / "all-archives-2024-11-28.rss.xml").read_bytes()
    papers = parse_announcements(raw, None, None).papers
    liked = _examples(settings, papers[::30][:50])
    rankers = [
        Ranker.from_config(settings.rank, _examples(settings, [])),
        Ranker.from_config(settings.rank, liked),
    ]
    work = [partial(ranker.rank, papers) for ranker in rankers] + [partial(feedparser.parse, raw)]
    times: list[list[float]] = [[] for _ in work]
    for _ in range(5):
        for step, spent in zip(work, times, strict=True):
            started = time.perf_counter()
            step()
            spent.append((time.perf_counter() - started) * 1000)
    return RankingTimes(len(papers), *(statistics.median(spent) for spent in times))


def likes_metrics(
    evaluator: ModuleType,
    labels: dict[str, dict[str, object]],
    papers: list[Paper],
    settings: Settings,
    liked_count: int,
    with_likes: bool,
) -> str:
    core = [paper for paper in papers if labels[paper.id]["rel"] == 3]
    draws = random.Random(0)
    results: list[dict[str, float]] = []
    for _ in range(LIKE_DRAWS):
        liked = draws.sample(core, liked_count)
        taken = {paper.id for paper in liked}
        rest = [paper for paper in papers if paper.id not in taken]
        kept = {i: label for i, label in labels.items() if i not in taken}
        examples = _examples(settings, liked if with_likes else [])
        ranked = Ranker.from_config(settings.rank, examples).rank(rest)
        scores = {paper.id: float(len(ranked) - n) for n, paper in enumerate(ranked)}
        ranking, _, _ = evaluator.rank_ids(kept, scores)
        results.append(evaluator.metrics(kept, ranking))
    means = {name: statistics.mean(r[name] for r in results) for name in results[0]}
    return "  ".join(f"{name} {value:5.3f}" for name, value in means.items())


def _ordered(papers: list[Paper], score: Callable[[Paper], float]) -> list[str]:
    """Best first; ties keep arXiv's order (Python's sort is stable)."""
    return [paper.id for paper in sorted(papers, key=lambda paper: -score(paper))]


def evaluate(evaluator: ModuleType, labels: dict[str, dict[str, object]], ids: list[str]) -> str:
    scores = {paper_id: float(len(ids) - n) for n, paper_id in enumerate(ids)}
    ranking, _, _ = evaluator.rank_ids(labels, scores)
    found = evaluator.metrics(labels, ranking)
    return "  ".join(f"{name} {value:5.3f}" for name, value in found.items())


def main() -> int:
    if not RELEVANCE.is_dir():
        print(f"no graded days: {RELEVANCE} is missing", file=sys.stderr)
        return 2
    evaluator = _evaluator()
    settings = Settings()
    rankings: dict[str, Ranking] = {
        "substring": substring_scores,
        "rules": rules_scores(settings, specificity=False, interests=False),
        "rules+specificity": rules_scores(settings, specificity=True, interests=False),
        "default (+ interests)": rules_scores(settings, specificity=True, interests=True),
    }
    for labels_file in sorted(RELEVANCE.glob("labels-*.json")):
        labels = json.loads(labels_file.read_text())
        papers = [paper for paper in day_papers(labels_file, settings) if paper.id in labels]
        print(f"{labels_file.name}: {len(papers)} of {len(labels)} graded papers ingested")
        for name, ranking in rankings.items():
            print(f"  {name:<22} {evaluate(evaluator, labels, ranking(papers))}")
        for liked_count in (3, 5):
            for name, with_likes in (("without", False), ("with", True)):
                metrics = likes_metrics(
                    evaluator, labels, papers, settings, liked_count, with_likes
                )
                print(f"  {f'k={liked_count}, {name} likes':<22} {metrics}")
    timed = ranking_milliseconds(settings)
    print(
        f"ranking all {timed.papers} papers of the recorded day by default (median of 5): "
        f"{timed.default:.0f} ms, with 50 liked papers {timed.liked:.0f} ms; feedparser alone "
        f"parsing the day {timed.feedparser:.0f} ms (ratios {timed.default / timed.feedparser:.2f}x"
        f" and {timed.liked / timed.feedparser:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
