"""Announcement days the service missed: found by comparing the days it holds with arXiv's
schedule, and recovered from arXiv's catchup listing.

arXiv announces Monday to Friday; a weekday without an announcement is a holiday, which only
arXiv can confirm (its catchup page then says "No updates for <date>"). A weekday between the
oldest held day and the newest day arXiv has shown, that the service does not hold and arXiv
has not confirmed as a holiday, is a gap: it is recovered, or reported as missing with the
reason, never dropped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Literal, NamedTuple

from core.arxiv import covered
from core.config import Settings
from core.models import AnnounceType, Calendar, DayRecord, Paper

if TYPE_CHECKING:  # the clients and parsers load when a refresh recovers, not when /health asks
    from core.ingest.catchup import Listed
    from core.ingest.client import ArxivClient
    from core.store import Store

CATCHUP_DAYS = 90
"""How far back arXiv's catchup listing answers (arxiv-browse refuses older dates)."""
Listing = Literal["new", "cross", "replace"]

US_EASTERN = timezone(timedelta(hours=-5))
"""arXiv announces at midnight US Eastern; the hour only has to fall on the right day."""
SHOWN_DAYS = 5
"""How many of the latest announcement days /health and the landing page show."""


def weekdays(first: date, last: date) -> list[date]:
    """Monday to Friday from `first` to `last`, both included."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def missing_days(
    held: Collection[date], calendar: Calendar, newest: date, today: date, window_days: int
) -> list[date]:
    """Weekdays without a held day, newest first: from the oldest held day (at most
    `window_days` before `newest`) to `newest`, leaving out confirmed holidays and days
    catchup no longer answers for."""
    if not held:
        return []
    start = max(min(held), newest - timedelta(days=window_days))
    oldest_answered = today - timedelta(days=CATCHUP_DAYS)
    return [day for day in unheld(weekdays(start, newest), held, calendar) if day > oldest_answered]


def unheld(days: Iterable[date], held: Collection[date], calendar: Calendar) -> list[date]:
    """Of `days`, those neither held nor a holiday arXiv confirmed, newest first."""
    return sorted(
        (
            d
            for d in days
            if d not in held and not (d in calendar and calendar[d].state == "holiday")
        ),
        reverse=True,
    )


class Recovered(NamedTuple):
    day: date
    papers: list[Paper]
    """Every listed paper, dated to the day, with the announce type its listing gives."""
    announced: dict[str, dict[str, int]]
    """Per followed category, its new, cross and replace entries."""

    @property
    def holiday(self) -> bool:
        return not any(self.announced.values())


def recover_day(client: ArxivClient, settings: Settings, day: date) -> Recovered:
    """What arXiv announced on `day` in the followed categories: the catchup listing of each
    (every page), then the papers' metadata from the export API. Raises ArxivError, or
    PageShapeError when a page is not a catchup listing."""
    from core.ingest.api import papers_by_id

    followed = settings.arxiv.categories
    listed: dict[str, Listing] = {}
    announced: dict[str, dict[str, int]] = {}
    for subject in followed:
        entries = _listed(client, subject, day)
        announced[subject] = dict(Counter(entry.listing for entry in entries))
        for entry in entries:
            listed[entry.arxiv_id] = _stronger(listed.get(entry.arxiv_id), entry.listing)
    if not listed:
        return Recovered(day, [], announced)
    when = datetime.combine(day, time(0), US_EASTERN)
    papers = [
        paper.model_copy(
            update={"announced": when, "announce_type": _type(listed[paper.id], paper, followed)}
        )
        for paper in papers_by_id(client.query, list(listed), followed)
        if paper.id in listed
    ]
    return Recovered(day, papers, announced)


def _listed(client: ArxivClient, subject: str, day: date) -> list[Listed]:
    from core.ingest.catchup import catchup_url, parse_catchup

    first = parse_catchup(client.get(catchup_url(subject, day)), day)
    entries = list(first.listed)
    for page in range(2, first.pages + 1):
        entries += parse_catchup(client.get(catchup_url(subject, day, page)), day).listed
    return entries


_STRENGTH = {"new": 2, "cross": 1, "replace": 0}


def _stronger(known: Listing | None, found: Listing) -> Listing:
    """A paper new in one followed category and cross-listed in another is new."""
    return found if known is None or _STRENGTH[found] > _STRENGTH[known] else known


def _type(listing: Listing, paper: Paper, followed: list[str]) -> AnnounceType:
    if listing != "replace":
        return AnnounceType(listing)
    primary = covered([paper.primary_category], followed)
    return AnnounceType.REPLACE if primary else AnnounceType.REPLACE_CROSS


def latest(calendar: Calendar, held: Iterable[date], count: int = SHOWN_DAYS) -> list[DayRecord]:
    """The latest `count` weekdays the calendar or the held days know, newest first (a held
    day without a record, published before records were kept, is complete)."""
    records = {day: DayRecord(day=day, state="complete") for day in held} | calendar
    return [records[day] for day in sorted(records, reverse=True)[:count]]


def pruned(index: dict[date, list[str]], retention_days: int) -> tuple[list[date], list[str]]:
    """The days retention drops, and the papers no day left holds."""
    cutoff = max(index) - timedelta(days=retention_days)
    remove_days = [day for day in index if day < cutoff]
    kept_ids = {i for day, ids in index.items() if day >= cutoff for i in ids}
    return remove_days, sorted({i for day in remove_days for i in index[day]} - kept_ids)


def record_days(store: Store, settings: Settings, records: Calendar) -> Calendar:
    """The calendar with `records`, kept as long as retention keeps papers."""
    calendar = store.calendar() | records
    if not calendar:
        return calendar
    oldest = max(calendar) - timedelta(days=settings.store.retention_days)
    kept = {day: record for day, record in calendar.items() if day >= oldest}
    store.put_calendar(kept)
    return kept
