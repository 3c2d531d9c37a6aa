"""How well the ranking puts what a reader wants first, on hand-graded days, the way readers
live: likes from an earlier day, measured on a later one.

Reads `../shared/relevance/` (see its README): `labels-<reader>-<day>.json` grade every paper
a reader of that day's feed sees, 0-3; reader A is this project's default configuration,
reader B `profiles/B.toml`. Each (reader, day) is ranked several ways and scored by the
labels' own evaluator (`relevance_eval.py`): NDCG@15, NDCG@30, P@15 (rel >= 2), R@30 (rel = 3).

- substring: the tool this service replaced (+1 per keyword found anywhere, +0.5 more in the
  title, plain case-insensitive substrings), with the reader's keywords;
- rules: the reader's keyword rules (stemmed words), every keyword at its weight;
- rules+specificity: the same, each keyword weighed by how rare it is that day;
- served: what the feeds serve, rules+specificity and similarity to `rank.interests`;
- likes from D: served, with the rel-3 papers of an earlier graded day D of the same reader
  liked (never the measured day's own papers).

Then each reader's configuration written otherwise, the way other readers write theirs (one
sentence of interests, interests only, keywords only), by interests in shared words against
served, the grades unchanged: what a reader's style of configuration costs.

It also times ranking every paper of the recorded 2024-11-28 day (all categories), without
and with 50 liked papers, beside feedparser parsing the same day (interleaved, median of 5).

    uv run python scripts/bench_relevance.py [--no-timing]   (needs ../shared)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import feedparser

from core.config import RankConfig, Settings, load_settings
from core.ingest.rss import parse_announcements
from core.models import Paper
from core.rank.ranker import Examples, Ranker
from core.rank.reader import interests_examples, with_meaning
from core.rank.similarity import Example

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RELEVANCE = SHARED / "relevance"
RECORDED_DAY = SHARED / "fixtures" / "arxiv-rss" / "all-archives-2024-11-28.rss.xml"
METRICS = ("NDCG@15", "NDCG@30", "P@15(rel>=2)", "R@30(rel=3)")

Ranking = Callable[[list[Paper]], list[str]]
Pooled = dict[tuple[str, str], list[float]]
"""NDCG@15 values by (reader, ranking)."""


class GradedDay(NamedTuple):
    reader: str
    day: str
    labels: dict[str, dict[str, object]]
    papers: list[Paper]
    """The graded papers as the service ingests them, in arXiv's order."""


def reader_settings(reader: str) -> Settings:
    """Reader A is the default configuration; any other reads `profiles/<reader>.toml`."""
    if reader == "A":
        return load_settings(ROOT / "arxiv-feeds.toml", env={})
    return load_settings(RELEVANCE / "profiles" / f"{reader}.toml", env={})


def _day_response(day: str) -> bytes:
    recorded = RELEVANCE / "days" / f"{day}.rss.xml"
    return recorded.read_bytes() if recorded.is_file() else RECORDED_DAY.read_bytes()


def graded_days() -> list[GradedDay]:
    days = []
    for labels_file in sorted(RELEVANCE.glob("labels-*-*.json")):
        reader, day = labels_file.stem.removeprefix("labels-").split("-", 1)
        settings = reader_settings(reader)
        labels = json.loads(labels_file.read_text())
        read = parse_announcements(
            _day_response(day), settings.arxiv.categories, settings.arxiv.announce_types
        )
        papers = [paper for paper in read.papers if paper.id in labels]
        days.append(GradedDay(reader, day, labels, papers))
    return days


def substring(settings: Settings) -> Ranking:
    keywords = [rule.term.casefold() for rule in settings.rank.keywords]

    def score(paper: Paper) -> float:
        title, text = paper.title.casefold(), f"{paper.title} {paper.abstract}".casefold()
        return sum(1.0 + (0.5 if word in title else 0.0) for word in keywords if word in text)

    return lambda papers: [p.id for p in sorted(papers, key=lambda paper: -score(paper))]


def ranked(
    settings: Settings,
    *,
    specificity: bool,
    interests: bool,
    meaning: bool = False,
    liked: Sequence[Paper] = (),
) -> Ranking:
    """The service's ranking with these parts (served: all of them, and whatever is liked)."""
    config = settings.rank.model_copy(update={"specificity": specificity})
    examples = Examples(
        [Example.of(paper) for paper in liked],
        (),
        settings.rank.like_weight,
        interests=interests_examples(settings) if interests else [],
        interests_weight=settings.rank.interests_weight,
    )

    def rank(papers: list[Paper]) -> list[str]:
        found = with_meaning(settings, None, examples, papers)[0] if meaning else examples
        return [paper.id for paper in Ranker.from_config(config, found).rank(papers)]

    return rank


SERVED = "served (+ meaning)"
LIKED = "likes from an earlier day"
SERVED_LIKE_DAYS = "served, those days"
"""Served on the days measured with likes from an earlier day, to compare them with."""


def rankings(settings: Settings, earlier: list[GradedDay]) -> dict[str, Ranking]:
    """The rankings of a day by `settings`, with each `earlier` day's likes."""
    found = {
        "substring": substring(settings),
        "rules": ranked(settings, specificity=False, interests=False),
        "rules+specificity": ranked(settings, specificity=True, interests=False),
        "+ interests by words": ranked(settings, specificity=True, interests=True),
        SERVED: ranked(settings, specificity=True, interests=True, meaning=True),
    }
    for before in earlier:
        liked = [paper for paper in before.papers if before.labels[paper.id]["rel"] == 3]
        name = f"likes from {before.day} ({len(liked)})"
        found[name] = ranked(settings, specificity=True, interests=True, meaning=True, liked=liked)
    return found


def _evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("relevance_eval", RELEVANCE / "relevance_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(evaluator: ModuleType, day: GradedDay, ids: list[str]) -> dict[str, float]:
    scores = {paper_id: float(len(ids) - n) for n, paper_id in enumerate(ids)}
    ranking, _, _ = evaluator.rank_ids(day.labels, scores)
    found: dict[str, float] = evaluator.metrics(day.labels, ranking)
    return {name: found[name] for name in METRICS}


class RankingTimes(NamedTuple):
    papers: int
    default: float
    liked: float
    """Median milliseconds to rank every paper, by default and with 50 liked papers more."""
    feedparser: float
    """Median milliseconds of feedparser parsing the same day: the yardstick that makes runs
    on machines of other speeds compare."""


def ranking_milliseconds(settings: Settings) -> RankingTimes:
    raw = RECORDED_DAY.read_bytes()
    papers = parse_announcements(raw, None, None).papers
    served = ranked(settings, specificity=True, interests=True)
    liked = ranked(settings, specificity=True, interests=True, liked=papers[::30][:50])
    work = [partial(served, papers), partial(liked, papers), partial(feedparser.parse, raw)]
    times: list[list[float]] = [[] for _ in work]
    for _ in range(5):
        for step, spent in zip(work, times, strict=True):
            started = time.perf_counter()
            step()
            spent.append((time.perf_counter() - started) * 1000)
    return RankingTimes(len(papers), *(statistics.median(spent) for spent in times))


WRITTEN_OTHERWISE: dict[str, Callable[[RankConfig], dict[str, object]]] = {
    "as written": lambda rank: {},
    "one sentence of interests": lambda rank: {"interests": re.split(r"[.:]", rank.interests)[0]},
    "interests only": lambda rank: {"keywords": []},
    "keywords only": lambda rank: {"interests": ""},
}


def _styled(settings: Settings, change: Callable[[RankConfig], dict[str, object]]) -> Settings:
    return settings.model_copy(
        update={"rank": settings.rank.model_copy(update=change(settings.rank))}
    )


def _pool(pooled: Pooled, reader: str, ndcg: dict[str, float]) -> None:
    """One day's NDCG@15 by ranking, pooled per (reader, ranking): each earlier day's likes
    as LIKED, and beside them what the same day serves without likes."""
    for name, value in ndcg.items():
        if name.startswith("likes"):
            pooled.setdefault((reader, SERVED_LIKE_DAYS), []).append(ndcg[SERVED])
            name = LIKED
        pooled.setdefault((reader, name), []).append(value)


def _earlier(day: GradedDay, days: list[GradedDay]) -> list[GradedDay]:
    return [d for d in days if d.reader == day.reader and d.day < day.day]


def _written_otherwise(evaluator: ModuleType, days: list[GradedDay]) -> None:
    """Per style, mean NDCG@15 per reader: by words, served, and on the days that have an
    earlier one, served without and with that earlier day's likes."""
    shown = {"+ interests by words": "by words", SERVED: "served"}
    shown.update({SERVED_LIKE_DAYS: "served, like days", LIKED: "likes"})
    print("\nmean NDCG@15 with the configuration written otherwise (A / B)")
    for style, change in WRITTEN_OTHERWISE.items():
        pooled: Pooled = {}
        for day in days:
            found = rankings(_styled(reader_settings(day.reader), change), _earlier(day, days))
            ndcg = {
                name: measure(evaluator, day, r(day.papers))["NDCG@15"] for name, r in found.items()
            }
            _pool(pooled, day.reader, ndcg)
        readers = sorted({reader for reader, _ in pooled})
        means = {
            label: "/".join(f"{statistics.mean(pooled[reader, name]):.3f}" for reader in readers)
            for name, label in shown.items()
        }
        print(f"  {style:27}" + "".join(f" {label} {mean}" for label, mean in means.items()))


def _report(evaluator: ModuleType, days: list[GradedDay]) -> None:
    pooled: Pooled = {}
    for day in days:
        print(f"reader {day.reader}, {day.day}: {len(day.papers)} graded papers")
        print(f"  {'':32}" + "".join(f"{name:>14}" for name in METRICS))
        ndcg = {}
        for name, ranking in rankings(reader_settings(day.reader), _earlier(day, days)).items():
            found = measure(evaluator, day, ranking(day.papers))
            print(f"  {name:32}" + "".join(f"{found[m]:14.3f}" for m in METRICS))
            ndcg[name] = found["NDCG@15"]
        _pool(pooled, day.reader, ndcg)
    print("\nmean NDCG@15 per reader (likes: each earlier day's likes on each later day)")
    for (reader, kind), values in sorted(pooled.items()):
        print(f"  {reader}  {kind:28} {statistics.mean(values):.3f}  (n={len(values)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-timing", action="store_true", help="skip the ranking timings")
    args = parser.parse_args(argv)
    if not RELEVANCE.is_dir():
        print(f"no graded days: {RELEVANCE} is missing", file=sys.stderr)
        return 2
    days, evaluator = graded_days(), _evaluator()
    _report(evaluator, days)
    _written_otherwise(evaluator, days)
    if not args.no_timing:
        timed = ranking_milliseconds(reader_settings("A"))
        print(
            f"\nranking all {timed.papers} papers of the recorded day (median of 5): "
            f"{timed.default:.0f} ms, with 50 liked papers {timed.liked:.0f} ms; feedparser "
            f"parsing the day {timed.feedparser:.0f} ms (ratios "
            f"{timed.default / timed.feedparser:.2f}x and {timed.liked / timed.feedparser:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
