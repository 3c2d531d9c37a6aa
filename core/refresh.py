"""The pipeline: ingest -> rank -> summarize -> render -> store, once, under the store's lock.

A refresh is idempotent (the same announcements give the same stored state) and publishes in
one atomic step. An empty, stale or failed fetch leaves the last good data in place and only
records a report saying what happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime

from core.arxiv import covered
from core.clock import Clock, SystemClock, utc_now
from core.config import Settings
from core.days.calendar import pruned, record_days
from core.ingest import ArxivError
from core.ingest.rss import (
    Announcements,
    merge,
    parse_announcements,
    repaired_note,
    requests_note,
)
from core.models import (
    DayRecord,
    Paper,
    Publication,
    RefreshReport,
    RenderedFeed,
    SummaryStats,
)
from core.query.index import built_indexes, kept_indexes
from core.rank.embeddings import Embedder
from core.rank.reader import Lookup, Ranked, opinions, rank_window, ranking_fingerprint
from core.render.configured import dated, render_all
from core.render.feedback import SECRET_NAME, FeedbackLinks
from core.store import Store
from core.store.lock import locked
from core.summarize.batch import Summarizer


class Stages:
    """A run's clock and seconds spent per stage (for the report), where papers the store
    lacks can be looked up (None: nowhere, e.g. a refresh from a file), and what embeds
    papers for likes (None: term similarity)."""

    def __init__(
        self, clock: Clock, lookup: Lookup | None = None, embedder: Embedder | None = None
    ) -> None:
        self.clock = clock
        self.lookup = lookup
        self.embedder = embedder
        self.started = clock.time()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Times a stage."""
        started = self.clock.time()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + self.clock.time() - started, 4)


def keep(papers: list[Paper], settings: Settings) -> list[Paper]:
    """Papers of the configured announce types that list a followed category, each once (the
    export API answers a backfill with others; an announcement feed is read so already)."""
    followed = set(settings.arxiv.categories)
    types = set(settings.arxiv.announce_types)
    unique: dict[str, Paper] = {}
    for paper in papers:
        if paper.announce_type in types and covered(paper.categories, followed):
            unique.setdefault(paper.id, paper)
    return list(unique.values())


def _rendered(
    settings: Settings, store: Store, papers: list[Paper], now: datetime
) -> dict[str, RenderedFeed]:
    """Every feed, dated against the stored ones (`dated`), its items with feedback links."""
    feedback = FeedbackLinks(settings.site.base_url, store.secret(SECRET_NAME))
    made = render_all(settings, papers, now, feedback)
    return dated(made, store.feed_validators(), now)


def _changed_papers(papers: list[Paper], ranked: Ranked) -> list[Paper]:
    """The papers a publication writes: all but those of the days whose scores stand that
    are still as the store has them (a summary may have been added since)."""
    as_stored = {paper.id: paper for paper in ranked.papers if paper.day in ranked.kept}
    return [paper for paper in papers if as_stored.get(paper.id) != paper]


def _window_days(settings: Settings) -> int:
    named = [feed.days for feed in settings.feeds.named.values() if feed.days]
    return max([settings.feeds.days, *named])


def _window(
    settings: Settings, index: dict[date, list[str]], days: dict[date, list[str]]
) -> dict[date, list[str]]:
    """The days ranked together, newest first: those the feeds show, and the `days` published
    now even when older (a recovered or backfilled day: ad-hoc feeds reach back as far as
    retention)."""
    newest = sorted(index, reverse=True)[: _window_days(settings)]
    return {day: index[day] for day in sorted({*newest, *days}, reverse=True)}


def _summarized(
    settings: Settings, stages: Stages, summarizer: Summarizer, papers: list[Paper]
) -> tuple[list[Paper], SummaryStats]:
    """The papers with summaries of the top ones, started within the summaries' deadline and
    ended within the refresh's budget."""
    budget = settings.refresh.time_budget_seconds
    start_by = stages.started + min(settings.summaries.deadline_seconds, budget)
    return summarizer.run(papers, start_by, stages.started + budget)


def _indexes(
    store: Store, ranked: Ranked, ordered_days: dict[date, list[str]]
) -> dict[date, tuple[str, bytes]]:
    """Each day's index to store: kept as stored for the days whose scores stand (when the
    store still has it), else built from the words read for ranking."""
    held = {day: ordered_days[day] for day in ranked.kept}
    stored = kept_indexes(store.day_index_bytes, held, ranked.ranking)
    return built_indexes(ordered_days, stored, ranked.papers, ranked.ranking, ranked.read)


def _saved(store: Store, report: RefreshReport, stages: Stages) -> RefreshReport:
    """The report of a run that publishes nothing, finished and saved."""
    report = report.model_copy(update={"finished": utc_now(stages.clock)})
    store.save_report(report)
    return report.model_copy(update={"stage_seconds": stages.seconds})


def _counted(
    report: RefreshReport, feeds: int, papers: int, pruned_papers: int, clock: Clock
) -> RefreshReport:
    """The report of a run about to publish, with what it publishes and prunes."""
    counts = {"feeds_rendered": feeds, "papers_stored": papers, "pruned": pruned_papers}
    return report.model_copy(update=counts | {"finished": utc_now(clock)})


def publish_days(
    settings: Settings,
    store: Store,
    fresh: list[Paper],
    days: dict[date, list[str]],
    report: RefreshReport,
    stages: Stages,
    summarizer: Summarizer | None = None,
    *,
    only_if_summarized: bool = False,
) -> RefreshReport:
    """Rank the fresh papers with those still inside the feeds' window, summarize the top ones,
    render every feed, prune what retention drops, and publish it all at once. With
    `only_if_summarized`, nothing is published unless a new summary was made (a day without
    announcements finishing the summaries an earlier refresh left undone)."""
    with stages.stage("rank"):
        index = {**store.day_index(), **days}
        window = _window(settings, index, days)
        ranked = rank_window(settings, store, fresh, days, window, stages.lookup, stages.embedder)
        papers, ordered_days = ranked.papers, _in_ranked_order(window, ranked.papers)
        noted = {"message": report.message + ranked.notes, "ranking": ranked.ranking}
        report = report.model_copy(update=noted)
    with stages.stage("index"):
        indexes = _indexes(store, ranked, ordered_days)
    if summarizer is not None:
        with stages.stage("summarize"):
            papers, stats = _summarized(settings, stages, summarizer, papers)
        report = report.model_copy(update={"summaries": stats})
        if only_if_summarized and stats.made == 0:
            return _saved(store, report, stages)
    with stages.stage("render"):
        now = utc_now(stages.clock).replace(microsecond=0)
        feeds = _rendered(settings, store, papers, now)
    remove_days, remove_papers = pruned(index, settings.store.retention_days)
    report = _counted(report, len(feeds), len(papers), len(remove_papers), stages.clock)
    with stages.stage("store"):
        store.publish(
            Publication(
                papers=_changed_papers(papers, ranked),
                days=ordered_days,
                feeds=feeds,
                remove_days=remove_days,
                remove_papers=remove_papers,
                indexes=_kept_days(indexes, remove_days),
                report=report,
            )
        )
    return report.model_copy(update={"stage_seconds": stages.seconds})


def _in_ranked_order(window: dict[date, list[str]], papers: list[Paper]) -> dict[date, list[str]]:
    """Each day's ids in the order of `papers` (best first), whether the day is new or
    held: re-scoring may reorder held days."""
    position = {paper.id: n for n, paper in enumerate(papers)}
    return {
        day: sorted(ids, key=lambda i: position.get(i, len(position)))
        for day, ids in window.items()
    }


def _kept_days(
    records: dict[date, tuple[str, bytes]], removed: list[date]
) -> dict[date, tuple[str, bytes]]:
    return {day: record for day, record in records.items() if day not in removed}


def _not_published(
    settings: Settings,
    store: Store,
    report: RefreshReport,
    status: str,
    message: str,
    stages: Stages,
    summarizer: Summarizer | None,
) -> RefreshReport:
    """Keep the last good day; only summaries still missing for it may be completed, and the
    days it holds re-scored when the rules or the opinions changed since they were scored."""
    index = store.day_index()
    serving = f"; still serving {max(index)}" if index else ""
    scored_with = (store.last_report() or report).ranking
    report = report.model_copy(
        update={
            "status": status,
            "message": message + serving,
            "finished": utc_now(stages.clock),
            "ranking": scored_with,
        }
    )
    if index and scored_with != ranking_fingerprint(settings, opinions(settings, store)):
        window = sorted(index, reverse=True)[: _window_days(settings)]
        rescored = report.model_copy(
            update={"message": report.message + "; re-scored with changed rules, likes or code"}
        )
        days = {day: index[day] for day in window}
        return publish_days(settings, store, [], days, rescored, stages, summarizer)
    if summarizer is not None and index:
        return publish_days(
            settings, store, [], {}, report, stages, summarizer, only_if_summarized=True
        )
    store.save_report(report)
    return report


def counted_papers(count: int) -> str:
    return f"{count:,} paper" + ("" if count == 1 else "s")


def _old_batch(store: Store, day: date, fresh: list[Paper]) -> str | None:
    """Why this batch is one arXiv served before, or None: a day older than the newest stored
    one, or a later date on papers (same versions) all stored under earlier days."""
    index = store.day_index()
    if not index:
        return None
    if day < max(index):
        return f"arXiv still lists {day}, older than ours"
    earlier = {i for d, ids in index.items() if d < day for i in ids}
    if any(paper.id not in earlier for paper in fresh):
        return None
    stored = {paper.id: paper.version for paper in store.papers([p.id for p in fresh])}
    if all(stored.get(paper.id) == paper.version for paper in fresh):
        return f"arXiv serves again, dated {day}, papers all announced before"
    return None


def _parsed(settings: Settings, responses: list[bytes]) -> list[Announcements]:
    """Each response's announcements of the followed categories and types."""
    return [
        parse_announcements(response, settings.arxiv.categories, settings.arxiv.announce_types)
        for response in responses
    ]


def _unpublishable(
    settings: Settings, store: Store, announcements: Announcements
) -> tuple[str, str] | None:
    """Why these announcements are not published as a new day (the report's status and
    message), or None when they are."""
    if announcements.status == "error":
        return "upstream-error", announcements.message
    if announcements.announced is None or not announcements.papers:
        if announcements.status == "empty":
            return "no-announcement", announcements.message
        message = (
            f"none of the {announcements.total} announcements is in "
            f"{', '.join(settings.arxiv.categories)} with type "
            f"{', '.join(settings.arxiv.announce_types)}"
        )
        return "no-announcement", message
    stale = _old_batch(store, announcements.announced.date(), announcements.papers)
    return ("no-announcement", stale) if stale else None


def _announced(
    report: RefreshReport, announcements: Announcements, parts: list[Announcements]
) -> RefreshReport:
    """The report of a day about to be published: what arXiv answered and what is kept."""
    assert announcements.announced is not None
    day, fresh = announcements.announced.date(), announcements.papers
    return report.model_copy(
        update={
            "day": day,
            "fetched": announcements.total,
            "kept": len(fresh),
            "by_type": dict(Counter(paper.announce_type.value for paper in fresh)),
            "repaired_characters": announcements.repaired,
            "status": "published",
            "message": f"{counted_papers(len(fresh))} announced {day}"
            + requests_note(parts)
            + repaired_note(announcements.repaired),
        }
    )


def refresh(
    settings: Settings,
    store: Store,
    fetch: Callable[[], bytes | list[bytes]],
    *,
    source: str,
    clock: Clock | None = None,
    summarizer: Summarizer | None = None,
    lookup: Lookup | None = None,
    embedder: Embedder | None = None,
) -> RefreshReport:
    """Fetch one day of announcements (from arXiv or a saved file) and publish it, with LLM
    summaries of its top papers when a summarizer is given; liked papers the store lacks
    come from `lookup`, embeddings for likes from `embedder`."""
    clock = clock or SystemClock()
    stages = Stages(clock, lookup, embedder)

    def work(report: RefreshReport) -> RefreshReport:
        with stages.stage("fetch"):
            try:
                raw = fetch()
            except (ArxivError, OSError) as error:
                return _not_published(
                    settings, store, report, "upstream-error", str(error), stages, summarizer
                )
        with stages.stage("ingest"):
            parts = _parsed(settings, [raw] if isinstance(raw, bytes) else raw)
            announcements = merge(parts)  # each paper once, of the followed categories and types
            fresh = announcements.papers
        refused = _unpublishable(settings, store, announcements)
        if refused is not None:
            return _not_published(settings, store, report, *refused, stages, summarizer)
        assert announcements.announced is not None  # else unpublishable
        day = announcements.announced.date()
        report = _announced(report, announcements, parts)
        ids = {day: [p.id for p in fresh]}
        published = publish_days(settings, store, fresh, ids, report, stages, summarizer)
        if published.status == "published":
            done = DayRecord(day=day, state="complete", announced=announcements.counts)
            record_days(store, settings, {day: done.model_copy(update={"held": len(fresh)})})
        return published

    return locked(store, clock, source, work)
