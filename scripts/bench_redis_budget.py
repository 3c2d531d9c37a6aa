"""What one refresh and each kind of request cost in Redis commands and bytes, as the server
itself counts them (INFO: total_commands_processed, total_net_input_bytes,
total_net_output_bytes), on a redis-server of its own with Upstash-like limits.

Usage: `uv run python scripts/bench_redis_budget.py [--held-days 2]` (needs
../shared/fixtures and redis-server). With --held-days N, the store holds N earlier days
first (as a refresh leaves them), so the feeds hold N + 1 days as a deployment's do once its
window (`feeds.days`, 3 by default) is full. Each request is measured in a fresh app
(nothing kept in memory yet: what a cold serverless instance pays) and again right after;
the daily cost counts every feed request as cold, and every refresh as deleting the version
before the current one (as each does from the third on). Prints a Markdown table for
docs/BENCHMARKS.md and the daily cost of a default deployment for docs/deploy.md.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
RECORDED_DAY = ROOT.parent / "shared" / "fixtures" / "arxiv-rss" / "all-archives-2024-11-28.rss.xml"
REQUESTS = {
    "stored feed `/feeds/cs.LG.xml`": "/feeds/cs.LG.xml",
    'ad-hoc feed `/feed.xml?q=moe,"kv cache"`': '/feed.xml?q=moe,"kv cache"',
    "`/api/papers?cat=cs.LG`": "/api/papers?cat=cs.LG",
    "landing page `/`": "/",
    "`/health`": "/health",
}
FEED_REQUESTS_A_DAY = 1000
CRON_RUNS_A_DAY = 2


@dataclass
class Cost:
    commands: int
    sent: int
    received: int

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.commands + other.commands, self.sent + other.sent, self.received + other.received
        )

    def __sub__(self, other: Cost) -> Cost:
        return self + Cost(-other.commands, -other.sent, -other.received)

    def __mul__(self, times: int) -> Cost:
        return Cost(self.commands * times, self.sent * times, self.received * times)

    def row(self, name: str) -> str:
        return f"| {name} | {self.commands} | {self.sent / 1e3:,.1f} | {self.received / 1e3:,.1f} |"


class Meter:
    """Differences of the server's own counters, less the INFO call that reads them."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.overhead = Cost(0, 0, 0)
        self.overhead = self.measure(lambda: None)

    def _counters(self) -> Cost:
        stats = self.client.info("stats")
        return Cost(
            int(stats["total_commands_processed"]),
            int(stats["total_net_input_bytes"]),
            int(stats["total_net_output_bytes"]),
        )

    def measure(self, work: Callable[[], object]) -> Cost:
        before = self._counters()
        work()
        after = self._counters()
        return Cost(
            after.commands - before.commands - self.overhead.commands,
            after.sent - before.sent - self.overhead.sent,
            after.received - before.received - self.overhead.received,
        )


def main() -> int:
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from core.config import load_settings
    from core.ingest.rss import parse_announcements
    from core.refresh import refresh
    from core.store import open_store
    from core.web.app import create_app
    from scripts.bench_refresh import hold_earlier_days
    from scripts.local_redis import local_redis_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-days", type=int, default=0, help="earlier days held first")
    args = parser.parse_args()

    if not RECORDED_DAY.is_file():
        print(f"{RECORDED_DAY} is missing (the recorded arXiv responses)", file=sys.stderr)
        return 1
    raw = RECORDED_DAY.read_bytes()
    with local_redis_server() as url:
        settings = load_settings(ROOT / "arxiv-feeds.toml", env={"STORE_URL": url})
        store = open_store(settings.store)
        if args.held_days:
            announced = parse_announcements(
                raw, settings.arxiv.categories, settings.arxiv.announce_types
            )
            hold_earlier_days(settings, store, announced.papers, args.held_days)
        meter = Meter(url)
        first = meter.measure(lambda: refresh(settings, store, lambda: raw, source="bench"))
        second = meter.measure(lambda: refresh(settings, store, lambda: raw, source="bench"))
        # from the third on, a publication also deletes the version before the current one
        again = meter.measure(lambda: refresh(settings, store, lambda: raw, source="bench"))
        rows = [
            first.row("refresh, a new day (an empty store)"),
            second.row("refresh, the same day again"),
            again.row("refresh, the same day a third time (deletes the first's version)"),
        ]
        costs: dict[str, Cost] = {}
        for name, path in REQUESTS.items():
            # cold: a fresh process (no feed kept in memory, no day index built yet)
            with TestClient(create_app(settings, lambda: store)) as client:
                costs[name] = meter.measure(lambda path=path: client.get(path))  # type: ignore[misc]
                warm = meter.measure(lambda path=path: client.get(path))  # type: ignore[misc]
            rows.append(costs[name].row(f"{name}, cold"))
            rows.append(warm.row(f"{name}, again within 10 s"))
        # a reader's poll of the copy it has (If-None-Match), on a cold instance reached at
        # the address the feeds were rendered for (as a deployment is)
        site = settings.site.base_url
        with TestClient(create_app(settings, lambda: store), base_url=site) as client:
            current = client.get("/feeds/cs.LG.xml").headers["etag"]
        # and of an older copy, as every reader's first poll after a refresh (200)
        polls = {"unchanged (304)": current, "after a refresh (200)": '"an-older-copy"'}
        for polled, etag in polls.items():
            fresh = open_store(settings.store)  # nothing of the version read yet
            with TestClient(create_app(settings, lambda s=fresh: s), base_url=site) as client:  # type: ignore[misc]
                poll = meter.measure(
                    lambda e=etag: client.get("/feeds/cs.LG.xml", headers={"If-None-Match": e})  # type: ignore[misc]
                )
            rows.append(poll.row(f"stored feed `/feeds/cs.LG.xml`, cold, polled {polled}"))
    print("| what | commands | KB sent to Redis | KB read from Redis |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    feed = costs["stored feed `/feeds/cs.LG.xml`"]
    # a deployment's day: a new day and the same day again, each deleting a version
    new_day = first + (again - second)
    daily = new_day + again * (CRON_RUNS_A_DAY - 1) + feed * FEED_REQUESTS_A_DAY
    print(
        f"\na day: {CRON_RUNS_A_DAY} cron refreshes + {FEED_REQUESTS_A_DAY} stored-feed requests"
        f" = {daily.commands:,} commands, {(daily.sent + daily.received) / 1e6:,.1f} MB;"
        f" 30 days = {30 * daily.commands:,} commands,"
        f" {30 * (daily.sent + daily.received) / 1e9:,.2f} GB"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
