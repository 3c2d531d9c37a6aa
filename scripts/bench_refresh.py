"""Refresh benchmark: ingest + rank + the day's index + render of the recorded 1,504-item day,
per stage, against feedparser alone parsing the same file, interleaved in one run.

    uv run python scripts/bench_refresh.py [--rounds 7] [--fixture PATH] [--categories 50]
                                           [--held-days 2] [--gzip-levels]

With --categories N, the N categories with the most items in the fixture are followed, with
every announce type (the largest configuration `arxiv.categories` allows is 50).

With --held-days N, the whole refresh is timed instead (`core.refresh.refresh`, store writes
included, stage by stage as its report gives them) into a SQLite store that already holds N
earlier days (copies of the fixture's kept papers, re-dated and re-numbered), as a daily
refresh finds its store once the feeds' window (`feeds.days`, 3 by default) is full; each
round twice: the held days with the feed items their refresh stored, and without (as a
release before them left its store).

With --gzip-levels, the configuration's feeds are rendered once and their bodies deflated
whole at each of ISA-L's levels and by zlib at level 6 (what a stored feed's gzip copy costs
and saves), fastest of --rounds.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

import feedparser
from isal import isal_zlib

from core.clock import SystemClock, utc_now
from core.config import Settings, StoreConfig
from core.ingest.rss import parse_announcements
from core.models import AnnounceType, Paper
from core.query.index import day_indexes
from core.rank.ranker import Examples, Ranker
from core.rank.reader import interests_examples, opinions, ranking_fingerprint
from core.rank.words import fields_of
from core.refresh import refresh
from core.render.configured import render_all
from core.render.feedback import FeedbackLinks
from core.store import Store, open_store
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
    return Examples(
        (),
        (),
        settings.rank.like_weight,
        interests=interests_examples(settings),
        interests_weight=settings.rank.interests_weight,
    )


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
    parser.add_argument("--gzip-levels", action="store_true", help="time the feeds' gzip")
    args = parser.parse_args()
    raw = args.fixture.read_bytes()
    settings = Settings()
    if args.categories:
        settings = _largest(settings, raw, args.categories)
    if args.held_days is not None:
        _whole_refreshes(settings, raw, args.held_days, args.rounds)
        return
    if args.gzip_levels:
        _gzip_levels(settings, raw, args.rounds)
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
        papers = announcements.papers
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
    print(f"  ingest+rank+index+render / feedparser alone = {ratio:.2f}x")


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
    kept = parse_announcements(raw, settings.arxiv.categories, settings.arxiv.announce_types).papers
    alone: list[float] = []
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        alone.append(_timed(lambda: feedparser.parse(raw)))
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
    baseline = statistics.median(alone)
    print(f"  {'feedparser alone':<17} {baseline * 1000:8.1f} ms")
    for stage, values in samples.items():
        print(f"  {stage:<17} {statistics.median(values) * 1000:8.1f} ms")
    print(f"  {'/ feedparser':<17} {statistics.median(samples['refresh']) / baseline:8.2f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of this process (store building included): {peak:.0f} MB")
    print("  bound: a refresh without summaries in at most 30 s and 1 GB")


def _each(deflate: Callable[[bytes], bytes], bodies: list[bytes]) -> list[bytes]:
    return [deflate(body) for body in bodies]


def _gzip_levels(settings: Settings, raw: bytes, rounds: int) -> None:
    """The configuration's feeds of the recorded day deflated whole, each way: fastest time
    of `rounds`, and how many times smaller."""
    papers = parse_announcements(raw, settings.arxiv.categories, settings.arxiv.announce_types)
    ranked = Ranker.from_config(settings.rank, _interests(settings)).rank(papers.papers)
    feedback = FeedbackLinks(settings.site.base_url, "a-secret-of-the-deployment")
    feeds = render_all(settings, ranked, utc_now(SystemClock()), feedback)
    bodies = [feed.body for feed in feeds.values()]
    size = sum(map(len, bodies))
    print(f"{len(bodies)} feeds, {size / 1e6:.1f} MB; fastest of {rounds}")
    ways: dict[str, Callable[[bytes], bytes]] = {
        f"ISA-L level {level}": partial(isal_zlib.compress, level=level) for level in range(4)
    }
    ways["zlib level 6"] = partial(zlib.compress, level=6)
    for name, deflate in ways.items():
        every = partial(_each, deflate, bodies)
        seconds = min(_timed(every) for _ in range(rounds))
        deflated = sum(map(len, every()))
        print(f"  {name:<14} {seconds * 1000:7.1f} ms  {size / deflated:5.2f}x smaller")


if __name__ == "__main__":
    main()
