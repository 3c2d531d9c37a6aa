"""Ad-hoc feeds at a month's scale: p50 and p99 of filtered URLs over a 30-day store.

The store holds 30 announcement days of the recorded all-archives day (re-dated and
re-numbered per day, every item kept: 1,504 papers a day), ranked with the default rules,
with each day's index as a refresh writes it, in a temporary SQLite file. Each request shape
is timed in-process through the ASGI app (one client, one request at a time), after one
warm-up request, with the items other requests rendered kept and with none kept (every item
rendered anew); the very first request of a new process, which reads the stored day
indexes, is timed apart. Peak RSS is this process's (store building included).

    uv run python scripts/bench_adhoc.py [--days 30] [--requests 20] [--wrk SECONDS]
                                         [--store sqlite|redis]

With --store redis, the store is a throwaway redis-server with Upstash's 1 MB value limit.

With --wrk, each shape is also loaded by 8 concurrent clients (Debian's `wrk -t1 -c8`)
against a uvicorn process serving the same store, which reports its own peak RSS, then timed
for one client taking gzip as feed readers do (`wrk -t1 -c1`, an external client: the
in-process timings above include the test client decompressing and reading each answer).
(needs ../shared)
"""

from __future__ import annotations

import argparse
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from fastapi.testclient import TestClient

from core.config import Settings, StoreConfig
from core.ingest.rss import parse_announcements
from core.models import Paper, Publication, RefreshReport
from core.query.index import day_indexes
from core.rank.ranker import Ranker
from core.store import Store, open_store
from core.web.app import create_app
from core.web.fragment_cache import fragment_cache
from scripts.child_server import serving
from scripts.local_redis import local_redis_server
from scripts.wrk import run_wrk

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


def fill(
    store: Store,
    days: int,
    *,
    papers: list[Paper] | None = None,
    ranker: Ranker | None = None,
    first_back: int = 0,
    ranking: str = "",
    numbered_from: int = 2400,
) -> int:
    """`days` copies of the recorded day (or of `papers`), re-dated one day earlier each,
    starting `first_back` days before it, and re-numbered; ranked (by the default rules, or
    `ranker`) and published with their day indexes, as made with `ranking` (a refresh's
    fingerprint of its rules); the copy `back` days back numbered `numbered_from + back`."""
    recorded = papers or parse_announcements(FIXTURE.read_bytes(), None, None).papers
    ranker = ranker or Ranker.from_config(Settings().rank)
    total = 0
    for back in range(first_back, first_back + days):
        copies = [
            paper.model_copy(
                update={
                    "id": f"{numbered_from + back:04d}.{n:05d}",
                    "announced": paper.announced - timedelta(days=back),
                }
            )
            for n, paper in enumerate(recorded)
        ]
        ranked: list[Paper] = ranker.rank(copies)
        day = ranked[0].day
        report = RefreshReport(
            started=ranked[0].announced,
            status="published",
            message="bench",
            source="bench",
            ranking=ranking,
        )
        ids = {day: [p.id for p in ranked]}
        indexes = day_indexes(ids, ranked, report.ranking)  # as a refresh writes them
        store.publish(Publication(papers=ranked, days=ids, indexes=indexes, report=report))
        total += len(ranked)
    return total


def serve(fd: int, store_url: str) -> None:
    """Child process: the app over the store, on the inherited socket; its peak RSS at exit."""
    import atexit

    import uvicorn

    settings = Settings(store=StoreConfig(url=store_url))
    store = open_store(settings.store)

    def report_peak() -> None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  server peak RSS: {peak:.0f} MB", flush=True)

    atexit.register(report_peak)
    # uvicorn handles SIGTERM, then raises it again once stopped: exit then, atexit included
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    config = uvicorn.Config(create_app(settings, lambda: store), log_level="warning")
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


def load_with_wrk(store_url: str, seconds: int) -> None:
    with serving(__file__, ["--store-url", store_url]) as (base, _):
        for name, (path, params) in SHAPES.items():
            url = f"{base}{path}?{urlencode(params)}"
            httpx.get(url, timeout=120).raise_for_status()  # builds the day indexes
            loaded = run_wrk(url, 8, seconds)
            alone = run_wrk(url, 1, seconds, "Accept-Encoding: gzip")
            print(
                f"  {name:<30} {loaded.rate:>8} req/s   p50 {loaded.p50:>8}   "
                f"one client, gzip: p50 {alone.p50:>8} p99 {alone.p99:>8}   {loaded.errors or ''}"
            )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(store_url: str, args: argparse.Namespace) -> None:
    """Fill a store at `store_url` and time every shape against it (see the module's text)."""
    settings = Settings(store=StoreConfig(url=store_url))
    store = open_store(settings.store)
    papers = fill(store, args.days)
    print(f"store: {args.days} days, {papers} papers; {args.requests} requests per shape")
    app = create_app(settings, lambda: store)
    client = TestClient(app)
    started = time.perf_counter()
    client.get("/feed.xml", params={"q": 'moe,"kv cache"', "days": str(args.days)})
    cold = (time.perf_counter() - started) * 1000
    print(f"  first request of a process (reads {args.days} stored indexes): {cold:8.1f} ms")
    kept = app.state.context
    nothing_kept = replace(kept, fragments=fragment_cache(max_bytes=0))
    for name, (path, params) in SHAPES.items():
        assert client.get(path, params=params).status_code == 200, name
        columns = []
        for context in (kept, nothing_kept):
            app.state.context = context
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(path, params=params)
                times.append((time.perf_counter() - started) * 1000)
            columns.append(
                f"p50 {statistics.median(times):7.1f} ms  p99 {percentile(times, 0.99):7.1f} ms"
            )
        print(f"  {name:<30} {columns[0]}   items made anew: {columns[1]}")
        app.state.context = kept
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB")
    if args.wrk:
        print(f"8 concurrent clients (wrk -t1 -c8, {args.wrk} s per shape), uvicorn:")
        load_with_wrk(settings.store.url, args.wrk)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--wrk", type=int, metavar="SECONDS", help="also load with wrk -c8")
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--serve-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fd is not None:
        serve(args.serve_fd, args.store_url)
        return 0
    if not FIXTURE.is_file():
        print(f"{FIXTURE} is missing: needs ../shared/fixtures", file=sys.stderr)
        return 2
    if args.store == "redis":
        with local_redis_server() as url:
            measure(url, args)
    else:
        with tempfile.TemporaryDirectory() as directory:
            measure(f"sqlite:///{directory}/bench.db", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
