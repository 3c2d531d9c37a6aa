"""Parse rss.arxiv.org announcement feeds into papers.

The feed lists every paper announced today in the requested categories, each once, with an
`arxiv:announce_type` relative to those categories. An empty feed (weekends, holidays) and
arXiv's error feed ("Feed error for query") are reported, never turned into an empty day.

Read with lxml, strictly: a response that is not one whole, well-formed RSS 2.0 document
(cut short, a maintenance page) is arXiv failing, and feedparser, tolerant of the feeds of
the whole web, is many times slower (docs/BENCHMARKS.md). tests/ingest/test_rss.py checks every
field read here against feedparser's reading of the recorded responses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, NamedTuple

from lxml import etree
from pydantic import BaseModel

from core.arxiv import covered
from core.ingest.normalize import clean_abstract, clean_text, split_authors, split_id
from core.models import AnnounceType, Paper

RSS_ITEM_CAP = 2000
"""rss.arxiv.org answers at most this many items: an answer this long may be cut."""

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
"""No entity, DTD or network access: the response is data."""


class Announcements(BaseModel):
    """The outcome of reading one announcement feed."""

    status: Literal["ok", "empty", "error"]
    message: str
    announced: datetime | None = None
    total: int = 0
    papers: list[Paper] = []
    repaired: int = 0
    """XML-invalid characters removed from the response before it was read."""
    counts: dict[str, dict[str, int]] = {}
    """Per followed category: how many new, cross and replace entries the answer lists,
    of every announce type (a replacement of a cross-list counts as a replacement)."""


class Item(NamedTuple):
    """One `<item>` as arXiv wrote it, before any normalising."""

    guid: str
    link: str
    title: str
    description: str
    categories: list[str]
    announce_type: str
    creators: str
    rights: str
    doi: str
    journal_ref: str


def _text(element: Any, path: str) -> str:
    found = element.find(path)
    return "" if found is None or found.text is None else str(found.text).strip()


_PLAIN = ("guid", "link", "title", "description")
"""RSS's own elements, found only without a namespace."""
_ANY_NAMESPACE = ("announce_type", "rights", "DOI", "journal_reference")
"""arXiv's and Dublin Core's elements, found by name in whatever namespace the response
declares for them (arXiv moved its own once), as feedparser found them by prefix."""


def read_item(item: Any) -> Item:
    """The item's fields, each from the first child of its name (one pass over the children:
    a search per field was most of reading a response)."""
    texts: dict[str, str] = {}
    categories: list[str] = []
    creators: list[str] = []
    for child in item:
        if not isinstance(child.tag, str):  # a comment or processing instruction
            continue
        namespace, _, name = child.tag.rpartition("}")
        text = child.text
        if name == "category" and not namespace:
            if text and text.strip():
                categories.append(text.strip())
        elif name == "creator":
            if text:
                creators.append(text.strip())
        elif (name in _ANY_NAMESPACE or (name in _PLAIN and not namespace)) and name not in texts:
            texts[name] = "" if text is None else str(text).strip()
    return Item(
        guid=texts.get("guid", ""),
        link=texts.get("link", ""),
        title=texts.get("title", ""),
        description=texts.get("description", ""),
        categories=categories,
        announce_type=texts.get("announce_type") or "new",
        creators=", ".join(creators),
        rights=texts.get("rights", ""),
        doi=texts.get("DOI", ""),
        journal_ref=texts.get("journal_reference", ""),
    )


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


def _paper(item: Item, announced: datetime) -> Paper:
    arxiv_id, version = split_id(item.guid or item.link)
    abstract, abstract_html = clean_abstract(_abstract(item.description))
    return Paper(
        id=arxiv_id,
        version=version,
        title=clean_text(item.title),
        authors=split_authors(item.creators),
        abstract=abstract,
        abstract_html=abstract_html,
        categories=item.categories,
        primary_category=item.categories[0] if item.categories else "",
        announce_type=AnnounceType(item.announce_type),
        announced=announced,  # the channel's day: one response is one announcement day
        doi=item.doi or None,
        journal_ref=clean_text(item.journal_ref) if item.journal_ref else None,
        license=item.rights or None,
    )


def _wanted(
    item: Item, categories: Collection[str] | None, types: Collection[AnnounceType] | None
) -> bool:
    if types is not None and item.announce_type not in types:
        return False
    return categories is None or covered(item.categories, categories)


_NOT_RSS = "arXiv's response is not its RSS feed (a maintenance page, or a wrong rss_url?)"


_XML_INVALID = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]"
    rb"|&#(?:x0*(?:[0-8bcef]|1[0-9a-f]|fff[ef])|0*(?:[0-8]|1[1-2]|1[4-9]|2[0-9]|3[01]|6553[45]));",
    re.IGNORECASE,
)
"""What XML 1.0 cannot carry, as UTF-8 bytes or as a character reference: C0 controls but
tab, line feed and carriage return, and U+FFFE / U+FFFF. None of these bytes occurs inside
another UTF-8 character, so removing them leaves the rest of the text as it was."""


def without_invalid_characters(raw: bytes) -> tuple[bytes, int]:
    """`raw` without the characters XML 1.0 forbids, and how many there were. arXiv has sent
    such characters in abstracts; one of them makes a strict parser refuse a whole day."""
    return _XML_INVALID.subn(b"", raw)


def rss_channel(raw: bytes) -> Any:
    """The `<channel>` of an RSS 2.0 document (free of XML-invalid characters).

    Raises:
        ValueError: saying why the response cannot be taken as a day's announcements. Such a
            response is arXiv failing, never "no announcement".
    """
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as error:
        if b"<html" in raw[:1024].lower():
            raise ValueError(_NOT_RSS) from error
        raise ValueError(
            f"arXiv's response is not a whole RSS document (cut short?): {error}"
        ) from error
    channel = root.find("channel")
    if root.tag != "rss" or not str(root.get("version", "")).startswith("2.") or channel is None:
        raise ValueError(_NOT_RSS)
    return channel


def _counted(items: list[Item], followed: Collection[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {category: Counter() for category in followed}
    for item in items:
        kind = "replace" if item.announce_type.startswith("replace") else item.announce_type
        for category in followed:
            if covered(item.categories, (category,)):
                counts[category][kind] += 1
    return {category: dict(counted) for category, counted in counts.items()}


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
    repaired = sum(part.repaired for part in parts)
    counted: dict[str, Counter[str]] = {}
    for part in parts:
        for category, kinds in part.counts.items():
            counted.setdefault(category, Counter()).update(kinds)
    return Announcements(
        status="ok",
        message=message,
        announced=announced,
        total=total,
        papers=papers,
        repaired=repaired,
        counts={c: dict(k) for c, k in counted.items()},
    )


def parse_announcements(
    raw: bytes,
    categories: Collection[str] | None = None,
    types: Collection[AnnounceType] | None = None,
) -> Announcements:
    """Read one rss.arxiv.org response, keeping the items in `categories` with an announce type
    in `types` (all when None). Items that cannot be read are skipped and counted."""
    raw, repaired = without_invalid_characters(raw)
    try:
        channel = rss_channel(raw)
    except ValueError as problem:
        return Announcements(status="error", message=str(problem), repaired=repaired)
    title = _text(channel, "title")
    if title.startswith("Feed error"):
        said = _text(channel, "description") or title
        return Announcements(status="error", message=f"arXiv said: {clean_text(said)}")
    items = [read_item(item) for item in channel.iterfind("item")]
    announced = _parse_date(_text(channel, "pubDate"))
    if not items:
        return Announcements(
            status="empty",
            message="no announcement today (arXiv publishes none on weekends and holidays)",
            announced=announced,
            repaired=repaired,
        )
    announced = announced or _parse_date(_text(channel.find("item"), "pubDate"))
    if announced is None:
        return Announcements(status="error", message="the feed has no announcement date")
    papers: list[Paper] = []
    skipped = 0
    counted = _counted(items, categories) if categories is not None else {}
    for item in items:
        if not _wanted(item, categories, types):
            continue
        try:
            papers.append(_paper(item, announced))
        except ValueError:
            skipped += 1
    note = f", {skipped} unreadable items skipped" if skipped else ""
    return Announcements(
        status="ok",
        message=f"{len(items)} announcements for {announced.date()}{note}",
        announced=announced,
        total=len(items),
        papers=papers,
        repaired=repaired,
        counts=counted,
    )


def repaired_note(repaired: int) -> str:
    if not repaired:
        return ""
    return f"; removed {repaired} XML-invalid character(s) from arXiv's answer"


def requests_note(parts: list[Announcements]) -> str:
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
