"""The refresh wired to the real world, and what keeps its days whole.

`live_refresh` asks arXiv (conditionally, when the newest day is published and settled), runs
the pipeline (`core.refresh`), then looks for announcement days it missed and recovers them
from arXiv's catchup listing (`core.days.calendar`); `backfill` recovers the last days on request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx

from core.clock import Clock, SystemClock, utc_now
from core.config import Settings
from core.days.calendar import latest, missing_days, record_days, recover_day, unheld, weekdays
from core.ingest import ArxivError
from core.ingest.api import papers_by_id
from core.ingest.catchup import PageShapeError
from core.ingest.client import ArxivClient, NotModified
from core.models import Calendar, DayRecord, DayState, Paper, RefreshReport
from core.rank.embeddings import Embedder, live_embedder
from core.rank.reader import opinions, ranking_fingerprint
from core.refresh import Stages, counted_papers, keep, publish_days, refresh
from core.store import Store
from core.store.lock import locked
from core.summarize.batch import Summarizer, live_summarizer


def recover_missed_days(
    settings: Settings,
    store: Store,
    client: ArxivClient,
    after: RefreshReport,
    *,
    clock: Clock | None = None,
    summarizer: Summarizer | None = None,
    embedder: Embedder | None = None,
) -> RefreshReport:
    """After a refresh (`after`): the weekdays missing between the days held, recovered from
    arXiv's catchup listing newest first and published in their places, a holiday remembered
    as one, and what cannot be recovered now recorded as missing with the reason. The report
    is `after`'s, with what recovery did added and the latest days' records."""
    clock = clock or SystemClock()
    held = store.day_index()
    today = utc_now(clock).date()
    newest = max(held, default=today)
    gaps = missing_days(held, store.calendar(), newest, today, settings.store.retention_days)
    return _recover(settings, store, client, gaps, after, clock, summarizer, embedder)


def backfill(
    settings: Settings,
    store: Store,
    client: ArxivClient,
    days: int,
    *,
    clock: Clock | None = None,
    embedder: Embedder | None = None,
) -> RefreshReport:
    """The weekdays of the last `days` days that the service does not hold, read from arXiv's
    catchup listing (so each paper lands on the day arXiv announced it) and published, newest
    first; a day already held is left as it is."""
    clock = clock or SystemClock()
    today = utc_now(clock).date()
    held, calendar = store.day_index(), store.calendar()
    wanted = unheld(weekdays(today - timedelta(days=days - 1), today), held, calendar)
    started = RefreshReport(
        started=utc_now(clock), status="no-announcement", message="", source="arXiv catchup"
    )
    if not wanted:
        note = f"every weekday of the last {days} days is held already"
        return started.model_copy(update={"message": note, "days": latest(calendar, held)})
    return _recover(settings, store, client, wanted, started, clock, None, embedder)


def _recover(
    settings: Settings,
    store: Store,
    client: ArxivClient,
    gaps: list[date],
    after: RefreshReport,
    clock: Clock,
    summarizer: Summarizer | None,
    embedder: Embedder | None,
) -> RefreshReport:
    """`gaps` read from catchup and published in their places; their records kept."""
    if not gaps:
        return after.model_copy(update={"days": latest(store.calendar(), store.day_index())})
    records, found = _recovered(settings, client, gaps)
    calendar = record_days(store, settings, records)
    message = (after.message + _recovery_note(records)).removeprefix("; ")
    status = after.status
    if found:
        stages = Stages(clock, _lookup(client, settings), embedder)

        def work(report: RefreshReport) -> RefreshReport:
            by_day = _added_to_days(store.day_index(), found)
            done = report.model_copy(update={"status": "published", "message": message})
            return publish_days(settings, store, found, by_day, done, stages, summarizer)

        published = locked(store, clock, "arXiv catchup listing", work)
        message, status = published.message, published.status
        if published.status != "published":  # the papers were read, but not published
            unpublished = {
                day: record.model_copy(
                    update={
                        "state": "missing",
                        "reason": f"recovered, not published: {published.message}",
                        "next_try": "at the next refresh",
                    }
                )
                for day, record in records.items()
                if record.state == "recovered"
            }
            calendar = record_days(store, settings, unpublished)
    if after.status == "published":
        status = "published"
    return after.model_copy(
        update={"message": message, "status": status, "days": latest(calendar, store.day_index())}
    )


def _recovered(
    settings: Settings, client: ArxivClient, gaps: list[date]
) -> tuple[Calendar, list[Paper]]:
    """Each gap's record, and the papers of the days recovered."""
    records: Calendar = {}
    found: list[Paper] = []
    for day in gaps:
        try:
            recovered = recover_day(client, settings, day)
        except (ArxivError, PageShapeError) as error:
            shape = "page shape: " if isinstance(error, PageShapeError) else ""
            records[day] = DayRecord(
                day=day,
                state="missing",
                reason=f"recovery failed: {shape}{error}",
                next_try="at the next refresh",
            )
            continue
        papers = keep(recovered.papers, settings)
        state: DayState = "holiday" if recovered.holiday else "recovered"
        records[day] = DayRecord(
            day=day, state=state, announced=recovered.announced, held=len(papers)
        )
        found += papers
    return records, found


def _recovery_note(records: Calendar) -> str:
    said = []
    for day, record in sorted(records.items(), reverse=True):
        if record.state == "recovered":
            said.append(f"recovered {counted_papers(record.held)} announced {day}")
        elif record.state == "holiday":
            said.append(f"{day} had no announcement (a holiday)")
        else:
            said.append(f"{day} is missing: {record.reason}; next try {record.next_try}")
    return "".join(f"; {line}" for line in said)


def _lookup(client: ArxivClient, settings: Settings) -> Callable[[list[str]], list[Paper]]:
    """Where liked papers the store lacks are read: the export API, through `client`."""
    return lambda ids: papers_by_id(client.query, ids, settings.arxiv.categories)


def _added_to_days(index: dict[date, list[str]], papers: list[Paper]) -> dict[date, list[str]]:
    """The stored days `papers` fall on (day -> ids), each with those of them it lacks
    added after the ids it holds."""
    by_day: dict[date, list[str]] = {}
    for paper in papers:
        by_day.setdefault(paper.day, list(index.get(paper.day, [])))
        if paper.id not in by_day[paper.day]:
            by_day[paper.day].append(paper.id)
    return by_day


def _settled_validators(settings: Settings, store: Store) -> dict[str, str]:
    """The validators of the answer the newest day was read from, when nothing but a new
    answer could change what a refresh publishes: its summaries all made, its ranking made
    with today's rules and opinions. Else none, and the refresh asks arXiv plainly."""
    last = store.last_published()
    calendar = store.calendar()
    if last is None or not calendar or last.day != max(calendar):
        return {}
    if last.summaries is not None and last.summaries.deferred:
        return {}
    if last.ranking != ranking_fingerprint(settings, opinions(settings, store)):
        return {}
    return calendar[max(calendar)].validators


def _keep_validators(
    store: Store, settings: Settings, day: date, validators: dict[str, str]
) -> None:
    calendar = store.calendar()
    if day in calendar:
        record = calendar[day].model_copy(update={"validators": validators})
        record_days(store, settings, {day: record})


def _unchanged(store: Store, clock: Clock, source: str) -> RefreshReport:
    """The report of a refresh that found arXiv's answer unchanged (HTTP 304): nothing to
    lock, write or publish for it."""
    newest = max(store.day_index(), default=None)
    return RefreshReport(
        started=utc_now(clock),
        finished=utc_now(clock),
        status="no-announcement",
        message=f"arXiv's announcements are unchanged since {newest} was published (HTTP 304)",
        source=source,
        day=newest,
        days=latest(store.calendar(), store.day_index()),
    )


def _asked(
    settings: Settings, store: Store, arxiv: ArxivClient, source: str
) -> tuple[list[bytes] | ArxivError | None, RefreshReport | None]:
    """When the newest day is settled, one conditional request before anything is locked or
    written: arXiv's answer (or its failure, for the refresh to report), or the report of an
    unchanged answer (nothing to publish; missed days are still looked for)."""
    validators = _settled_validators(settings, store)
    if not validators:
        return None, None
    try:
        return arxiv.announcements(settings.arxiv.categories, validators), None
    except NotModified:
        return None, _unchanged(store, arxiv.clock, source)
    except ArxivError as error:
        return error, None


def _fetcher(
    source_file: Path | None,
    asked: list[bytes] | ArxivError | None,
    arxiv: ArxivClient,
    categories: list[str],
) -> Callable[[], list[bytes]]:
    """What the refresh fetches: the saved file, else what arXiv already answered (`asked`,
    the conditional request), else a new request."""

    def fetch() -> list[bytes]:
        if source_file is not None:
            return [source_file.read_bytes()]
        if isinstance(asked, ArxivError):
            raise asked
        return asked if asked is not None else arxiv.announcements(categories)

    return fetch


def live_refresh(
    settings: Settings,
    store: Store,
    *,
    source_file: Path | None = None,
    clock: Clock | None = None,
    arxiv_transport: httpx.BaseTransport | None = None,
    llm_transport: httpx.BaseTransport | None = None,
) -> RefreshReport:
    """A refresh wired to the real world: arXiv (or a saved file) and, when a key is
    configured, the LLM provider. The transports are for tests."""
    clock = clock or SystemClock()
    deadline = clock.time() + settings.refresh.time_budget_seconds
    arxiv = ArxivClient(
        settings.arxiv, store, transport=arxiv_transport, clock=clock, deadline=deadline
    )
    categories = settings.arxiv.categories
    source = str(source_file) if source_file else settings.arxiv.rss_url + "+".join(categories)
    asked, unchanged = (None, None) if source_file else _asked(settings, store, arxiv, source)
    transports = {"arxiv_transport": arxiv_transport, "llm_transport": llm_transport}
    summarizer = live_summarizer(settings, store, clock, deadline, **transports)
    embedder = live_embedder(settings, store, clock, deadline, transport=llm_transport)

    try:
        report = unchanged or refresh(
            settings,
            store,
            _fetcher(source_file, asked, arxiv, categories),
            source=source,
            clock=clock,
            summarizer=summarizer,
            lookup=None if source_file else _lookup(arxiv, settings),  # a file stays offline
            embedder=embedder,
        )
        if report.status == "published" and report.day is not None and arxiv.validators:
            _keep_validators(store, settings, report.day, arxiv.validators)
        if source_file is not None or report.status not in ("published", "no-announcement"):
            return report.model_copy(update={"days": latest(store.calendar(), store.day_index())})
        return recover_missed_days(
            settings, store, arxiv, report, clock=clock, summarizer=summarizer, embedder=embedder
        )
    finally:
        for client in (arxiv, embedder, summarizer):
            if client is not None:
                client.close()
