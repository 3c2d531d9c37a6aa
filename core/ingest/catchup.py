"""Read arXiv's catchup listing, `arxiv.org/catchup/<subject>/<YYYY-MM-DD>`: what was announced
in a category (or archive) on a past day, for recovering a day the daily refresh missed.

The page comes from arXiv's open-source arxiv-browse (`browse/templates/catchup.html` and
`list/list_macros.html`): a heading "Catchup results for <subject> on <Wed, 27 Nov 2024>", a
"Total of N entries" line, then sections of new submissions, cross-lists and replacements,
each `<dt>` naming an id; "No updates for <date>" on a day without an announcement. Catchup
answers for the last 90 days; a page holds at most CATCHUP_PAGE_SIZE entries.

Only ids and their announce types are read here: the papers' metadata comes from the export
API (`id_list`), which answers it as data rather than as a page layout.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import NamedTuple

from lxml import html
from lxml.etree import ParserError

from core.days.calendar import Listing
from core.text import ARXIV_ID

CATCHUP_URL = "https://arxiv.org/catchup/{subject}/{day}"
CATCHUP_PAGE_SIZE = 2000
_SECTIONS: tuple[tuple[str, Listing], ...] = (
    ("new submissions", "new"),
    ("cross submissions", "cross"),
    ("cross-lists", "cross"),
    ("replacement submissions", "replace"),
    ("replacements", "replace"),
)
_HEADING = re.compile(r"Catchup results for .+ on (\w{3}, \d{1,2} \w{3} \d{4})")
_TOTAL = re.compile(r"Total of (\d+) entries")
_NO_UPDATES = re.compile(r"No updates for (\w{3}, \d{1,2} \w{3} \d{4})")
_ID = re.compile(rf"^(?:arXiv:)?({ARXIV_ID})$")


class PageShapeError(ValueError):
    """The page is not a catchup listing of the shape arxiv-browse renders."""


class Listed(NamedTuple):
    arxiv_id: str
    listing: Listing


class CatchupPage(NamedTuple):
    day: date
    total: int
    """Entries of every kind the day has, over all pages."""
    listed: list[Listed]
    """This page's entries, in the page's order."""

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // CATCHUP_PAGE_SIZE))


def catchup_url(subject: str, day: date, page: int = 1) -> str:
    address = CATCHUP_URL.format(subject=subject, day=day.isoformat())
    return f"{address}?abs=False&page={page}"


def parse_catchup(raw: bytes, day: date) -> CatchupPage:
    """One catchup page for `day`: its total and its entries (none on a day without an
    announcement). Raises PageShapeError when it is not such a page, or one for another day."""
    try:
        document = html.fromstring(raw)
    except (ParserError, ValueError) as error:
        raise PageShapeError(f"not an HTML page: {error}") from error
    heading = " ".join(" ".join(document.xpath("//h1//text()")).split())
    found = _HEADING.search(heading)
    if found is None:
        raise PageShapeError("no 'Catchup results for ... on <date>' heading")
    shown = datetime.strptime(found.group(1), "%a, %d %b %Y").date()
    if shown != day:
        raise PageShapeError(f"a page for {shown}, not {day}")
    text = " ".join(document.text_content().split())
    if _NO_UPDATES.search(text) and not document.xpath("//dt"):
        return CatchupPage(day, 0, [])
    total = _TOTAL.search(text)
    if total is None:
        raise PageShapeError("no 'Total of N entries' line")
    listed = _entries(document)
    if int(total.group(1)) and not listed:
        raise PageShapeError(f"{total.group(1)} entries said, none listed")
    return CatchupPage(day, int(total.group(1)), listed)


def _entries(document: html.HtmlElement) -> list[Listed]:
    listed: list[Listed] = []
    for section in document.xpath("//dl"):
        heading = " ".join(" ".join(section.xpath("./h3//text()")).split()).casefold()
        kind = next((k for name, k in _SECTIONS if heading.startswith(name)), None)
        for term in section.xpath("./dt"):
            link = term.xpath(".//a[@title='Abstract']")
            matched = _ID.match(" ".join(link[0].text_content().split())) if link else None
            if matched is None:
                raise PageShapeError("an entry without its arXiv id")
            if kind is None:
                raise PageShapeError(f"an entry under an unknown heading {heading!r}")
            listed.append(Listed(matched.group(1), kind))
    return listed
