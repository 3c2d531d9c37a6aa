"""Ad-hoc queries over the stored days without reading and re-scoring every paper.

Each announcement day has an index (`core.query.index`), read from the store where the refresh
wrote it (else built from the day's papers) and kept in the process while the day's papers
and the ranking they were scored with stay the same. A query then
filters on the index, re-scores only the papers that can match its new terms (with the same
rules, specificity counted over the whole day), and reads from the store only the papers it
returns.

The work of one query is bounded: it re-scores at most MAX_SCORED_PAPERS papers (a query
that would need more is refused with a message saying how to narrow it), returns at most
its `limit` (2,000 at most), and stops between two days when told its client has gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from core.config import Rule, Settings
from core.models import AnnounceType, Hit, Paper, Score
from core.query.index import DayIndex, loads, stored_key
from core.query.lru import WeighedLRU
from core.rank.ranker import Ranker, combine
from core.rank.words import fields_of
from core.store import Publications

MAX_CACHED_DAYS = 32
MAX_SCORED_PAPERS = 1000
"""Papers one query may re-score for terms that are not configured keywords: what bounds a
query's work whatever the store holds."""


MAX_KEPT_HITS = 50_000
"""Scored hits of query terms kept per process (a few hundred bytes each)."""


class QueryTooBroad(ValueError):
    """A query's new terms could match more papers than one request may re-score."""


class ClientGone(Exception):
    """The query's client went away; its work was dropped."""


@dataclass(frozen=True)
class StoredDays:
    """The store's days as one publication left them: each day's ids, and the key its index
    is stored under (`core.query.index.stored_key`: the ids, their ranking, the stemmer)."""

    version: str
    ids: dict[date, list[str]]
    stored: dict[date, str]

    def key(self, day: date) -> str:
        """What the day's index is kept under in the process: as stored, and which refresh
        wrote last (a paper may change without the ids or the ranking changing)."""
        return f"{self.stored[day]}|{self.version}"


class DayIndexes:
    """Day indexes of one process, most recently used kept, and the list of stored days as of
    the latest publication seen (thread-safe)."""

    def __init__(self) -> None:
        self._cache: WeighedLRU[str, DayIndex] = WeighedLRU(MAX_CACHED_DAYS)
        self._days: StoredDays | None = None
        self.term_hits: WeighedLRU[tuple[str, str], dict[int, Hit]] = WeighedLRU(
            MAX_KEPT_HITS, lambda hits: len(hits) + 1
        )
        """(day key, query term) -> the hits the term scored on the day's papers."""

    def days(self, store: Publications) -> StoredDays:
        """The stored days, re-read only when another refresh has written since (two small
        reads a request instead of every day's id list)."""
        ranking, version = scored_with(store)
        known = self._days
        if known is not None and known.version == version:
            return known
        ids = store.day_index()
        stored = {day: stored_key(day, day_ids, ranking) for day, day_ids in ids.items()}
        self._days = StoredDays(version, ids, stored)
        return self._days

    def get(self, store: Publications, days: StoredDays, day: date) -> DayIndex:
        key = days.key(day)
        index = self._cache.get(key)
        if index is None:
            index = _stored(store, day, days.stored[day]) or DayIndex.build(
                day, store.papers(days.ids[day])
            )
            self._cache[key] = index
        return index


def _stored(store: Publications, day: date, key: str) -> DayIndex | None:
    """The index the refresh wrote for `day` under `key`, if it is there and readable."""
    data = store.day_index_bytes(day, key)
    if data is None:
        return None
    try:
        return loads(data)
    except ValueError:
        return None  # written by another release: built from the papers instead


def scored_with(store: Publications) -> tuple[str, str]:
    """What the stored scores were made with, and that with which refresh wrote last: a day
    index is rebuilt when either changes (a run that only adds summaries writes no report of
    its own kind, so every written report counts)."""
    report, published = store.last_report(), store.last_published()
    ranking = report.ranking if report else ""
    started = [str(r.started) if r else "" for r in (report, published)]
    return ranking, "|".join([ranking, *started])


def present_categories(store: Publications, indexes: DayIndexes, days: int) -> set[str]:
    """Every category and archive papers of the latest `days` days are listed in."""
    stored = indexes.days(store)
    present: set[str] = set()
    for day in sorted(stored.ids, reverse=True)[:days]:
        for categories in set(indexes.get(store, stored, day).categories):
            present.update(categories)
    return present | {category.split(".", 1)[0] for category in present}


@dataclass(frozen=True)
class Query:
    """What to look for (parsed and bounded by `core.query.params.FeedQuery`)."""

    categories: list[str]
    terms: list[str]
    types: list[AnnounceType]
    min_score: float | None
    days: int
    limit: int


@dataclass(frozen=True)
class Match:
    """A paper a query found, without the paper: where it stands in its stored day (the
    order every configured feed keeps) and the score of the query's own terms, if any."""

    id: str
    day: date
    rank: int
    term_score: Score | None


@dataclass(frozen=True)
class Found:
    """What a query found, in feed order, from which publication, and whether its own terms
    re-ordered it."""

    matches: list[Match]
    version: str
    rescored: bool


def find(
    query: Query,
    settings: Settings,
    store: Publications,
    indexes: DayIndexes,
    gone: Callable[[], bool] = lambda: False,
) -> Found:
    """What an ad-hoc feed holds: newest day first, best score first within a day; papers
    are read only to score the query's own terms. Raises QueryTooBroad past
    MAX_SCORED_PAPERS, and ClientGone once `gone()` says so."""
    stored = indexes.days(store)
    terms = _Terms.of(query.terms, settings)
    chosen: list[tuple[DayIndex, int, Score | None]] = []
    scored = 0
    for number, day in enumerate(sorted(stored.ids, reverse=True)[: query.days], start=1):
        if gone():
            raise ClientGone(f"stopped before day {number} of {query.days}")
        day_index = indexes.get(store, stored, day)
        extra: dict[int, Score] = {}
        if terms.each:
            candidates = {
                term: day_index.candidates(ranker.keywords.rules[0])
                for term, ranker in terms.each.items()
            }
            scored += len(set().union(*candidates.values()))
            if scored > MAX_SCORED_PAPERS:
                raise QueryTooBroad(
                    f"q: the new terms could match {scored} papers in the newest {number} "
                    f"days; one request scores at most {MAX_SCORED_PAPERS}. Use more specific "
                    "terms, fewer days or a smaller limit"
                )
            extra = _new_term_scores(terms, candidates, store, indexes, day_index, stored.key(day))
        chosen += _day_results(query, terms, day_index, extra, query.limit - len(chosen))
        if len(chosen) >= query.limit:
            break
    matches = [
        Match(index.ids[position], index.day, position, term_score)
        for index, position, term_score in chosen[: query.limit]
    ]
    return Found(matches, stored.version, bool(terms.each))


def papers_of(found: Found, store: Publications) -> list[Paper]:
    """The papers found, in order, each scored with the query's own terms too."""
    papers = {paper.id: paper for paper in store.papers([m.id for m in found.matches])}
    results = []
    for match in found.matches:
        paper = papers.get(match.id)
        if paper is not None and match.term_score is not None:
            score = combine(paper.score, match.term_score)
            results.append(paper.model_copy(update={"score": score}))
        elif paper is not None:
            results.append(paper)
    return results


def search(
    query: Query,
    settings: Settings,
    store: Publications,
    indexes: DayIndexes,
    gone: Callable[[], bool] = lambda: False,
) -> list[Paper]:
    """The papers an ad-hoc feed holds (see `find`)."""
    return papers_of(find(query, settings, store, indexes, gone), store)


@dataclass(frozen=True)
class _Terms:
    """A query's terms, sorted once per query: those naming a configured keyword (or one of
    its aliases) have scored already and only filter; the others are scored by `ranker`."""

    given: bool
    configured: list[str]
    """Names of the configured keywords the query names."""
    each: dict[str, Ranker]
    """Each new term, scored alone: its hits on a day do not depend on the other terms (its
    specificity is counted over the papers it matches), so they are kept per term."""

    @classmethod
    def of(cls, terms: list[str], settings: Settings) -> _Terms:
        names = {
            name.casefold(): rule.term
            for rule in settings.rank.keywords
            for name in (rule.term, *rule.aliases)
        }
        each = {
            term: Ranker(
                [Rule(term=term)],
                title_weight=settings.rank.title_weight,
                abstract_weight=settings.rank.abstract_weight,
                specificity=settings.rank.specificity,
            )
            for term in terms
            if term.casefold() not in names
        }
        configured = [names[term.casefold()] for term in terms if term.casefold() in names]
        return cls(bool(terms), configured, each)


def _day_results(
    query: Query, terms: _Terms, day: DayIndex, extra: dict[int, Score], room: int
) -> list[tuple[DayIndex, int, Score | None]]:
    """One day's matching papers, in feed order, with the score of the new terms (`extra`,
    by position); at most `room`. A day is stored in feed order, so without new terms the
    first `room` that pass the filters are the answer."""
    wanted: set[int] | None = None
    if terms.given:
        wanted = {p for p, score in extra.items() if score.total > 0}
        for name in terms.configured:
            wanted.update(day.rules.get(name, ()))
    positions: Iterable[int] = sorted(wanted) if wanted is not None else range(len(day.ids))
    if query.categories:
        listed = day.listed_in(query.categories)
        positions = listed if wanted is None else [p for p in listed if p in wanted]
    found = []
    for position in positions:
        if position in day.vetoed:
            continue
        if query.types and day.types[position] not in query.types:
            continue
        score = extra.get(position)
        total = round(day.totals[position] + (score.total if score else 0.0), 2)
        if query.min_score is not None and total < query.min_score:
            continue
        found.append((-total, position, score))
        if not extra and len(found) >= room:
            break
    found.sort(key=lambda item: (item[0], item[1]))
    return [(day, position, score) for _, position, score in found[:room]]


def _new_term_scores(
    terms: _Terms,
    candidates: dict[str, set[int]],
    store: Publications,
    indexes: DayIndexes,
    day: DayIndex,
    day_key: str,
) -> dict[int, Score]:
    """The score each of the day's papers gets for the query's new terms: each term's hits
    kept from an earlier query, or scored now on its `candidates` (positions)."""
    hits = {term: indexes.term_hits.get((day_key, term)) for term in terms.each}
    missing = [term for term, found in hits.items() if found is None]
    if missing:
        made = _term_hits({term: candidates[term] for term in missing}, terms, store, day)
        for term in missing:
            indexes.term_hits[(day_key, term)] = made[term]
            hits[term] = made[term]
    scores: dict[int, list[Hit]] = {}
    for term in terms.each:  # in the query's order, as one ranker would list them
        for position, hit in (hits[term] or {}).items():
            scores.setdefault(position, []).append(hit)
    return {
        position: Score(total=round(sum(hit.points for hit in found), 2), hits=found)
        for position, found in scores.items()
    }


def _term_hits(
    candidates: dict[str, set[int]], terms: _Terms, store: Publications, day: DayIndex
) -> dict[str, dict[int, Hit]]:
    """Each term's hit on each of its candidate papers that it matches, by position."""
    positions = sorted(set().union(*candidates.values()))
    papers = store.papers([day.ids[position] for position in positions])
    read = fields_of(papers)  # once for every term
    at = {paper_id: n for n, paper_id in enumerate(day.ids)}
    made = {}
    for term in candidates:
        matching = [paper for paper in papers if at[paper.id] in candidates[term]]
        scores = terms.each[term].scores(matching, {day.day: len(day.ids)}, read)
        made[term] = {
            at[paper.id]: score.hits[0]
            for paper, score in zip(matching, scores, strict=True)
            if score.hits
        }
    return made
