"""The pipeline end to end on the project's own small feeds, on both stores."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import feedparser
import pytest

import core.query.index as index_module
import core.rank.reader as reader_module
from core.config import Settings, load_settings
from core.ingest import ArxivError
from core.models import Paper, Publication
from core.query.index import stored_key
from core.rank.ranker import Ranker
from core.rank.words import Fields, fields_of
from core.refresh import refresh
from core.store import Store, papers_of_days
from core.store.lock import LOCK_NAME
from core.store.sqlite import SQLiteStore
from core.web.gate import QueryGate
from tests.conftest import FakeClock
from tests.factories import RssItem, ServerMessages, arxiv_rss

ITEMS = [
    RssItem(
        "2411.00001", title="KV cache compression for LLM inference", categories=("cs.CL", "cs.LG")
    ),
    RssItem("2411.00002", title="A survey of MoE", categories=("cs.LG",)),
    RssItem(
        "2411.00003",
        title="Cross-listed efficient kernels",
        categories=("math.NA", "cs.LG"),
        announce_type="cross",
    ),
    RssItem(
        "2411.00004",
        title="Replaced paper",
        categories=("cs.LG",),
        announce_type="replace",
        version=2,
    ),
    RssItem("2411.00005", title="Unrelated astronomy", categories=("astro-ph.GA",)),
]


def _settings(tmp_path: Path, extra: str = "") -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        '[arxiv]\ncategories = ["cs.CL", "cs.LG"]\n[store]\nretention_days = 2\n' + extra
    )
    return load_settings(path, env={})


def test_publishes_kept_types_once_and_renders_every_feed(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    report = refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    assert report.status == "published", report.message
    assert (report.fetched, report.kept, report.by_type) == (5, 3, {"new": 2, "cross": 1})
    ids = [p.id for p in papers_of_days(store, [report.day])]  # type: ignore[list-item]
    assert sorted(ids) == ["2411.00001", "2411.00002", "2411.00003"]
    assert ids[-1] == "2411.00002"  # vetoed by 'survey': last
    feed = store.feed("cs.LG.xml")
    assert feed is not None
    entries = feedparser.parse(feed.body).entries
    assert [e.id.rsplit("/", 1)[1] for e in entries] == ["2411.00001", "2411.00003", "2411.00002"]
    all_feed = feedparser.parse(store.feed("all.xml").body)  # type: ignore[union-attr]
    assert "2411.00002" not in {e.id.rsplit("/", 1)[1] for e in all_feed.entries}
    keyword = feedparser.parse(store.feed("keyword/kv-cache.atom").body)  # type: ignore[union-attr]
    assert [e.id for e in keyword.entries] == ["https://arxiv.org/abs/2411.00001"]
    assert report.feeds_rendered == 3 * (2 + 1 + 29)


def test_running_twice_gives_the_same_state(tmp_path: Path, store: Store, clock: FakeClock) -> None:
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    first = (store.day_index(), store.feed("cs.LG.json").body)  # type: ignore[union-attr]
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    assert (store.day_index(), store.feed("cs.LG.json").body) == first  # type: ignore[union-attr]


def test_replace_is_opt_in(tmp_path: Path, store: Store, clock: FakeClock) -> None:
    settings = _settings(tmp_path, "")
    opted = settings.model_copy(
        update={
            "arxiv": settings.arxiv.model_copy(
                update={"announce_types": ["new", "cross", "replace"]}
            )
        }
    )
    report = refresh(opted, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    assert report.by_type == {"new": 2, "cross": 1, "replace": 1}
    (replaced,) = store.papers(["2411.00004"])
    assert replaced.version == 2


def test_empty_error_and_failed_fetch_keep_the_last_good_day(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    good = (store.day_index(), store.feed("cs.LG.xml").body)  # type: ignore[union-attr]

    def unreachable() -> bytes:
        raise ArxivError("arXiv kept failing: HTTP 503")

    error_feed = arxiv_rss([]).replace(
        b"cs.AI, cs.LG updates on arXiv.org", b"Feed error for query"
    )
    outcomes = [
        refresh(settings, store, lambda: arxiv_rss([]), source="t", clock=clock),
        refresh(settings, store, lambda: error_feed, source="t", clock=clock),
        refresh(settings, store, unreachable, source="t", clock=clock),
        refresh(
            settings,
            store,
            lambda: arxiv_rss(ITEMS[:1], "Wed, 27 Nov 2024"),
            source="t",
            clock=clock,
        ),
    ]
    assert [r.status for r in outcomes] == [
        "no-announcement",
        "upstream-error",
        "upstream-error",
        "no-announcement",
    ]
    assert all("still serving 2024-11-28" in r.message for r in outcomes)
    assert (store.day_index(), store.feed("cs.LG.xml").body) == good  # type: ignore[union-attr]
    assert store.last_report().status == "no-announcement"  # type: ignore[union-attr]
    assert store.last_published().status == "published"  # type: ignore[union-attr]


def test_an_old_batch_under_a_new_date_is_not_published_again(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=clock)
    good = (store.day_index(), store.feed("cs.LG.xml").body)  # type: ignore[union-attr]
    again = refresh(
        settings, store, lambda: arxiv_rss(ITEMS, "Fri, 29 Nov 2024"), source="t", clock=clock
    )
    assert again.status == "no-announcement"
    assert "papers all announced before" in again.message
    assert (store.day_index(), store.feed("cs.LG.xml").body) == good  # type: ignore[union-attr]
    assert store.last_published().day.isoformat() == "2024-11-28"  # type: ignore[union-attr]
    revised = [ITEMS[0], RssItem("2411.00002", title="A survey of MoE, v2", version=2)]
    next_day = refresh(
        settings, store, lambda: arxiv_rss(revised, "Fri, 29 Nov 2024"), source="t", clock=clock
    )
    assert next_day.status == "published", "a new version is news"


def test_days_accumulate_and_retention_prunes(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    days = ["Mon, 25 Nov 2024", "Tue, 26 Nov 2024", "Wed, 27 Nov 2024", "Thu, 28 Nov 2024"]
    for n, day in enumerate(days):
        item = RssItem(f"2411.1000{n}", title=f"LLM paper {n}", categories=("cs.LG",))
        report = refresh(
            settings,
            store,
            partial(arxiv_rss, [item], day),
            source="t",
            clock=clock,
        )
    assert report.pruned == 1
    assert [d.isoformat() for d in sorted(store.day_index())] == [
        "2024-11-26",
        "2024-11-27",
        "2024-11-28",
    ]
    assert store.papers(["2411.10000"]) == []
    entries = feedparser.parse(store.feed("cs.LG.xml").body).entries  # type: ignore[union-attr]
    assert [e.id[-10:] for e in entries] == [
        "2411.10003",
        "2411.10002",
        "2411.10001",
    ]  # newest day first


def test_a_held_lock_refuses_a_second_refresh(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    assert store.acquire_lock(LOCK_NAME, 600, clock.time())
    report = refresh(settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=clock)
    assert report.status == "locked"
    assert store.day_index() == {}


def test_a_crash_keeps_the_data_records_the_failure_and_frees_the_lock(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.refresh

    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=clock)
    good = store.day_index()

    def broken(*args: object) -> object:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(core.refresh, "render_all", broken)
    later = arxiv_rss([RssItem("2411.00009", title="KV cache news")], "Fri, 29 Nov 2024")
    with pytest.raises(RuntimeError):
        refresh(settings, store, lambda: later, source="t", clock=clock)
    assert store.day_index() == good
    report = store.last_report()
    assert report is not None and report.status == "failed"
    assert report.message == "refresh failed: RuntimeError: renderer bug"
    assert store.acquire_lock(LOCK_NAME, 600, clock.time()) is not None


def test_the_cycle_collector_stays_on_when_a_query_and_a_refresh_overlap(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing switches process-wide state: a query in a worker thread that begins before a
    refresh and ends while the refresh waits on arXiv leaves the collector on, throughout
    and after."""
    import core.refresh
    from core.render.configured import render_all

    seen: dict[str, bool] = {}
    query_started, query_may_end = threading.Event(), threading.Event()
    fetching, fetch_may_end = threading.Event(), threading.Event()

    def query(gone: Any) -> None:
        seen["query"] = gc.isenabled()
        query_started.set()
        assert query_may_end.wait(timeout=30)

    def fetch() -> bytes:
        seen["fetch"] = gc.isenabled()
        fetching.set()
        assert fetch_may_end.wait(timeout=30)
        return arxiv_rss(ITEMS)

    def rendering(*args: Any, **kwargs: Any) -> Any:
        seen["render"] = gc.isenabled()
        return render_all(*args, **kwargs)

    monkeypatch.setattr(core.refresh, "render_all", rendering)
    querying = threading.Thread(
        target=lambda: asyncio.run(QueryGate().run(ServerMessages.connected(), query))
    )
    refreshing = threading.Thread(
        target=refresh,
        args=(_settings(tmp_path), store, fetch),
        kwargs={"source": "t", "clock": clock},
    )
    querying.start()
    assert query_started.wait(timeout=30)
    refreshing.start()
    assert fetching.wait(timeout=30)
    query_may_end.set()
    querying.join(timeout=30)
    fetch_may_end.set()
    refreshing.join(timeout=30)
    assert seen == {"query": True, "fetch": True, "render": True}
    assert gc.isenabled()
    assert store.day_index(), "the refresh published"


def test_validators_change_only_when_the_bytes_do(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """The second daily cron re-publishes the same day: no reader downloads anything again."""
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    first = store.feed_validators()
    assert first
    clock.now += 3600
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="test", clock=clock)
    assert store.feed_validators() == first

    clock.now += 86400
    later = [RssItem("2411.00099", title="LLM news", categories=("cs.LG",))]
    refresh(
        settings, store, lambda: arxiv_rss(later, day="Fri, 29 Nov 2024"), source="t", clock=clock
    )
    changed = store.feed_validators()
    assert changed["cs.LG.xml"][0] != first["cs.LG.xml"][0]
    assert changed["cs.LG.xml"][1].timestamp() == int(clock.now)
    assert changed["cs.CL.xml"] == first["cs.CL.xml"], "a feed the new day left alone"


def test_a_new_day_under_changed_rules_reorders_the_days_already_held(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """Every day the feeds hold is re-scored with the rules of the refresh, and stored in
    its new order (ad-hoc feeds date items by it), not only the new day."""
    path = tmp_path / "config.toml"
    held = [RssItem("2411.00001", title="Knots"), RssItem("2411.00002", title="Graphs")]
    path.write_text('[arxiv]\ncategories = ["cs.LG"]\n[rank]\nkeywords = ["knots"]\n')
    refresh(load_settings(path, env={}), store, lambda: arxiv_rss(held), source="t", clock=clock)
    assert next(iter(store.day_index().values())) == ["2411.00001", "2411.00002"]
    path.write_text('[arxiv]\ncategories = ["cs.LG"]\n[rank]\nkeywords = ["graphs"]\n')
    later = [RssItem("2411.00003", title="Trees")]
    day2 = partial(arxiv_rss, later, day="Fri, 29 Nov 2024")
    refresh(load_settings(path, env={}), store, day2, source="t", clock=clock)
    first_day = min(store.day_index())
    assert store.day_index()[first_day] == ["2411.00002", "2411.00001"]


HELD_DAY = [
    RssItem(f"2411.{n:05d}", title=title, abstract=abstract, categories=("cs.LG",))
    for n, (title, abstract) in enumerate(
        [
            ("KV cache compression for LLM inference", "We quantize the KV cache of LLMs."),
            ("Efficient MoE training", "Mixture of experts trained with less communication."),
            ("Speculative decoding at scale", "A draft model speeds up LLM serving."),
            ("Graph coloring", "A classic problem, revisited."),
            ("Graph coloring again", "A classic problem, revisited."),
            ("Sparse attention kernels", "GPU kernels for long context attention."),
            ("A survey of LLM serving", "We review serving systems."),
        ],
        start=1,
    )
]
NEW_DAY = [
    RssItem("2411.00101", title="Paged KV cache", abstract="Serving LLMs with paged memory."),
    RssItem("2411.00102", title="Knot theory", abstract="Invariants of knots."),
]


def _two_days(
    settings: Settings, store: Store, clock: FakeClock, new_day: list[RssItem] = NEW_DAY
) -> None:
    refresh(settings, store, lambda: arxiv_rss(HELD_DAY), source="t", clock=clock)
    day2 = partial(arxiv_rss, new_day, day="Fri, 29 Nov 2024")
    assert refresh(settings, store, day2, source="t", clock=clock).status == "published"


def _state(store: Store) -> tuple[object, ...]:
    """Everything a publication leaves that scores decide: scores, order, indexes, feeds."""
    days = dict(sorted(store.day_index().items()))
    ranking = store.last_report().ranking  # type: ignore[union-attr]
    return (
        [p.score for p in papers_of_days(store, list(days))],
        days,
        [store.day_index_bytes(day, stored_key(day, ids, ranking)) for day, ids in days.items()],
        [store.feed(key).body for key in ("cs.LG.xml", "all.atom", "cs.LG.json")],  # type: ignore[union-attr]
    )


def _ranked_ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ranked: list[str] = []
    rank = Ranker.rank

    def counted(self: Ranker, papers: Iterable[Paper], read: Fields | None = None) -> list[Paper]:
        papers = list(papers)
        ranked.extend(paper.id for paper in papers)
        return rank(self, papers, read)

    monkeypatch.setattr(Ranker, "rank", counted)
    return ranked


def test_a_new_day_scores_only_itself_and_leaves_what_ranking_all_days_would(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the rules, likes and scoring code unchanged, the days a store holds keep their
    scores, order and indexes: the same as ranking every day again, for a fraction of it."""
    settings = _settings(tmp_path, '[rank]\nlike = ["2411.00003"]\n')
    reference = SQLiteStore(tmp_path / "reference.db")
    with monkeypatch.context() as every_day_again:
        every_day_again.setattr(reader_module, "_held_scores_stand", lambda *_: False)
        every_day_again.setattr(reference, "secret", store.secret)  # the same feedback links
        _two_days(settings, reference, clock)
    ranked = _ranked_ids(monkeypatch)
    read: list[str] = []

    def reading(papers: Iterable[Paper]) -> Fields:
        papers = list(papers)
        read.extend(paper.id for paper in papers)
        return fields_of(papers)

    monkeypatch.setattr(reader_module, "fields_of", reading)
    monkeypatch.setattr(index_module, "fields_of", reading)
    _two_days(settings, store, clock)
    assert ranked == [i.arxiv_id for i in HELD_DAY + NEW_DAY], "the held day was ranked again"
    assert read == ranked, "the held day was read into words again (its index is stored)"
    assert _state(store) == _state(reference)
    liked_title = HELD_DAY[2].title
    assert any(hit.matched == liked_title for score in _state(store)[0] for hit in score.hits)  # type: ignore[attr-defined]


def _etags(store: Store) -> dict[str, str]:
    return {key: etag for key, (etag, _) in store.feed_validators().items()}


def test_a_new_day_writes_only_what_changed(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The held day's papers and index stay as stored (what they hold is checked against
    ranking every day again above); the new day's are written."""
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(HELD_DAY), source="t", clock=clock)
    published: list[Publication] = []
    publish = store.publish

    def kept(publication: Publication) -> None:
        published.append(publication)
        publish(publication)

    monkeypatch.setattr(store, "publish", kept)
    day2 = partial(arxiv_rss, NEW_DAY, day="Fri, 29 Nov 2024")
    assert refresh(settings, store, day2, source="t", clock=clock).status == "published"
    (publication,) = published
    new_day = max(publication.days)
    assert sorted(p.id for p in publication.papers) == [i.arxiv_id for i in NEW_DAY]
    assert list(publication.indexes) == [new_day]
    assert len(publication.days) == 2


def test_a_new_site_address_moves_every_items_links(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """An item's links carry the site's address (and the feedback secret's signatures): the
    held day's items move with it."""
    refresh(_settings(tmp_path), store, lambda: arxiv_rss(HELD_DAY), source="t", clock=clock)
    moved = _settings(tmp_path, '[site]\nbase_url = "https://feeds.example.org"\n')
    day2 = partial(arxiv_rss, NEW_DAY, day="Fri, 29 Nov 2024")
    assert refresh(moved, store, day2, source="t", clock=clock).status == "published"
    feed = store.feed("cs.LG.xml")
    assert feed is not None and b"https://feeds.example.org/feedback?id=2411.00001" in feed.body


def test_a_held_day_that_lost_a_paper_to_its_replacement_is_scored_again(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its scores depended on the paper that now belongs to the new day."""
    path = tmp_path / "config.toml"
    path.write_text('[arxiv]\ncategories = ["cs.LG"]\nannounce_types = ["new", "replace"]\n')
    settings = load_settings(path, env={})
    replaced = replace(HELD_DAY[0], announce_type="replace", version=2)
    new_day = [*NEW_DAY, replaced]
    reference = SQLiteStore(tmp_path / "reference.db")
    with monkeypatch.context() as every_day_again:
        every_day_again.setattr(reader_module, "_held_scores_stand", lambda *_: False)
        every_day_again.setattr(reference, "secret", store.secret)
        _two_days(settings, reference, clock, new_day)
    ranked = _ranked_ids(monkeypatch)
    _two_days(settings, store, clock, new_day)
    assert sorted(ranked[len(HELD_DAY) :]) == sorted(i.arxiv_id for i in HELD_DAY + NEW_DAY)
    assert _state(store) == _state(reference)


def test_new_scoring_code_scores_the_held_days_again(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(HELD_DAY), source="t", clock=clock)
    monkeypatch.setattr(reader_module, "scoring_code", lambda: "a release that scores otherwise")
    ranked = _ranked_ids(monkeypatch)
    day2 = partial(arxiv_rss, NEW_DAY, day="Fri, 29 Nov 2024")
    refresh(settings, store, day2, source="t", clock=clock)
    assert sorted(ranked) == sorted(i.arxiv_id for i in HELD_DAY + NEW_DAY)


def test_a_liked_paper_first_seen_in_the_new_day_scores_the_held_days_again(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """The held day was scored while the liked paper was nowhere to be found: it is scored
    again once the paper arrives, though the configuration did not change."""
    settings = _settings(tmp_path, '[rank]\nlike = ["2411.00101"]\n')
    _two_days(settings, store, clock)
    held = papers_of_days(store, [min(store.day_index())])
    like = [p.id for p in held if any(hit.matched == "Paged KV cache" for hit in p.score.hits)]
    assert "2411.00001" in like  # "KV cache compression for LLM inference"


def test_a_held_day_without_its_stored_index_gets_one_made(
    tmp_path: Path, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    refresh(settings, store, lambda: arxiv_rss(HELD_DAY), source="t", clock=clock)
    with monkeypatch.context() as another_release:  # its index is kept under another key
        another_release.setattr(store, "day_index_bytes", lambda day, key: None)
        day2 = partial(arxiv_rss, NEW_DAY, day="Fri, 29 Nov 2024")
        assert refresh(settings, store, day2, source="t", clock=clock).status == "published"
    ranking = store.last_report().ranking  # type: ignore[union-attr]
    days = store.day_index()
    assert len(days) == 2
    assert all(
        store.day_index_bytes(day, stored_key(day, ids, ranking)) for day, ids in days.items()
    )
