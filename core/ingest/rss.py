"""Parse rss.arxiv.org announcement feeds into papers.

The feed lists every paper announced today in the requested categories, each once, with an
`arxiv:announce_type` relative to those categories. An empty feed (weekends, holidays) and
arXiv's error feed ("Feed error for query") are reported, never turned into an empty day.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import feedparser
from pydantic import BaseModel

from core.config import covered
from core.ingest.normalize import clean_html, clean_text, split_authors, split_id
from core.models import AnnounceType, Paper


class Announcements(BaseModel):
    """The outcome of reading one announcement feed."""

    status: Literal["ok", "empty", "error"]
    message: str
    announced: datetime | None = None
    total: int = 0
    papers: list[Paper] = []


def _parse_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else None


def _abstract(description: str) -> str:
    """`arXiv:2411.17700v1 Announce Type: new \\nAbstract: ...` -> the abstract alone (TeX)."""
    _, found, abstract = description.partition("Abstract:")
    return abstract if found else description


def _paper(entry: Any, announced: datetime) -> Paper:
    arxiv_id, version = split_id(entry.get("id") or entry.get("link", ""))
    categories = [tag["term"] for tag in entry.get("tags", []) if tag.get("term")]
    abstract = _abstract(entry.get("summary", ""))
    return Paper(
        id=arxiv_id,
        version=version,
        title=clean_text(entry.get("title", "")),
        authors=split_authors(entry.get("author", "")),
        abstract=clean_text(abstract),
        abstract_html=clean_html(abstract),
        categories=categories,
        primary_category=categories[0] if categories else "",
        announce_type=AnnounceType(entry.get("arxiv_announce_type", "new").strip()),
        announced=announced,  # the channel's day: one response is one announcement day
        doi=entry.get("arxiv_doi") or None,
        journal_ref=clean_text(entry["arxiv_journal_reference"])
        if entry.get("arxiv_journal_reference")
        else None,
        license=entry.get("rights") or None,
    )


def _wanted(
    entry: Any, categories: Collection[str] | None, types: Collection[AnnounceType] | None
) -> bool:
    if types is not None and entry.get("arxiv_announce_type", "new").strip() not in types:
        return False
    if categories is None:
        return True
    return covered((tag.get("term") or "" for tag in entry.get("tags", [])), categories)


def _not_an_arxiv_feed(document: Any) -> str | None:
    """Why a response cannot be taken as a day's announcements (a page cut short, an HTML
    maintenance page), or None. Such a response is arXiv failing, never "no announcement"."""
    if document.get("bozo") and not isinstance(
        document.get("bozo_exception"), feedparser.CharacterEncodingOverride
    ):
        reason = document.get("bozo_exception")
        return f"arXiv's response is not a whole RSS document (cut short?): {reason}"
    if document.get("version") != "rss20":
        return "arXiv's response is not its RSS feed (a maintenance page, or a wrong rss_url?)"
    return None


def merge(parts: list[Announcements]) -> Announcements:
    """Answers to split requests as one day's announcements (a paper listed in two of them
    once); an error, or answers for different days, make the whole an error."""
    if len(parts) == 1:
        return parts[0]
    if failed := [part for part in parts if part.status == "error"]:
        return failed[0]
    days = {part.announced.date() for part in parts if part.announced and part.papers}
    if len(days) > 1:
        listed = ", ".join(str(day) for day in sorted(days))
        return Announcements(
            status="error", message=f"arXiv's answers disagree on the day: {listed}"
        )
    if all(part.status == "empty" for part in parts):
        return parts[0]
    papers = list({paper.id: paper for part in parts for paper in part.papers}.values())
    announced = max(part.announced for part in parts if part.announced)
    total = sum(part.total for part in parts)
    message = f"{total} announcements for {announced.date()} in {len(parts)} requests"
    return Announcements(
        status="ok", message=message, announced=announced, total=total, papers=papers
    )


def parse_announcements(
    raw: bytes,
    categories: Collection[str] | None = None,
    types: Collection[AnnounceType] | None = None,
) -> Announcements:
    """Read one rss.arxiv.org response, keeping the items in `categories` with an announce type
    in `types` (all when None). Items that cannot be read are skipped and counted."""
    # An arXiv description is text, not HTML: sanitising it as HTML would read `$a<b$` as a
    # tag and drop what follows. It is escaped wherever it is shown.
    document = feedparser.parse(raw, sanitize_html=False, resolve_relative_uris=False)
    if problem := _not_an_arxiv_feed(document):
        return Announcements(status="error", message=problem)
    channel = document.feed
    title = str(channel.get("title", ""))
    if title.startswith("Feed error"):
        return Announcements(
            status="error", message=f"arXiv said: {clean_text(channel.get('subtitle', title))}"
        )
    if not document.entries:
        return Announcements(
            status="empty",
            message="no announcement today (arXiv publishes none on weekends and holidays)",
            announced=_parse_date(channel.get("published")),
        )
    announced = _parse_date(channel.get("published")) or _parse_date(
        document.entries[0].get("published")
    )
    if announced is None:
        return Announcements(status="error", message="the feed has no announcement date")
    papers: list[Paper] = []
    skipped = 0
    for entry in document.entries:
        if not _wanted(entry, categories, types):
            continue
        try:
            papers.append(_paper(entry, announced))
        except ValueError:
            skipped += 1
    note = f", {skipped} unreadable items skipped" if skipped else ""
    return Announcements(
        status="ok",
        message=f"{len(document.entries)} announcements for {announced.date()}{note}",
        announced=announced,
        total=len(document.entries),
        papers=papers,
    )
