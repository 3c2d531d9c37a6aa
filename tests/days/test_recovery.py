"""Missed announcement days: found, recovered from arXiv's catchup listing in their place,
remembered as holidays, or named as missing; never dropped silently."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast
from urllib.parse import parse_qs

import feedparser
import httpx
import pytest
from fastapi.testclient import TestClient

from core.config import Settings, load_settings
from core.days.calendar import missing_days, weekdays
from core.days.recovery import backfill, live_refresh
from core.ingest.catchup import PageShapeError, parse_catchup
from core.ingest.client import ArxivClient
from core.models import DayRecord
from core.store import Store
from core.web.app import create_app
from tests.conftest import FakeClock
from tests.factories import CatchupEntry, RssItem, arxiv_api, arxiv_rss, catchup_page

TUESDAY, WEDNESDAY, THURSDAY = date(2024, 11, 26), date(2024, 11, 27), date(2024, 11, 28)


@dataclass
class Arxiv:
    """A stand-in for arXiv at the HTTP transport: rss.arxiv.org shows `today`, catchup and
    the export API answer for every day in `days` (day -> the papers announced, as RSS
    items), a day in `holidays` had none. Every request is counted."""

    today: date
    days: dict[date, list[RssItem]]
    holidays: set[date] = field(default_factory=set)
    broken: dict[date, httpx.Response] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(f"{request.url.host}{request.url.path}")
        if request.url.host == "rss.arxiv.org":
            day = self.today.strftime("%a, %d %b %Y")
            content = arxiv_rss(self.days.get(self.today, []), day=day)
            etag = f'"{hashlib.sha256(content).hexdigest()[:16]}"'
            if request.headers.get("if-none-match") == etag:
                return httpx.Response(304, headers={"ETag": etag})
            return httpx.Response(200, content=content, headers={"ETag": etag})
        if request.url.path.startswith("/catchup/"):
            _, _, subject, asked = request.url.path.split("/")
            return self._catchup(subject, date.fromisoformat(asked))
        ids = parse_qs(request.url.query.decode())["id_list"][0].split(",")
        items = {i.arxiv_id: i for items in self.days.values() for i in items}
        entries = [
            (f"{i}v{items[i].version}", items[i].title, "2024-11-25T18:00:00Z", items[i].categories)
            for i in ids
            if i in items
        ]
        return httpx.Response(200, content=arxiv_api(entries))

    def _catchup(self, subject: str, day: date) -> httpx.Response:
        if day in self.broken:
            return self.broken[day]
        listed = [i for i in self.days.get(day, []) if subject in i.categories]
        kinds = {"new": [], "cross": [], "replace": []}  # type: dict[str, list[CatchupEntry]]
        for item in listed:
            kind = "replace" if item.announce_type.startswith("replace") else item.announce_type
            kinds[kind].append(CatchupEntry(item.arxiv_id, item.title, item.categories[0]))
        page = catchup_page(day, kinds["new"], kinds["cross"], kinds["replace"])
        return httpx.Response(200, content=page)


def _settings(tmp_path: Path) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text('[arxiv]\ncategories = ["cs.LG"]\n[feeds]\ndays = 5\n')
    return load_settings(path, env={})


def _day(day: date, count: int = 2) -> list[RssItem]:
    return [
        RssItem(f"24{day.month:02d}.{day.day:02d}{n:03d}", title=f"LLM paper {n} of {day}")
        for n in range(count)
    ]


def _refresh(settings: Settings, store: Store, arxiv: Arxiv, clock: FakeClock) -> str:
    clock.now = datetime.combine(arxiv.today, datetime.min.time()).timestamp() + 6 * 3600
    report = live_refresh(settings, store, clock=clock, arxiv_transport=httpx.MockTransport(arxiv))
    assert report.status == "published", report.message
    return report.message


def test_a_skipped_weekday_is_recovered_in_its_place_and_every_format_dates_it_right(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    days = {day: _day(day) for day in (TUESDAY, WEDNESDAY, THURSDAY)}
    arxiv = Arxiv(TUESDAY, days)
    _refresh(settings, store, arxiv, clock)
    arxiv.today = THURSDAY  # Wednesday's cron never ran
    message = _refresh(settings, store, arxiv, clock)

    assert "recovered 2 papers announced 2024-11-27" in message
    assert sorted(store.day_index()) == [TUESDAY, WEDNESDAY, THURSDAY]
    assert store.day_index()[WEDNESDAY] == [i.arxiv_id for i in days[WEDNESDAY]]
    record = store.calendar()[WEDNESDAY]
    assert (record.state, record.held, record.announced) == ("recovered", 2, {"cs.LG": {"new": 2}})
    client = TestClient(create_app(settings, lambda: store, clock=clock))
    for fmt in ("xml", "atom"):
        entries = feedparser.parse(client.get(f"/feeds/cs.LG.{fmt}").content).entries
        dated = {e.link.rsplit("/", 1)[1]: e.published_parsed[:3] for e in entries}
        assert dated["2411.27000"] == (2024, 11, 27) and dated["2411.28000"] == (2024, 11, 28)
        order = [e.link.rsplit("/", 1)[1][:7] for e in entries]
        assert order == sorted(order, reverse=True), "newest day first, Wednesday in between"
    items = json.loads(client.get("/feeds/cs.LG.json").content)["items"]
    assert [i["date_published"][:10] for i in items].count("2024-11-27") == 2
    health = client.get("/health").json()
    states = [(d["day"], d["state"]) for d in health["announcement_days"][:3]]
    assert states == [
        ("2024-11-28", "complete"),
        ("2024-11-27", "recovered"),
        ("2024-11-26", "complete"),
    ]


def test_a_holiday_is_learned_once_and_never_asked_about_again(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    arxiv = Arxiv(TUESDAY, {TUESDAY: _day(TUESDAY), THURSDAY: _day(THURSDAY)}, {WEDNESDAY})
    _refresh(settings, store, arxiv, clock)
    arxiv.today = THURSDAY
    assert "2024-11-27 had no announcement (a holiday)" in _refresh(settings, store, arxiv, clock)
    assert store.calendar()[WEDNESDAY].state == "holiday"
    arxiv.asked.clear()
    transport = httpx.MockTransport(arxiv)
    assert live_refresh(settings, store, clock=clock, arxiv_transport=transport).days
    assert arxiv.asked == ["rss.arxiv.org/rss/cs.LG"], "no catchup request for a known holiday"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            httpx.Response(200, content=b"<html><body><h1>Something else</h1></body></html>"),
            "page shape",
        ),
        (httpx.Response(404, content=b"Not Found"), "HTTP 404"),
        (httpx.Response(200, content=catchup_page(TUESDAY)), "page shape: a page for 2024-11-26"),
    ],
)
def test_a_day_that_cannot_be_recovered_is_named_missing_with_its_reason(
    tmp_path: Path, store: Store, clock: FakeClock, answer: httpx.Response, reason: str
) -> None:
    settings = _settings(tmp_path)
    arxiv = Arxiv(TUESDAY, {d: _day(d) for d in (TUESDAY, WEDNESDAY, THURSDAY)})
    arxiv.broken[WEDNESDAY] = answer
    _refresh(settings, store, arxiv, clock)
    arxiv.today = THURSDAY
    message = _refresh(settings, store, arxiv, clock)
    assert "2024-11-27 is missing: recovery failed" in message and reason in message
    assert WEDNESDAY not in store.day_index(), "nothing half-published"
    health = TestClient(create_app(settings, lambda: store, clock=clock)).get("/health")
    wednesday = next(d for d in health.json()["announcement_days"] if d["day"] == "2024-11-27")
    assert wednesday["state"] == "missing" and reason in wednesday["reason"]
    assert wednesday["next_try"] == "at the next refresh"
    assert health.status_code == 503 and health.json()["status"] == "missing days"
    page = TestClient(create_app(settings, lambda: store, clock=clock)).get("/").text
    assert '<li class="missing">2024-11-27 missing: recovery failed' in page

    del arxiv.broken[WEDNESDAY]  # the next refresh tries again, and recovers it
    assert "recovered 2 papers announced 2024-11-27" in _refresh(settings, store, arxiv, clock)
    assert store.calendar()[WEDNESDAY].state == "recovered"


def test_gaps_are_the_weekdays_between_held_days_newest_first_holidays_left_out() -> None:
    held = {date(2024, 11, 22), date(2024, 11, 28)}  # a Friday and the next Thursday
    holiday = {date(2024, 11, 26): DayRecord(day=date(2024, 11, 26), state="holiday")}
    found = missing_days(held, holiday, date(2024, 11, 28), date(2024, 11, 28), 30)
    assert found == [date(2024, 11, 27), date(2024, 11, 25)]
    assert weekdays(date(2024, 11, 29), date(2024, 12, 2)) == [
        date(2024, 11, 29),
        date(2024, 12, 2),
    ]
    assert missing_days(set(), {}, THURSDAY, THURSDAY, 30) == []
    old = missing_days({date(2024, 6, 3), THURSDAY}, {}, THURSDAY, THURSDAY, 365)
    assert min(old) > date(2024, 8, 30), "catchup answers only the last 90 days"


def test_a_catchup_page_of_another_shape_is_refused() -> None:
    with pytest.raises(PageShapeError, match="Total of N entries"):
        parse_catchup(
            b"<html><body><h1>Catchup results for Machine Learning on Wed, 27 Nov 2024</h1>"
            b"</body></html>",
            WEDNESDAY,
        )
    with pytest.raises(PageShapeError, match="not an HTML page"):
        parse_catchup(b"", WEDNESDAY)


def test_sixty_weekdays_of_cron_failures_late_days_holidays_and_an_outage_miss_nothing_silently(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """A fake clock over twelve weeks; arXiv replaced by the stand-in, which also fails: cron
    runs that never happen, announcements later than the first cron, holidays, a week-long
    outage and random 503s from catchup. After every day arXiv answered, each announced
    weekday the service keeps is held with all its papers, named missing, or a holiday; and
    no two requests to arXiv came less than 3 seconds apart."""
    settings = _settings(tmp_path)
    draws = random.Random(7)
    first = date(2024, 9, 2)
    calendar_days = [first + timedelta(days=n) for n in range(84)]
    announced = weekdays(first, calendar_days[-1])
    assert len(announced) == 60
    holidays = {date(2024, 9, 2), date(2024, 10, 14), date(2024, 11, 11)}
    outage = {first + timedelta(days=n) for n in range(60, 67)}
    days = {day: _day(day, 3) for day in announced if day not in holidays}
    arxiv = Arxiv(first, days, holidays)
    times: list[float] = []
    seen: Counter[str] = Counter()

    def transport(request: httpx.Request) -> httpx.Response:
        times.append(clock.time())
        if arxiv.today in outage or (
            request.url.path.startswith("/catchup/") and draws.random() < 0.1
        ):
            return httpx.Response(503, headers={"Retry-After": "5"})
        return arxiv(request)

    for today in calendar_days:
        runs = [5.5, 13.0] if draws.random() > 0.2 else [13.0]  # the first cron failed
        late = draws.random() < 0.15  # arXiv announced after the first run
        for hour in runs:
            arxiv.today = today if (hour > 6 or not late) else _previous(today, announced)
            clock.now = datetime.combine(today, datetime.min.time()).timestamp() + hour * 3600
            transport_ = httpx.MockTransport(transport)
            live_refresh(settings, store, clock=clock, arxiv_transport=transport_)
        if today not in outage:
            seen.update(_nothing_silently_missed(store, settings, days, holidays, today))

    assert seen["recovered"] > 0 and seen["holiday"] > 0, seen
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 3.0, "arXiv's one request every 3 seconds"


def _nothing_silently_missed(
    store: Store,
    settings: Settings,
    days: dict[date, list[RssItem]],
    holidays: set[date],
    today: date,
) -> Counter[str]:
    """Checks every weekday that retention keeps, up to the newest day arXiv has shown (a
    later one is not known to be an announcement day yet); the states seen."""
    held, records = store.day_index(), store.calendar()
    states: Counter[str] = Counter()
    if not held:  # nothing published yet: nothing to have missed since
        return states
    kept_from = max(min(held), max(held) - timedelta(days=settings.store.retention_days))
    for day in weekdays(kept_from, min(max(held), today)):
        if day in held:
            assert held[day] == [item.arxiv_id for item in days[day]], day
        elif day in holidays:
            assert records[day].state == "holiday", day
        else:
            assert records[day].state == "missing" and records[day].reason, (day, today)
        states[records[day].state if day in records else "complete"] += 1
    return states


def _previous(day: date, announced: list[date]) -> date:
    return max((d for d in announced if d < day), default=day)


def test_backfill_dates_papers_by_announcement_day_and_leaves_held_days_alone(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """The days backfill publishes are the days the announcement feed would have published,
    the same papers on each; a day the feed already published is not asked for again."""
    settings = _settings(tmp_path)
    cross = RssItem("2411.27099", title="LLM cross-list", categories=("stat.ML", "cs.LG"))
    cross.announce_type = "cross"
    days = {TUESDAY: _day(TUESDAY), WEDNESDAY: [*_day(WEDNESDAY), cross], THURSDAY: _day(THURSDAY)}
    arxiv = Arxiv(THURSDAY, days)
    _refresh(settings, store, arxiv, clock)
    arxiv.asked.clear()
    client = ArxivClient(settings.arxiv, store, transport=httpx.MockTransport(arxiv), clock=clock)
    report = backfill(settings, store, client, days=4, clock=clock)

    assert report.status == "published", report.message
    assert "recovered 3 papers announced 2024-11-27" in report.message
    assert "recovered 2 papers announced 2024-11-26" in report.message
    held = {day: sorted(ids) for day, ids in store.day_index().items()}
    assert held == {day: sorted(item.arxiv_id for item in items) for day, items in days.items()}
    (read,) = store.papers(["2411.27099"])
    assert (read.announce_type.value, read.day) == ("cross", WEDNESDAY)
    assert not any("2024-11-28" in asked for asked in arxiv.asked), "a held day is not asked for"
    assert [r.state for r in backfill(settings, store, client, days=4, clock=clock).days][:3] == [
        "complete",
        "recovered",
        "recovered",
    ]


class _Writes:
    """A store that counts the calls that write (the limiter's slot aside: every request to
    arXiv takes one)."""

    WRITES = ("publish", "save_report", "put_calendar", "acquire_lock", "set_like", "secret")

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> object:
        if name in self.WRITES:
            self.calls.append(name)
        return getattr(self._store, name)


def test_a_later_cron_on_a_published_day_costs_one_conditional_request_and_no_write(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    """The schedule asks several times a day, so a late announcement is caught the same day;
    while arXiv's answer is the one already published, a run costs one request that arXiv
    answers 304, and the store is not written."""
    settings = _settings(tmp_path)
    arxiv = Arxiv(WEDNESDAY, {WEDNESDAY: _day(WEDNESDAY), THURSDAY: _day(THURSDAY)})
    _refresh(settings, store, arxiv, clock)
    arxiv.today = THURSDAY
    _refresh(settings, store, arxiv, clock)
    arxiv.asked.clear()
    counted = _Writes(store)
    transport = httpx.MockTransport(arxiv)
    report = live_refresh(settings, cast(Store, counted), clock=clock, arxiv_transport=transport)
    assert report.status == "no-announcement"
    assert "unchanged since 2024-11-28 was published (HTTP 304)" in report.message
    assert arxiv.asked == ["rss.arxiv.org/rss/cs.LG"] and counted.calls == []


def test_the_day_arxiv_announces_late_is_published_by_the_next_cron(
    tmp_path: Path, store: Store, clock: FakeClock
) -> None:
    settings = _settings(tmp_path)
    arxiv = Arxiv(WEDNESDAY, {WEDNESDAY: _day(WEDNESDAY), THURSDAY: _day(THURSDAY)})
    _refresh(settings, store, arxiv, clock)
    clock.now += 24 * 3600  # Thursday 06:00: arXiv is late and still shows Wednesday
    first = live_refresh(settings, store, clock=clock, arxiv_transport=httpx.MockTransport(arxiv))
    assert "HTTP 304" in first.message and max(store.day_index()) == WEDNESDAY
    arxiv.today = THURSDAY  # 09:00: announced
    clock.now += 3 * 3600
    later = live_refresh(settings, store, clock=clock, arxiv_transport=httpx.MockTransport(arxiv))
    assert later.status == "published" and max(store.day_index()) == THURSDAY
