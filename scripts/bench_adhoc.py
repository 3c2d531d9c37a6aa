"""Ad-hoc feeds at a month's scale: p50 and p99 of filtered URLs over a 30-day store.

The store holds 30 announcement days of the recorded all-archives day (re-dated and
re-numbered per day, every item kept: 1,504 papers a day), ranked with the default rules,
in a temporary SQLite file. Each request shape is timed in-process through the ASGI app (one
client, one request at a time), after one warm-up request; the very first request, which
builds the day indexes, is timed apart. Peak RSS is this process's (store building included).

    uv run python scripts/bench_adhoc.py [--days 30] [--requests 20]   (needs ../shared)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from core.config import Settings, StoreConfig
from core.ingest.rss import parse_announcements
from core.models import Paper, Publication, RefreshReport
from core.rank import Ranker
from core.store import Store, open_store
from core.web.app import create_app

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/arxiv-rss/all-archives-2024-11-28.rss.xml"
)
SHAPES = {
    "q=moe,kv cache days=1": ("/feed.xml", {"q": 'moe,"kv cache"', "days": "1"}),
    "q=moe,kv cache days=7": ("/feed.xml", {"q": 'moe,"kv cache"', "days": "7"}),
    "q=moe,kv cache days=30": ("/feed.xml", {"q": 'moe,"kv cache"', "days": "30"}),
    "20 terms days=30": (
        "/api/count",
        {"q": ",".join(f"term{n}" for n in range(18)) + ",serving,gpu", "days": "30"},
    ),
    "cat=cs.LG days=30 limit=2000": (
        "/feed.json",
        {"cat": "cs.LG", "days": "30", "limit": "2000"},
    ),
    "count days=30": ("/api/count", {"days": "30"}),
}


def fill(store: Store, days: int) -> int:
    """`days` copies of the recorded day, each re-dated one day earlier and re-numbered."""
    recorded = parse_announcements(FIXTURE.read_bytes(), None, None).papers
    ranker = Ranker.from_config(Settings().rank)
    total = 0
    for back in range(days):
        copies = [
            paper.model_copy(
                update={
                    "id": f"{2400 + back:04d}.{n:05d}",
                    "announced": paper.announced - timedelta(days=back),
                }
            )
            for n, paper in enumerate(recorded)
        ]
        ranked: list[Paper] = ranker.rank(copies)
        day = ranked[0].day
        report = RefreshReport(
            started=ranked[0].announced, status="published", message="bench", source="bench"
        )
        store.publish(Publication(papers=ranked, days={day: [p.id for p in ranked]}, report=report))
        total += len(ranked)
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    if not FIXTURE.is_file():
        print(f"{FIXTURE} is missing: needs ../shared/fixtures", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(store=StoreConfig(url=f"sqlite:///{directory}/bench.db"))
        store = open_store(settings.store)
        papers = fill(store, args.days)
        print(f"store: {args.days} days, {papers} papers; {args.requests} requests per shape")
        client = TestClient(create_app(settings, lambda: store))
        started = time.perf_counter()
        client.get("/api/count", params={"days": str(args.days)})
        cold = (time.perf_counter() - started) * 1000
        print(f"  first request after a refresh (indexes {args.days} days): {cold:8.1f} ms")
        for name, (path, params) in SHAPES.items():
            assert client.get(path, params=params).status_code == 200, name
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(path, params=params)
                times.append((time.perf_counter() - started) * 1000)
            print(
                f"  {name:<30} p50 {statistics.median(times):8.1f} ms"
                f"   p99 {percentile(times, 0.99):8.1f} ms"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
