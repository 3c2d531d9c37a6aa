"""The pipeline: ingest -> rank -> summarize -> render -> store, once, under the store's lock.

A refresh is idempotent (the same announcements give the same stored state) and publishes in
one atomic step. An empty, stale or failed fetch leaves the last good data in place and only
records a report saying what happened.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import NamedTuple

from core.arxiv import covered
from core.clock import Clock, SystemClock, utc_now
from core.config import Settings
from core.ingest import ArxivError
from core.ingest.client import RSS_ITEM_CAP
from core.ingest.rss import Announcements, merge, parse_announcements
from core.models import (
    Calendar,
    DayRecord,
    Opinion,
    Paper,
    Publication,
    RefreshReport,
    RenderedFeed,
)
from core.query.index import DayIndex, dumps, stored_key
from core.rank.embeddings import Embedder, EmbeddingError
from core.rank.ranker import Examples, Ranker, scoring_code
from core.rank.similarity import Example
from core.rank.words import Fields, fields_of
from core.render.configured import render_all
from core.render.day_items import DayItems, items_keys, merged
from core.render.feedback import SECRET_NAME, FeedbackLinks
from core.store import Store, StoreError
from core.summarize.batch import Summarizer

LOCK_NAME = "refresh"
LOCK_TTL_SECONDS = 60.0
"""A refresh holds its lock this long past its last sign of life: a refresh that dies (its
process killed, its store gone) blocks the next one for at most this long."""
LOCK_RENEW_SECONDS = LOCK_TTL_SECONDS / 3


Lookup = Callable[[list[str]], list[Paper]]
"""Papers by arXiv id from outside the store (the export API), for liked papers."""


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


def opinions(settings: Settings, store: Store) -> dict[str, Opinion]:
    """`rank.like` and `rank.dislike`, then the feedback in the store (newer, so it wins)."""
    configured: dict[str, Opinion] = dict.fromkeys(settings.rank.dislike, "dislike")
    configured.update(dict.fromkeys(settings.rank.like, "like"))
    return {**configured, **store.likes()}


def ranking_fingerprint(settings: Settings, wanted: dict[str, Opinion]) -> str:
    """What the stored scores depend on besides the papers: the rules, the opinions and the
    code that scores."""
    state = json.dumps([settings.rank.model_dump(mode="json"), wanted, scoring_code()])
    return hashlib.sha256(state.encode()).hexdigest()[:16]


class Resolved(NamedTuple):
    examples: Examples
    not_found: list[str]
    """Ids of liked or disliked papers found nowhere."""
    new: list[str]
    """Ids of liked or disliked papers the store kept for the first time."""


def interests_examples(settings: Settings) -> list[Example]:
    """The reader's interests as an example, when they wrote any."""
    text = settings.rank.interests
    return [Example.interests(text)] if text.strip() else []


def resolve_examples(
    settings: Settings,
    store: Store,
    wanted: dict[str, Opinion],
    ranked: list[Paper],
    lookup: Lookup | None,
) -> Resolved:
    """The papers of the `wanted` opinions (kept for good in the store once seen) and the
    interests text."""
    known = {paper.id: paper for paper in store.examples(list(wanted))}
    in_window = {paper.id: paper for paper in ranked if paper.id in wanted}
    missing = [i for i in wanted if i not in known and i not in in_window]
    found = {paper.id: paper for paper in store.papers(missing)}
    missing = [i for i in missing if i not in found]
    if missing and lookup is not None:
        with suppress(ArxivError):  # reported as not found; the next refresh asks again
            found.update({paper.id: paper for paper in lookup(missing) if paper.id in wanted})
    new = [paper for i, paper in {**in_window, **found}.items() if i not in known]
    if new:
        store.put_examples(new)
    papers = {**in_window, **found, **known}
    liked = [Example.of(papers[i]) for i, o in wanted.items() if o == "like" and i in papers]
    disliked = [Example.of(papers[i]) for i, o in wanted.items() if o == "dislike" and i in papers]
    examples = Examples(
        liked,
        disliked,
        settings.rank.like_weight,
        interests=interests_examples(settings),
        interests_weight=settings.rank.interests_weight,
    )
    return Resolved(examples, [i for i in wanted if i not in papers], [p.id for p in new])


def embedded(
    settings: Settings, examples: Examples, papers: list[Paper], embedder: Embedder | None
) -> tuple[Examples, str]:
    """`examples` with the embeddings of the papers and of the examples themselves, when an
    embedder is set and there is something to compare with; else as they are. The second
    value is the report's note when embeddings are on but unused (likes then fall back to
    term similarity)."""
    if not settings.rank.embeddings or not examples.all():
        return examples, ""
    if embedder is None:
        return examples, "; embeddings off (no LLM key here), likes by term similarity"
    texts = {paper.id: Example.of(paper).text for paper in papers}
    texts.update({example.id: example.text for example in examples.all()})
    try:
        vectors = embedder.vectors(texts)
    except EmbeddingError as error:
        return examples, f"; embeddings failed, likes by term similarity: {error}"
    return replace(examples, vectors=vectors), ""


def _held_scores_stand(settings: Settings, store: Store, ranking: str, resolved: Resolved) -> bool:
    """Whether the days a store holds keep their stored scores: the last report says they
    were made with the same rules, opinions and code, every liked or disliked paper was
    already kept (so it was an example when they were made), and likes go by term
    similarity (embeddings some papers lacked then may be there now). A day's scores
    depend on nothing else but its own papers (`Ranker.scores`)."""
    last = store.last_report()
    return (
        last is not None
        and last.ranking == ranking
        and not resolved.not_found
        and not resolved.new
        and not settings.rank.embeddings
    )


class _Ranked(NamedTuple):
    papers: list[Paper]
    """The window's papers scored: the ranked ones best first, then the kept days'."""
    read: Fields
    """The ranked papers' words."""
    kept: set[date]
    """Held days whose stored scores stand (`_held_scores_stand`)."""
    ranking: str
    notes: str
    """For the report: liked papers not found, embeddings unused."""


def _rank_window(
    settings: Settings,
    store: Store,
    stages: Stages,
    fresh: list[Paper],
    days: dict[date, list[str]],
    window: dict[date, list[str]],
) -> _Ranked:
    """The fresh papers ranked with those of the held days of the `window` (day -> ids)
    whose stored scores do not stand."""
    fresh_ids = {paper.id for paper in fresh}
    held = store.papers([i for ids in window.values() for i in ids if i not in fresh_ids])
    window_papers = [*fresh, *held]
    wanted = opinions(settings, store)
    resolved = resolve_examples(settings, store, wanted, window_papers, stages.lookup)
    examples, notes = embedded(settings, resolved.examples, window_papers, stages.embedder)
    if resolved.not_found:
        missing = ", ".join(resolved.not_found[:10])
        notes = f"; liked or disliked papers not found: {missing}{notes}"
    ranking = ranking_fingerprint(settings, wanted)
    kept: set[date] = set()
    if _held_scores_stand(settings, store, ranking, resolved):
        # not a day that lost a paper to a fresh announcement (its replacement): a day's
        # scores depend on all its papers
        kept = {d for d, ids in window.items() if d not in days and fresh_ids.isdisjoint(ids)}
    to_rank = [*fresh, *(p for p in held if p.day not in kept)]
    read = fields_of(to_rank)  # once, for ranking and for the day indexes
    papers = Ranker.from_config(settings.rank, examples).rank(to_rank, read)
    papers.extend(p for p in held if p.day in kept)  # in stored order: their ranked order
    return _Ranked(papers, read, kept, ranking, notes)


def _stored_under(
    read: Callable[[date, str], bytes | None], keys: dict[date, str]
) -> dict[date, bytes]:
    """What the store keeps for each day under its key in `keys` (a day index or a day's
    items, by `read`); days it keeps nothing under that key for are left out."""
    found = {}
    for day, key in keys.items():
        data = read(day, key)
        if data is not None:
            found[day] = data
    return found


def _kept_indexes(
    store: Store, days: dict[date, list[str]], ranking: str
) -> dict[date, tuple[str, bytes]]:
    """The stored indexes of `days`, where one is kept for the same papers in the same order
    under the same ranking."""
    keys = {day: stored_key(day, ids, ranking) for day, ids in days.items()}
    found = _stored_under(store.day_index_bytes, keys)
    return {day: (keys[day], data) for day, data in found.items()}


def _built_indexes(
    days: dict[date, list[str]],
    kept: dict[date, tuple[str, bytes]],
    papers: list[Paper],
    ranking: str,
    read: Fields,
) -> dict[date, tuple[str, bytes]]:
    """The indexes of the `days` not `kept`, from the words `read` for ranking, or read now
    for the papers of a held day whose stored index is missing."""
    unread = [p for p in papers if p.day not in kept and p.id not in read]
    read = {**read, **fields_of(unread)} if unread else read
    return day_indexes({d: ids for d, ids in days.items() if d not in kept}, papers, ranking, read)


def day_indexes(
    days: dict[date, list[str]], papers: list[Paper], ranking: str, read: Fields | None = None
) -> dict[date, tuple[str, bytes]]:
    """Each day's index for ad-hoc queries (`core.query.index`), under the key a reader will
    look for; a day some of whose papers are not at hand gets none (readers build it)."""
    by_id = {paper.id: paper for paper in papers}
    found = {}
    for day, ids in days.items():
        if all(i in by_id for i in ids):
            index = DayIndex.build(day, [by_id[i] for i in ids], read)
            found[day] = (stored_key(day, ids, ranking), dumps(index))
    return found


def _rendered(
    settings: Settings,
    store: Store,
    papers: list[Paper],
    days: dict[date, list[str]],
    ranked: _Ranked,
    now: datetime,
) -> tuple[dict[str, RenderedFeed], dict[date, tuple[str, bytes]]]:
    """Every feed, dated (`_validators`), made with the stored items of the days whose
    scores stand; and the items of each day whose stored items changed, to store."""
    secret = store.secret(SECRET_NAME)
    keys = items_keys(settings, secret, days, ranked.ranking)
    stored = _stored_under(store.day_items_bytes, {day: keys[day] for day in ranked.kept})
    held = {day: DayItems.loads(data) for day, data in stored.items()}
    feedback = FeedbackLinks(settings.site.base_url, secret)
    made = render_all(settings, papers, now, feedback, merged(held.values()))
    return _validators(made.feeds, store, now), _changed_items(days, keys, made.items, held)


def _changed_papers(papers: list[Paper], ranked: _Ranked) -> list[Paper]:
    """The papers a publication writes: all but those of the days whose scores stand that
    are still as the store has them (a summary may have been added since)."""
    as_stored = {paper.id: paper for paper in ranked.papers if paper.day in ranked.kept}
    return [paper for paper in papers if as_stored.get(paper.id) != paper]


def _pruned(index: dict[date, list[str]], retention_days: int) -> tuple[list[date], list[str]]:
    """The days retention drops, and the papers no day left holds."""
    cutoff = max(index) - timedelta(days=retention_days)
    remove_days = [day for day in index if day < cutoff]
    kept_ids = {i for day, ids in index.items() if day >= cutoff for i in ids}
    return remove_days, sorted({i for day in remove_days for i in index[day]} - kept_ids)


def _changed_items(
    days: dict[date, list[str]],
    keys: dict[date, str],
    made: DayItems,
    held: dict[date, DayItems],
) -> dict[date, tuple[str, bytes]]:
    """Each day's items to store, under its key: those of the days whose items are not
    stored as they are now (a new day, one ranked again, a paper given a summary)."""
    changed = {}
    for day, ids in days.items():
        items = made.of_papers(ids)
        if items.made_from and items != held.get(day):
            changed[day] = (keys[day], items.dumps())
    return changed


def _validators(
    feeds: dict[str, RenderedFeed], store: Store, now: datetime
) -> dict[str, RenderedFeed]:
    """Last-Modified changes only when the bytes do (the ETag is their hash): a feed equal to
    the stored one keeps its date, any other is modified now. So readers polling with either
    validator get 304 after a refresh that changed nothing for them."""
    previous = store.feed_validators()
    dated = {}
    for key, feed in feeds.items():
        etag, modified = previous.get(key, ("", now))
        dated[key] = feed.model_copy(
            update={"last_modified": modified if etag == feed.etag else now}
        )
    return dated


def _window_days(settings: Settings) -> int:
    named = [feed.days for feed in settings.feeds.named.values() if feed.days]
    return max([settings.feeds.days, *named])


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
    render every feed, prune what retention drops, and publish it all at once.

    With `only_if_summarized`, nothing is published unless a new summary was made (a day
    without announcements finishing the summaries an earlier refresh left undone)."""
    with stages.stage("rank"):
        index = {**store.day_index(), **days}
        newest = sorted(index, reverse=True)[: _window_days(settings)]
        # the days published now are ranked and stored even when older than the feeds show
        # (a recovered or backfilled day): ad-hoc feeds reach back as far as retention
        window = {day: index[day] for day in sorted({*newest, *days}, reverse=True)}
        ranked = _rank_window(settings, store, stages, fresh, days, window)
        papers, ranking = ranked.papers, ranked.ranking
        report = report.model_copy(
            update={"message": report.message + ranked.notes, "ranking": ranking}
        )
        ordered_days = _in_ranked_order(window, papers)
    with stages.stage("index"):
        stored = _kept_indexes(store, {day: ordered_days[day] for day in ranked.kept}, ranking)
        indexes = _built_indexes(ordered_days, stored, papers, ranking, ranked.read)
    if summarizer is not None:
        with stages.stage("summarize"):
            budget = settings.refresh.time_budget_seconds
            start_by = stages.started + min(settings.summaries.deadline_seconds, budget)
            papers, stats = summarizer.run(papers, start_by, stages.started + budget)
        report = report.model_copy(update={"summaries": stats})
        if only_if_summarized and stats.made == 0:
            report = report.model_copy(update={"finished": utc_now(stages.clock)})
            store.save_report(report)
            return report.model_copy(update={"stage_seconds": stages.seconds})
    with stages.stage("render"):
        now = utc_now(stages.clock).replace(microsecond=0)
        feeds, items = _rendered(settings, store, papers, ordered_days, ranked, now)
    remove_days, remove_papers = _pruned(index, settings.store.retention_days)
    report = report.model_copy(
        update={
            "feeds_rendered": len(feeds),
            "papers_stored": len(papers),
            "pruned": len(remove_papers),
            "finished": utc_now(stages.clock),
        }
    )
    with stages.stage("store"):
        store.publish(
            Publication(
                papers=_changed_papers(papers, ranked),
                days=ordered_days,
                feeds=feeds,
                remove_days=remove_days,
                remove_papers=remove_papers,
                indexes=_kept_days(indexes, remove_days),
                items=_kept_days(items, remove_days),
                drop_items=[day for day in index if day not in window and day not in remove_days],
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


class LockHeartbeat:
    """Renews the refresh's lock every LOCK_RENEW_SECONDS (real time) while it works, so the
    lock can be short and still never expire under a refresh that is alive."""

    def __init__(
        self, store: Store, token: str, clock: Clock, every: float = LOCK_RENEW_SECONDS
    ) -> None:
        self.store, self.token, self.clock, self.every = store, token, clock, every
        self.renewed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lock-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                held = self.store.renew_lock(
                    LOCK_NAME, self.token, LOCK_TTL_SECONDS, self.clock.time()
                )
            except StoreError:
                return  # the refresh itself will meet the store's failure
            if not held:
                return
            self.renewed.set()

    def __enter__(self) -> LockHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def locked(
    store: Store, clock: Clock, source: str, work: Callable[[RefreshReport], RefreshReport]
) -> RefreshReport:
    started = utc_now(clock)
    report = RefreshReport(started=started, status="failed", message="", source=source)
    token = store.acquire_lock(LOCK_NAME, LOCK_TTL_SECONDS, clock.time())
    if token is None:
        return report.model_copy(
            update={"status": "locked", "message": "another refresh is running; try later"}
        )
    try:
        with LockHeartbeat(store, token, clock):
            return work(report)
    except StoreError:
        raise  # nothing can be recorded in a store that does not answer
    except Exception as error:
        # A bug, not an upstream failure: the stored data is untouched (nothing was published);
        # record it so /health shows it, then let the caller report it.
        message = f"refresh failed: {type(error).__name__}: {error}"
        store.save_report(
            report.model_copy(update={"message": message, "finished": utc_now(clock)})
        )
        raise
    finally:
        store.release_lock(LOCK_NAME, token)


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


def _repaired_note(repaired: int) -> str:
    if not repaired:
        return ""
    return f"; removed {repaired} XML-invalid character(s) from arXiv's answer"


def _requests_note(parts: list[Announcements]) -> str:
    """What the report says of split requests, and of an answer arXiv may have cut."""
    capped = sum(part.total >= RSS_ITEM_CAP for part in parts)
    note = ""
    if len(parts) > 1:
        note += f"; split into {len(parts)} requests (rss.arxiv.org answers at most "
        note += f"{RSS_ITEM_CAP:,} items a request)"
    if capped:
        note += f"; {capped} answer(s) held {RSS_ITEM_CAP:,} items and may be cut: follow "
        note += "its categories one by one instead of the archive"
    return note


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
        report = report.model_copy(
            update={
                "day": day,
                "fetched": announcements.total,
                "kept": len(fresh),
                "by_type": dict(Counter(paper.announce_type.value for paper in fresh)),
                "repaired_characters": announcements.repaired,
                "status": "published",
                "message": f"{counted_papers(len(fresh))} announced {day}"
                + _requests_note(parts)
                + _repaired_note(announcements.repaired),
            }
        )
        ids = {day: [p.id for p in fresh]}
        published = publish_days(settings, store, fresh, ids, report, stages, summarizer)
        if published.status == "published":
            done = DayRecord(day=day, state="complete", announced=announcements.counts)
            record_days(store, settings, {day: done.model_copy(update={"held": len(fresh)})})
        return published

    return locked(store, clock, source, work)


def record_days(store: Store, settings: Settings, records: Calendar) -> Calendar:
    """The calendar with `records`, kept as long as retention keeps papers."""
    calendar = store.calendar() | records
    if not calendar:
        return calendar
    oldest = max(calendar) - timedelta(days=settings.store.retention_days)
    kept = {day: record for day, record in calendar.items() if day >= oldest}
    store.put_calendar(kept)
    return kept
