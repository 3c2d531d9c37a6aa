"""Ad-hoc queries through the day indexes give exactly what re-scoring every stored paper
gives (the straightforward reference below), on the recorded day copied over three days."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from core.config import Rule, Settings
from core.models import FeedSpec, Paper
from core.query.index import DayIndex, loads, stored_key
from core.query.search import (
    MAX_SCORED_PAPERS,
    ClientGone,
    DayIndexes,
    Query,
    QueryTooBroad,
    find,
    search,
)
from core.query.select import select
from core.rank.ranker import Ranker, combine
from core.refresh import refresh
from core.store import Store, papers_of_days
from core.store.sqlite import SQLiteStore
from scripts.bench_adhoc import fill
from tests.conftest import FakeClock, shared_fixture
from tests.factories import RssItem, arxiv_rss

QUERIES = [
    Query([], ["moe", "kv cache"], [], None, 3, 200),
    Query([], ["serving", "GPU", "prun*"], [], None, 2, 50),
    Query(["cs.LG"], ["speculative decoding", "LLM"], [], 2.0, 3, 500),
    Query(["cs.DC", "cs.AR"], [], [], None, 3, 2000),
    Query([], ["efficiency"], [], None, 1, 20),
    Query([], [], [], 4.0, 3, 100),
    Query(["math.AG"], ["surface"], [], None, 3, 100),
    Query([], ["mixture of experts", "quantized"], [], None, 3, 100),
]


def reference(query: Query, settings: Settings, store: Store) -> list[Paper]:
    """Every paper of the days read and the new terms scored on all of them."""
    days = sorted(store.day_index(), reverse=True)[: query.days]
    papers = papers_of_days(store, days)
    configured = {
        name.casefold(): rule.term
        for rule in settings.rank.keywords
        for name in (rule.term, *rule.aliases)
    }
    new_terms = [term for term in query.terms if term.casefold() not in configured]
    if new_terms:
        ranker = Ranker([Rule(term=term) for term in new_terms], specificity=True)
        papers = [
            paper.model_copy(update={"score": combine(paper.score, extra)})
            for paper, extra in zip(papers, ranker.scores(papers), strict=True)
        ]
    spec = FeedSpec(
        name="q",
        title="q",
        categories=query.categories,
        rules=list(dict.fromkeys(configured.get(t.casefold(), t) for t in query.terms)),
        min_score=query.min_score,
        types=query.types,
        days=query.days,
        limit=query.limit,
    )
    return select(papers, spec)


def _counted_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many papers each later `store.papers` call reads."""
    read: list[int] = []
    papers = store.papers

    def counted(ids: list[str]) -> list[Paper]:
        read.append(len(ids))
        return papers(ids)

    monkeypatch.setattr(store, "papers", counted)
    return read


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One SQLite store for the module (the stores' own contract is tested elsewhere)."""
    shared_fixture("arxiv-rss/all-archives-2024-11-28.rss.xml")  # skipped (or failed) if absent
    store = SQLiteStore(tmp_path_factory.mktemp("search") / "month.db")
    fill(store, 3)
    return store


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_the_day_indexes_answer_as_rescoring_everything_would(month: Store, query: Query) -> None:
    settings = Settings()
    expected = reference(query, settings, month)
    indexes = DayIndexes()
    for _ in range(2):  # the second time from the cached indexes
        found = search(query, settings, month, indexes)
        assert [p.id for p in found] == [p.id for p in expected]
        assert [p.score for p in found] == [p.score for p in expected]
    assert expected or query.min_score, "a query that finds nothing checks little"


def test_only_the_returned_papers_are_read_once_the_days_are_indexed(
    month: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, indexes = Settings(), DayIndexes()
    query = Query([], [], [], None, 3, 25)
    search(query, settings, month, indexes)
    read = _counted_reads(month, monkeypatch)
    assert len(search(query, settings, month, indexes)) == 25
    assert read == [25]


def test_the_list_of_days_is_read_again_only_after_another_refresh_wrote(
    month: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, indexes = Settings(), DayIndexes()
    query = Query([], ["moe"], [], None, 3, 25)
    search(query, settings, month, indexes)
    read: list[int] = []
    day_index = month.day_index

    def counted() -> dict[date, list[str]]:
        read.append(1)
        return day_index()

    monkeypatch.setattr(month, "day_index", counted)
    search(query, settings, month, indexes)
    assert read == [], "the days of the publication already seen"
    report = month.last_report()
    assert report is not None
    month.save_report(report.model_copy(update={"started": report.started + timedelta(hours=1)}))
    search(query, settings, month, indexes)
    assert read == [1], "a refresh wrote since"


def test_a_query_that_would_rescore_too_many_papers_is_refused_with_the_way_out(
    month: Store,
) -> None:
    settings, indexes = Settings(), DayIndexes()
    one_day = Query([], ["model"], [], None, 1, 2000)
    assert search(one_day, settings, month, indexes), "about 770 papers say 'model' a day"
    with pytest.raises(QueryTooBroad, match=f"at most {MAX_SCORED_PAPERS}.*fewer days"):
        search(Query([], ["model"], [], None, 3, 2000), settings, month, indexes)
    assert search(Query([], ["model"], [], None, 3, 200), settings, month, indexes), (
        "the newest day alone fills a limit of 200: the older days are never scored"
    )


def test_a_query_whose_client_has_gone_stops_between_two_days(
    month: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, indexes = Settings(), DayIndexes()
    read = _counted_reads(month, monkeypatch)
    checks: list[int] = []

    def gone() -> bool:
        checks.append(1)
        return len(checks) > 1

    with pytest.raises(ClientGone, match="before day 2 of 3"):
        search(Query([], ["serving"], [], None, 3, 2000), settings, month, indexes, gone)
    assert len(read) == 1, "the first day's candidates (its index is stored), no other day's"


def test_a_term_scored_once_on_a_day_is_not_scored_again_by_another_query(
    month: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, indexes = Settings(), DayIndexes()
    find(Query([], ["serving"], [], None, 3, 200), settings, month, indexes)
    read = _counted_reads(month, monkeypatch)
    both = Query([], ["GPU", "serving"], [], None, 3, 200)
    first = find(both, settings, month, indexes)
    assert len(read) == 3 and sum(read) < 200, "only GPU's candidates, once a day"
    again = find(both, settings, month, indexes)
    assert len(read) == 3, "nothing scored again"
    assert first == again
    assert [m.term_score for m in first.matches if m.term_score and len(m.term_score.hits) > 1]


def test_a_new_process_reads_the_day_indexes_the_refresh_wrote_not_the_papers(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [RssItem(f"2411.{n:05}", title=f"Paper {n} on serving") for n in range(1, 6)]
    refresh(Settings(), store, lambda: arxiv_rss(items), source="t", clock=clock)
    (day,) = store.day_index()
    ids = store.day_index()[day]
    stored = store.day_index_bytes(day, stored_key(day, ids, store.last_report().ranking))  # type: ignore[union-attr]
    assert stored is not None and loads(stored) == DayIndex.build(day, store.papers(ids))
    read = _counted_reads(store, monkeypatch)
    found = find(Query([], ["serving"], [], None, 1, 3), Settings(), store, DayIndexes())
    assert len(found.matches) == 3
    assert read == [5], "only the candidates of the new term 'serving', no index built"
    monkeypatch.setattr(store, "day_index_bytes", lambda day, key: b'{"format": 0}')
    read.clear()
    find(Query([], [], [], None, 1, 3), Settings(), store, DayIndexes())
    assert read == [5], "an index of another format: built from the day's papers"


@pytest.mark.parametrize("days_stored", [1, 3])
def test_a_query_reads_as_much_whatever_the_store_holds(
    days_stored: int, month: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same query over a store of one day and one of three: the same reads (counted),
    once a process has read the day's stored index."""
    store = month if days_stored == 3 else SQLiteStore(tmp_path / "one.db")
    if days_stored == 1:
        fill(store, 1)
    indexes, query = DayIndexes(), Query([], ["moe"], [], None, 1, 25)
    indexed: list[date] = []
    stored_index = store.day_index_bytes

    def counted_index(day: date, key: str) -> bytes | None:
        indexed.append(day)
        return stored_index(day, key)

    monkeypatch.setattr(store, "day_index_bytes", counted_index)
    read = _counted_reads(store, monkeypatch)
    found = search(query, Settings(), store, indexes)
    assert len(indexed) == 1 and read == [len(found)], "the newest day's index, its results"
    search(query, Settings(), store, indexes)
    assert len(indexed) == 1 and read == [len(found)] * 2, "then only the results"
