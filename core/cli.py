"""`arxiv-feeds serve | refresh | backfill | check-config | digest`.

Every failure the user can fix ends with one line saying what to fix and a non-zero exit code:
2 for bad input or configuration, 1 for an upstream or store failure, 75 when another refresh
holds the lock.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from core.clock import SystemClock
from core.config import ConfigError, Settings, load_settings
from core.models import Opinion, RefreshReport
from core.store import Store, StoreError, open_store, papers_of_days
from core.text import redact

EXIT_USAGE = 2
EXIT_UPSTREAM = 1
EXIT_LOCKED = 75
EXIT_BROKEN_PIPE = 141  # what a shell reports for a tool stopped by SIGPIPE


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """A mistake in the command line is one line saying what to fix (argparse would print
    the whole usage first), then exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port from 1 to 65535, got {text!r}")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="arxiv-feeds", description="Ranked arXiv announcements as RSS / Atom / JSON feeds."
    )
    parser.add_argument("--config", type=Path, help="config file (default: ./arxiv-feeds.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the feeds over HTTP")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every "
        "network interface)",
    )
    serve.add_argument(
        "--port", type=_port, default=8000, help="the TCP port to listen on (default 8000)"
    )
    refresh = commands.add_parser("refresh", help="fetch today's announcements and publish them")
    refresh.add_argument("--from-file", type=Path, help="ingest a saved rss.arxiv.org response")
    backfill = commands.add_parser("backfill", help="fill earlier days from the export API")
    backfill.add_argument("--days", type=int, required=True, help="how many days back (1-30)")
    commands.add_parser("check-config", help="validate and print the effective configuration")
    summarize = commands.add_parser("summarize", help="summarize one paper now and print it")
    summarize.add_argument("arxiv_id", metavar="ID", help="e.g. 2411.17700 or 2411.17700v2")
    summarize.add_argument("--lang", help="summary language (default: the first configured)")
    digest = commands.add_parser("digest", help="print a Markdown digest of the latest day")
    digest.add_argument("--limit", type=int, default=100, help="papers to list (default 100)")
    like = commands.add_parser("like", help="rank papers like these higher from the next refresh")
    like.add_argument("arxiv_ids", metavar="ID", nargs="*", help="e.g. 2411.17700")
    source = like.add_mutually_exclusive_group()
    source.add_argument(
        "--from",
        dest="library",
        type=Path,
        metavar="FILE",
        help="every arXiv paper of a BibTeX (.bib), RIS (.ris) or CSL-JSON (.json) export",
    )
    source.add_argument(
        "--zotero",
        action="store_true",
        help="every arXiv paper of your Zotero library (ZOTERO_USER_ID, ZOTERO_API_KEY)",
    )
    opinion = like.add_mutually_exclusive_group()
    opinion.add_argument("--less", action="store_true", help="rank papers like these lower")
    opinion.add_argument("--forget", action="store_true", help="drop your opinion of these")
    commands.add_parser("likes", help="list the papers you liked and disliked")
    return parser


def _report_exit(report: RefreshReport) -> int:
    print(f"{report.status}: {report.message}")
    for record in report.days:
        print(f"  {record.describe()}")
    if report.stage_seconds:
        print("stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in report.stage_seconds.items()))
    if report.status == "locked":
        return EXIT_LOCKED
    return EXIT_UPSTREAM if report.status in ("upstream-error", "failed") else 0


def _refresh(settings: Settings, store: Store, source_file: Path | None) -> int:
    from core.days.recovery import live_refresh

    if source_file is not None and not source_file.is_file():
        raise CommandError(f"--from-file: no such file {source_file}")
    report = live_refresh(settings, store, source_file=source_file)
    if report.summaries is not None:
        s = report.summaries
        print(
            f"summaries: {s.made} made, {s.reused} reused, {s.failed} failed, {s.skipped} over "
            f"budget, {s.deferred} left for the next refresh; tokens {s.prompt_tokens} in, "
            f"{s.completion_tokens} out"
        )
    return _report_exit(report)


def _summarize(settings: Settings, store: Store, arxiv_id: str, language: str | None) -> int:
    """Summarize one paper now and print it; the summary is cached for the feeds too."""
    from core.ingest import ArxivError
    from core.ingest.api import parse_query
    from core.ingest.client import ArxivClient
    from core.ingest.normalize import split_id
    from core.summarize.batch import live_summarizer
    from core.summarize.client import LLMError

    clock = SystemClock()
    deadline = clock.time() + settings.refresh.time_budget_seconds
    summarizer = live_summarizer(settings, store, clock, deadline)
    if summarizer is None:
        raise CommandError(f"summaries are {settings.summaries.status}")
    language = language or settings.summaries.languages[0]
    if language not in settings.summaries.languages:
        valid = ", ".join(settings.summaries.languages)
        raise CommandError(f"--lang: {language!r} is not in summaries.languages ({valid})")
    client = ArxivClient(settings.arxiv, store, clock=clock, deadline=deadline)
    try:
        paper_id, _ = split_id(arxiv_id)
        found = (
            store.papers([paper_id])
            or parse_query(client.query({"id_list": arxiv_id}), settings.arxiv.categories).papers
        )
        if not found:
            raise CommandError(f"arXiv has no paper {arxiv_id}")
        paper = found[0]
        summary, completion = summarizer.one(paper, language, deadline)
    except ValueError as error:
        raise CommandError(f"ID: {error}; expected e.g. 2411.17700 or hep-ph/0101001") from error
    except (ArxivError, LLMError) as error:
        raise CommandError(str(error), EXIT_UPSTREAM) from error
    finally:
        client.close()
        summarizer.close()
    usage = (
        f"tokens {completion.prompt_tokens} in, {completion.completion_tokens} out"
        if completion
        else "from the cache"
    )
    print(f"{paper.title} (arXiv:{paper.id}v{paper.version})")
    print(f"summary in {language} by {summary.model}, from the {summary.source}; {usage}\n")
    print(f"TL;DR: {summary.tldr}\n")
    for title, body in summary.sections():
        print(f"{title}\n{body}\n")
    return 0


def _backfill(settings: Settings, store: Store, days: int) -> int:
    if not 1 <= days <= 30:
        raise CommandError(f"--days: expected 1 to 30, got {days}")
    from core.days.recovery import backfill
    from core.ingest.client import ArxivClient
    from core.rank.embeddings import live_embedder

    clock = SystemClock()
    deadline = clock.time() + settings.refresh.time_budget_seconds
    client = ArxivClient(settings.arxiv, store, clock=clock, deadline=deadline)
    embedder = live_embedder(settings, store, clock, deadline)
    categories = ", ".join(settings.arxiv.categories)
    print(
        f"asking arXiv's catchup listing and export API for the weekdays of the last {days} days "
        f"of {categories} not held yet (one request every "
        f"{settings.arxiv.min_interval_seconds:g} s; retrying for up to "
        f"{settings.arxiv.retry_seconds:g} s when arXiv does not answer)...",
        flush=True,
    )
    try:
        return _report_exit(backfill(settings, store, client, days, embedder=embedder))
    finally:
        client.close()
        if embedder is not None:
            embedder.close()


def _digest(settings: Settings, store: Store, limit: int) -> int:
    from core.render.digest import render_digest

    if limit < 1:
        raise CommandError(f"--limit: expected a positive number, got {limit}")
    index = store.day_index()
    day = max(index) if index else None
    papers = papers_of_days(store, [day]) if day else []
    report = store.last_report()
    updated = (report.finished or report.started) if report else None
    print(render_digest(papers, day, settings.arxiv.categories, updated, limit))
    return 0


def _like(store: Store, arxiv_ids: list[str], opinion: Opinion | None) -> int:
    """Record the opinions; the next refresh re-scores the held days with them."""
    from pydantic import ValidationError

    from core.config import ArxivIdList

    try:
        ids = ArxivIdList.validate_python(arxiv_ids)
    except ValidationError as error:
        problem = error.errors()[0]
        given = arxiv_ids[int(problem["loc"][0])]
        raise CommandError(
            f"ID {given!r}: {problem['msg'].removeprefix('Value error, ')}"
        ) from error
    for paper_id in ids:
        store.set_like(paper_id, opinion)
    done = {"like": "liked", "dislike": "disliked", None: "forgotten"}[opinion]
    print(f"{done}: {', '.join(ids)}; the next refresh re-scores the feeds with it")
    return 0


def _like_library(store: Store, path: Path | None, opinion: Opinion | None, ids: list[str]) -> int:
    """Every arXiv paper of a reference export or of the Zotero library, all or nothing;
    entries without an arXiv id are counted and named, not an error."""
    from core.ingest.library import LibraryError, ZoteroError, read_library, zotero_entries
    from core.ingest.library import zotero_pages as pages

    if ids:
        raise CommandError("like: give arXiv ids or a library (--from, --zotero), not both")
    try:
        if path is not None:
            library, source = read_library(path), path.name
        else:
            user, key = os.environ.get("ZOTERO_USER_ID", ""), os.environ.get("ZOTERO_API_KEY", "")
            if not user.isdigit() or not key:
                raise CommandError("--zotero: set ZOTERO_USER_ID (a number) and ZOTERO_API_KEY")
            library, source = zotero_entries(pages(user, key)), "your Zotero library"
    except LibraryError as error:
        raise CommandError(f"{path}: {error}; nothing recorded") from error
    except OSError as error:
        raise CommandError(f"--from: cannot read {path}: {error.strerror}") from error
    except ZoteroError as error:
        raise CommandError(f"--zotero: {error}", EXIT_UPSTREAM) from error
    for paper_id in library.ids:
        store.set_like(paper_id, opinion)
    done = {"like": "liked", "dislike": "disliked", None: "forgot"}[opinion]
    print(f"{done} {len(library.ids)} arXiv papers from {source}; the next refresh ranks with them")
    if library.without_id:
        shown = ", ".join(library.without_id[:5]) + (", ..." if len(library.without_id) > 5 else "")
        print(f"{len(library.without_id)} entries have no arXiv id and were left out: {shown}")
    return 0


def _likes(settings: Settings, store: Store) -> int:
    from core.rank.reader import opinions

    wanted = opinions(settings, store)
    known = store.examples(list(wanted)) + store.papers(list(wanted))
    titles = {paper.id: paper.title for paper in known}
    stored = store.likes()
    for paper_id, opinion in wanted.items():
        where = "feedback" if paper_id in stored else f"rank.{opinion}"
        title = titles.get(paper_id, "(title known after the next refresh)")
        print(f"{opinion}\t{paper_id}\t{where}\t{title}")
    if not wanted:
        print("no likes yet: `arxiv-feeds like ID`, rank.like, or the links in each feed item")
    return 0


def _check_config(settings: Settings) -> int:
    effective = settings.model_dump(mode="json")
    effective["store"]["url"] = redact(settings.store.url)
    print(
        f"config OK ({settings.source}); summaries {settings.summaries.status}; "
        f"likes {settings.likes_status}; meaning {settings.meaning_status}"
    )
    print(json.dumps(effective, indent=2, ensure_ascii=False))
    return 0


def _serve(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from core.web.app import create_app

    listening = _listening_socket(host, port)
    store = open_store(settings.store)
    if not store.day_index():
        print(
            "The store is empty: feeds are valid but hold no papers until you run "
            "`uv run arxiv-feeds refresh`."
        )
    print(f"Serving on http://{host}:{port}/ (store: {redact(settings.store.url)})")
    config = uvicorn.Config(create_app(settings, lambda: store), log_level="info")
    uvicorn.Server(config).run(sockets=[listening])
    return 0


def _listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything says it serves: a port in use or an
    address this machine does not have is one line naming it."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except (socket.gaierror, UnicodeError) as error:
        raise CommandError(f"--host: cannot listen on {host!r}: {error}") from error
    listening = socket.socket(family, kind, protocol)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(address)
    except OSError as error:
        listening.close()
        reason = "is in use (another server?)" if error.errno == errno.EADDRINUSE else "is refused"
        raise CommandError(
            f"--port: {host}:{port} {reason}: {error.strerror}; choose another with --port"
        ) from error
    listening.listen(2048)
    return listening


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings(args.config)
    if args.command == "check-config":
        return _check_config(settings)
    if args.command == "serve":
        return _serve(settings, args.host, args.port)
    store = open_store(settings.store)
    try:
        if args.command == "refresh":
            return _refresh(settings, store, args.from_file)
        if args.command == "backfill":
            return _backfill(settings, store, args.days)
        if args.command == "summarize":
            return _summarize(settings, store, args.arxiv_id, args.lang)
        if args.command == "like":
            opinion: Opinion | None = None if args.forget else "dislike" if args.less else "like"
            if args.library or args.zotero:
                return _like_library(store, args.library, opinion, args.arxiv_ids)
            if not args.arxiv_ids:
                raise CommandError("like: give arXiv ids, --from FILE or --zotero")
            return _like(store, args.arxiv_ids, opinion)
        if args.command == "likes":
            return _likes(settings, store)
        return _digest(settings, store, args.limit)
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except ConfigError as error:
        print(f"arxiv-feeds: invalid configuration: {error}", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as error:
        print(f"arxiv-feeds: {error}", file=sys.stderr)
        return error.code
    except StoreError as error:
        print(f"arxiv-feeds: store unavailable: {redact(str(error))}", file=sys.stderr)
        return EXIT_UPSTREAM
    except KeyboardInterrupt:
        print("arxiv-feeds: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, like any Unix tool
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush fails silently
        return EXIT_BROKEN_PIPE
    except Exception as error:  # a bug: one line for the user, the traceback only on request
        if os.environ.get("ARXIV_FEEDS_DEBUG"):
            raise
        print(
            f"arxiv-feeds: unexpected error: {type(error).__name__}: {redact(str(error))} "
            "(run with ARXIV_FEEDS_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_UPSTREAM


if __name__ == "__main__":
    sys.exit(main())
