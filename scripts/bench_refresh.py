"""Refresh benchmark: ingest + rank + the day's index + render of the recorded 1,504-item day,
per stage, against feedparser alone parsing the same file, interleaved in one run.

    uv run python scripts/bench_refresh.py [--rounds 7] [--fixture PATH] [--categories 50]
                                           [--held-days 2]

With --categories N, the N categories with the most items in the fixture are followed, with
every announce type (the largest configuration `arxiv.categories` allows is 50).

With --held-days N, the whole refresh is timed instead (`core.refresh.refresh`, store writes
included, stage by stage as its report gives them) into a SQLite store that already holds N
earlier days (copies of the fixture's kept papers, re-dated and re-numbered), as a daily
refresh finds its store once the feeds' window (`feeds.days`, 3 by default) is full.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import feedparser

from core.clock import SystemClock, utc_now
from core.config import Settings, StoreConfig
from core.feedback import FeedbackLinks
from core.ingest.rss import parse_announcements
from core.models import AnnounceType, Paper
from core.rank import Examples, Ranker
from core.refresh import day_indexes, keep, opinions, ranking_fingerprint, refresh
from core.render.configured import render_all
from core.similarity import Example
from core.store import Store, open_store
from core.words import fields_of
from scripts.bench_adhoc import fill

DEFAULT_FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/arxiv-rss/all-archives-2024-11-28.rss.xml"
)


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _interests(settings: Settings) -> Examples:
    """The examples a refresh ranks with when nobody liked anything: the interests text."""
    return Examples([Example.interests(settings.rank.interests)], (), settings.rank.like_weight)


def _largest(settings: Settings, raw: bytes, count: int) -> Settings:
    """`settings` following the `count` categories with the most items, every type."""
    papers = parse_announcements(raw, None, None).papers
    sizes = Counter(category for paper in papers for category in paper.categories)
    arxiv = settings.arxiv.model_copy(
        update={
            "categories": [category for category, _ in sizes.most_common(count)],
            "announce_types": list(AnnounceType),
        }
    )
    return settings.model_copy(update={"arxiv": arxiv})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE)
    parser.add_argument("--categories", type=int, help="follow the N largest, all types")
    parser.add_argument("--held-days", type=int, help="time whole refreshes, N days held")
    args = parser.parse_args()
    raw = args.fixture.read_bytes()
    settings = Settings()
    if args.categories:
        settings = _largest(settings, raw, args.categories)
    if args.held_days is not None:
        _whole_refreshes(settings, raw, args.held_days, args.rounds)
        return
    ranker = Ranker.from_config(settings.rank, _interests(settings))  # as a refresh ranks
    clock = SystemClock()
    feedback = FeedbackLinks(settings.site.base_url, "a-secret-of-the-deployment")
    samples: dict[str, list[float]] = {
        "feedparser alone": [],
        "ingest": [],
        "rank": [],
        "index": [],
        "render": [],
        "pipeline": [],
    }
    for _ in range(args.rounds):
        samples["feedparser alone"].append(_timed(lambda: feedparser.parse(raw)))
        started = time.perf_counter()
        announcements = parse_announcements(
            raw, settings.arxiv.categories, settings.arxiv.announce_types
        )
        papers = keep(announcements.papers, settings)
        ingested = time.perf_counter()
        read = fields_of(papers)  # as the refresh does: once, for ranking and the index
        ranked = ranker.rank(papers, read)
        ranked_at = time.perf_counter()
        day_indexes({ranked[0].day: [paper.id for paper in ranked]}, ranked, "", read)
        indexed = time.perf_counter()
        feeds = render_all(settings, ranked, utc_now(clock), feedback)
        done = time.perf_counter()
        samples["ingest"].append(ingested - started)
        samples["rank"].append(ranked_at - ingested)
        samples["index"].append(indexed - ranked_at)
        samples["render"].append(done - indexed)
        samples["pipeline"].append(done - started)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"fixture: {args.fixture.name}, {announcements.total} items, {len(papers)} kept "
        f"({len(settings.arxiv.categories)} categories), {len(feeds)} feeds rendered; "
        f"median of {args.rounds} interleaved rounds"
    )
    for name, value in medians.items():
        print(f"  {name:<17} {value * 1000:8.1f} ms")
    ratio = medians["pipeline"] / medians["feedparser alone"]
    print(f"  ingest+rank+index+render / feedparser alone = {ratio:.2f}x (target <= 2x)")


def hold_earlier_days(settings: Settings, store: Store, kept: list[Paper], days: int) -> None:
    """`days` copies of the `kept` papers in `store`, the days before theirs, as a refresh
    under the same rules leaves them; numbered as no real paper is, so that no announcement
    of the recorded day replaces one of them."""
    ranker = Ranker.from_config(settings.rank, _interests(settings))
    ranking = ranking_fingerprint(settings, opinions(settings, store))
    fill(
        store,
        days,
        papers=kept,
        ranker=ranker,
        first_back=1,
        ranking=ranking,
        numbered_from=9000,
    )


def _whole_refreshes(settings: Settings, raw: bytes, held_days: int, rounds: int) -> None:
    """The whole refresh of the fixture's day into a store holding `held_days` earlier days,
    a fresh store each round, interleaved with feedparser alone."""
    kept = keep(
        parse_announcements(raw, settings.arxiv.categories, settings.arxiv.announce_types).papers,
        settings,
    )
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        samples["feedparser alone"].append(_timed(lambda: feedparser.parse(raw)))
        with tempfile.TemporaryDirectory() as directory:
            store = open_store(StoreConfig(url=f"sqlite:///{directory}/held.db"))
            hold_earlier_days(settings, store, kept, held_days)
            report = refresh(settings, store, lambda: raw, source="bench")
            store.close()
        assert report.status == "published", report.message
        for stage, seconds in report.stage_seconds.items():
            samples[stage].append(seconds)
        samples["refresh"].append(sum(report.stage_seconds.values()))
    print(
        f"{len(kept)} papers kept a day ({len(settings.arxiv.categories)} categories), "
        f"{held_days} earlier days held; {report.papers_stored} papers ranked, "
        f"{report.feeds_rendered} feeds rendered; median of {rounds} interleaved rounds"
    )
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"  {name:<17} {value * 1000:8.1f} ms")
    ratio = medians["refresh"] / medians["feedparser alone"]
    print(f"  whole refresh / feedparser alone = {ratio:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
