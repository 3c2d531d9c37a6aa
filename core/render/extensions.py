"""What arXiv feeds add to feedgen's documents, through feedgen's extension API (as its own
`ext/dc.py` does) rather than by editing its output afterwards."""

from __future__ import annotations

from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

WEEKEND = ("Saturday", "Sunday")


class SkipWeekendExtension(BaseExtension):  # type: ignore[misc]
    """RSS `<skipDays>`: no announcements at weekends. feedgen's own keeps the days in a set,
    whose order changes with each process's string hashing, and so would a feed's bytes and
    ETag; this writes them in a fixed order."""

    def extend_rss(self, feed: Any) -> Any:
        skip = etree.SubElement(feed[0], "skipDays")
        for day in WEEKEND:
            etree.SubElement(skip, "day").text = day
        return feed


class AtomLinksExtension(BaseEntryExtension):  # type: ignore[misc]
    """An Atom entry's links as RFC 4287 wants them: one `alternate` (the abstract page) and
    the PDF and HTML versions `related`, each with its type. feedgen 1.0 writes every entry
    link without `rel` and `type`, so all of them would read as `alternate`."""

    def __init__(self) -> None:
        self._links: list[dict[str, str]] = []

    def links(self, abs_url: str, pdf_url: str, html_url: str) -> None:
        self._links = [
            {"rel": "alternate", "type": "text/html", "href": abs_url},
            {"rel": "related", "type": "application/pdf", "href": pdf_url, "title": "PDF"},
            {"rel": "related", "type": "text/html", "href": html_url, "title": "HTML"},
        ]

    def extend_atom(self, entry: Any) -> Any:
        for link in entry.findall("link"):
            entry.remove(link)
        for attributes in self._links:
            etree.SubElement(entry, "link", attributes)
        return entry
