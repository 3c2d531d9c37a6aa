"""Summaries benchmark: 15 papers against a local stand-in provider that answers every
chat completion after a fixed delay D; wall time against the ideal ceil(15 / concurrency) x D.

    uv run python scripts/bench_summarize.py [--delay 0.5] [--concurrency 5] [--papers 15]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from core.clock import SystemClock
from core.config import Settings, SummariesConfig
from core.models import AnnounceType, Hit, Paper, Score
from core.store.sqlite import SQLiteStore
from core.summarize.batch import Summarizer
from core.summarize.client import LLMClient
from core.summarize.fulltext import abstract_only

ANSWER = {
    "tldr": "A summary.",
    "contributions": "c",
    "methods": "m",
    "results": "r",
    "conclusions": "k",
}


def _provider(delay: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay)  # the stand-in provider's fixed latency
            body = json.dumps(
                {
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": json.dumps(ANSWER)},
                        }
                    ],
                    "usage": {"prompt_tokens": 1000, "completion_tokens": 200},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--papers", type=int, default=15)
    args = parser.parse_args()
    server = _provider(args.delay)
    summaries = SummariesConfig(
        api_key="bench",  # type: ignore[arg-type]
        base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
        model="stand-in",
        concurrency=args.concurrency,
        max_papers=args.papers,
    )
    settings = Settings(summaries=summaries)
    score = Score(total=5.0, hits=[Hit(rule="LLM", field="title", matched="llm", points=5.0)])
    papers = [
        Paper(
            id=f"2411.{n:05d}",
            title=f"LLM paper {n}",
            authors=["A. Author"],
            abstract=f"Abstract {n}.",
            categories=["cs.LG"],
            primary_category="cs.LG",
            announce_type=AnnounceType.NEW,
            announced=datetime(2024, 11, 28, tzinfo=UTC),
            score=score,
        )
        for n in range(args.papers)
    ]
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as directory:
        store = SQLiteStore(Path(directory) / "bench.db")
        llm = LLMClient(summaries, clock)
        summarizer = Summarizer(settings, store, llm, abstract_only, clock)
        started = time.perf_counter()
        _, stats = summarizer.run(papers, clock.time() + 600, clock.time() + 600)
        wall = time.perf_counter() - started
        llm.close()
        store.close()
    server.shutdown()
    ideal = math.ceil(args.papers / args.concurrency) * args.delay
    print(
        f"{stats.made} summaries made ({stats.failed} failed), concurrency {args.concurrency}, "
        f"provider delay {args.delay:.2f} s"
    )
    print(
        f"  wall {wall:.3f} s, ideal ceil({args.papers}/{args.concurrency}) x {args.delay} = "
        f"{ideal:.3f} s, ratio {wall / ideal:.2f}x (target <= 1.3x)"
    )


if __name__ == "__main__":
    main()
