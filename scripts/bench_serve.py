"""Serving benchmark: a pre-rendered category feed against a route returning the same number
of constant bytes from memory, in the same uvicorn process, interleaved in one run, for the
SQLite and the Redis store.

    uv run python scripts/bench_serve.py [--requests 400] [--rounds 3] [--concurrency 4]
        [--redis-url redis://127.0.0.1:6379/0] [--wrk SECONDS | --asgi REQUESTS
        | --instructions REQUESTS]

The server runs in a child process on a socket bound here; the load comes from this process,
or with --wrk from wrk (Debian's `wrk`; `wrk -t1 -c8` for SECONDS per round), an external
load generator that does not make the client the bottleneck. With --asgi, no server: each
route is called through the app in this process, REQUESTS times a round. With
--instructions, the server runs under valgrind's callgrind, which counts the instructions it
runs for REQUESTS sequential requests of each route a round: a count this shared machine's
noise does not move, where the rates above drift by a quarter from round to round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from core.config import Settings, StoreConfig
from core.refresh import refresh
from core.store import open_store
from scripts.child_server import serving
from scripts.wrk import run_wrk

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/arxiv-rss/all-archives-2024-11-28.rss.xml"
)
FEED = "cs.LG.xml"


def _app_with_constant(store_url: str, prefix: str) -> Any:
    """The real app plus `/bench/constant`: as many bytes as the feed, from memory."""
    from fastapi import Request, Response

    from core.web.app import create_app

    settings = Settings(store=StoreConfig(url=store_url, redis_prefix=prefix))
    store = open_store(settings.store)
    app = create_app(settings, lambda: store)
    feed = store.feed(FEED)
    assert feed is not None, "refresh the store before serving"
    constant = bytes(len(feed.body))

    async def constant_bytes(_: Request) -> Response:
        return Response(constant, media_type=feed.media_type)

    # a plain Starlette route, as the stored feeds are: the same framework work on both sides
    app.add_route("/bench/constant", constant_bytes, methods=["GET"])
    return app


def serve(fd: int, store_url: str, prefix: str) -> None:
    """Child process: the app and its constant route, on the inherited socket."""
    import uvicorn

    app = _app_with_constant(store_url, prefix)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(
        sockets=[socket.socket(fileno=fd)]
    )


async def _asgi_microseconds(app: Any, path: str, requests: int) -> float:
    """Mean time of `requests` GETs of `path` through the app itself (no server, no socket)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"accept-encoding", b"identity")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message

    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / requests * 1e6


def _compare_in_process(store_url: str, prefix: str, args: argparse.Namespace, label: str) -> None:
    """Both routes through the app alone, rounds interleaved: what the route itself costs
    beyond sending bytes, free of the server's and the load generator's noise."""
    app = _app_with_constant(store_url, prefix)
    paths = {"constant": "/bench/constant", "feed": f"/feeds/{FEED}"}
    times: dict[str, list[float]] = {name: [] for name in paths}
    for path in paths.values():  # warm-up: the feed is read and kept
        asyncio.run(_asgi_microseconds(app, path, 50))
    for _ in range(args.rounds):
        for name, path in paths.items():
            times[name].append(asyncio.run(_asgi_microseconds(app, path, args.asgi)))
    medians = {name: statistics.median(measured) for name, measured in times.items()}
    for name, median in medians.items():
        print(f"  {label:<6} {name:<8} {median:6.1f} us a request in process (median of rounds)")
    beyond = medians["feed"] - medians["constant"]
    print(f"  {label:<6} feed route beyond the constant one: {beyond:+.1f} us")


async def _load(base: str, path: str, requests: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = iter(range(requests))
    # identity: both routes send the same uncompressed bytes (no on-the-fly gzip of the constant
    # route, no pre-compressed feed), so the difference is the store read and the HTTP logic
    headers = {"Accept-Encoding": "identity"}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as client:

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                response = await client.get(path)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def _compare_with_wrk(
    base: str, paths: dict[str, str], seconds: int, rounds: int, label: str
) -> None:
    """Each round loads both routes back to back, each going first in every other round;
    the ratio is the median of the rounds' own ratios, which this shared machine's drifting
    load moves far less than the rates."""
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for round_number in range(rounds):
        order = list(paths.items())[:: 1 if round_number % 2 == 0 else -1]
        for name, path in order:
            rates[name].append(_wrk(base + path, seconds))
    for name, measured in rates.items():
        print(f"  {label:<6} {name:<8} {statistics.mean(measured):8.1f} req/s (wrk -t1 -c8, mean)")
    ratios = [f / c for f, c in zip(rates["feed"], rates["constant"], strict=True)]
    print(
        f"  {label:<6} feed / constant throughput = {statistics.median(ratios):.0%} "
        f"(median of {rounds} rounds, {min(ratios):.0%}-{max(ratios):.0%}; target >= 90%)"
    )


def _wrk(url: str, seconds: int) -> float:
    """Requests per second wrk reaches against `url` with 8 connections on one thread."""
    run = run_wrk(url, 8, seconds, "Accept-Encoding: identity")
    if run.errors:
        raise RuntimeError(f"wrk saw errors against {url}: {run.errors}")
    return run.rate


def _store_arguments(store_url: str, prefix: str) -> list[str]:
    return ["--store-url", store_url, "--prefix", prefix]


def _callgrind(pid: int, *options: str) -> None:
    subprocess.run(["callgrind_control", *options, str(pid)], check=True, capture_output=True)


def _instructions_per_request(pid: int, url: str, requests: int, dumps: Path) -> float:
    """Instructions the server process ran for `requests` sequential GETs of `url`, each."""
    _callgrind(pid, "--zero")
    with httpx.Client(headers={"Accept-Encoding": "identity"}, timeout=600) as client:
        for _ in range(requests):
            response = client.get(url)
            assert response.status_code == 200 and response.content, (url, response.status_code)
    before = set(dumps.iterdir())
    _callgrind(pid, "--dump")
    (dump,) = set(dumps.iterdir()) - before
    totals = re.search(rb"^(?:totals|summary): (\d+)", dump.read_bytes(), re.MULTILINE)
    assert totals, f"no instruction count in {dump}"
    dump.unlink()
    return int(totals.group(1)) / requests


def _compare_instructions(
    store_url: str, prefix: str, args: argparse.Namespace, label: str
) -> None:
    """Both routes served by one uvicorn process under callgrind, rounds interleaved: the
    instructions the server runs per request, which this machine's noise does not move (the
    load comes from this process, whose speed does not count)."""
    paths = {"constant": "/bench/constant", "feed": f"/feeds/{FEED}"}
    counts: dict[str, list[float]] = {name: [] for name in paths}
    with tempfile.TemporaryDirectory() as directory:
        dumps = Path(directory)
        under = [
            "valgrind",
            "--quiet",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={dumps}/callgrind.out",
        ]
        with serving(__file__, _store_arguments(store_url, prefix), under) as (base, pid):
            _wait_until_serving(base + paths["feed"])
            _callgrind(pid, "--instr=on")
            for path in paths.values():  # warm-up, counted for nothing
                _instructions_per_request(pid, base + path, 20, dumps)
            for round_number in range(args.rounds):
                order = list(paths.items())[:: 1 if round_number % 2 == 0 else -1]
                for name, path in order:
                    counts[name].append(
                        _instructions_per_request(pid, base + path, args.instructions, dumps)
                    )
    medians = {name: statistics.median(measured) for name, measured in counts.items()}
    for name, median in medians.items():
        print(f"  {label:<6} {name:<8} {median:>12,.0f} instructions a request (median)")
    print(
        f"  {label:<6} feed / constant instructions = {medians['feed'] / medians['constant']:.3f} "
        f"(so feed / constant throughput {medians['constant'] / medians['feed']:.0%} where the "
        "server's CPU is the bound)"
    )


def _wait_until_serving(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=60).raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} never answered")


def _bench_store(label: str, store_url: str, prefix: str, args: argparse.Namespace) -> None:
    settings = Settings(store=StoreConfig(url=store_url, redis_prefix=prefix))
    store = open_store(settings.store)
    refresh(settings, store, FIXTURE.read_bytes, source="bench")
    store.close()
    if args.asgi:
        _compare_in_process(store_url, prefix, args, label)
        return
    if args.instructions:
        _compare_instructions(store_url, prefix, args, label)
        return
    results: dict[str, list[tuple[float, list[float]]]] = {"constant": [], "feed": []}
    paths = {"constant": "/bench/constant", "feed": f"/feeds/{FEED}"}
    with serving(__file__, _store_arguments(store_url, prefix)) as (base, _):
        _wait_until_serving(base + paths["feed"])
        asyncio.run(_load(base, paths["feed"], 20, 2))  # warm-up
        if args.wrk:
            _compare_with_wrk(base, paths, args.wrk, args.rounds, label)
            return
        for _ in range(args.rounds):
            for name in ("constant", "feed"):
                results[name].append(
                    asyncio.run(_load(base, paths[name], args.requests, args.concurrency))
                )
    rates = {}
    for name, runs in results.items():
        elapsed = sum(run[0] for run in runs)
        latencies = sorted(x for run in runs for x in run[1])
        rates[name] = len(latencies) / elapsed
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(
            f"  {label:<6} {name:<8} {rates[name]:8.1f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
        )
    print(
        f"  {label:<6} feed / constant throughput = {rates['feed'] / rates['constant']:.0%} "
        "(target >= 70%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--wrk", type=int, metavar="SECONDS", help="load from wrk instead")
    parser.add_argument(
        "--asgi", type=int, metavar="REQUESTS", help="time REQUESTS a round through the app alone"
    )
    parser.add_argument(
        "--instructions",
        type=int,
        metavar="REQUESTS",
        help="count the server's instructions (valgrind's callgrind) over REQUESTS a round",
    )
    parser.add_argument("--serve-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store-url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="arxiv-feeds-bench:", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fd is not None:
        serve(args.serve_fd, args.store_url, args.prefix)
        return
    if args.instructions:
        load = f"{args.instructions} sequential requests, the server under callgrind"
    elif args.wrk:
        load = f"{args.wrk} s of wrk -t1 -c8"
    elif args.asgi:
        load = f"{args.asgi} requests through the app alone"
    else:
        load = f"{args.requests} requests, concurrency {args.concurrency}"
    print(
        f"{FEED} body served from the store vs the same number of bytes from memory; "
        f"{args.rounds} interleaved rounds x {load}"
    )
    with tempfile.TemporaryDirectory() as directory:
        _bench_store("sqlite", f"sqlite:///{directory}/bench.db", "unused:", args)
    prefix = f"arxiv-feeds-bench-{uuid.uuid4().hex}:"
    try:
        _bench_store("redis", args.redis_url, prefix, args)
    finally:
        import redis

        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


if __name__ == "__main__":
    main()
