"""Render papers as RSS 2.0 and Atom 1.0 (feedgen) and JSON Feed 1.1.

Every string from arXiv is HTML-escaped before it becomes item HTML; nothing from outside is
passed through as markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import Any, Protocol

from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.feed import FeedGenerator
from lxml import etree
from pydantic import BaseModel
from pydantic_core import to_json

from core.config import Format
from core.models import SECTION_TITLES, Paper, RenderedFeed, Summary
from core.render.extensions import AtomLinksExtension, SkipWeekendExtension
from core.render.feedback import LABELS, FeedbackLinks
from core.render.stored import Piece, piece, rendered
from core.text import xml_safe

MEDIA_TYPES: dict[str, str] = {
    "xml": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM = "http://www.w3.org/2005/Atom"


class FeedMeta(BaseModel):
    """The channel-level facts of one feed."""

    title: str
    description: str
    self_url: str
    home_url: str
    updated: datetime
    ttl_minutes: int = 360
    empty_hint: str = "No papers yet: run `arxiv-feeds refresh` to fetch today's announcements."


SUMMARY_LABELS: dict[str, tuple[str, ...]] = {
    "en": (
        "Summary",
        "TL;DR",
        *SECTION_TITLES,
        "Written by {model} from the {source}.",
    ),
    "zh": (
        "论文总结",
        "一句话总结",
        "贡献与创新",
        "方法与实验设置",
        "主要结果",
        "结论、局限与未来工作",
        "由 {model} 根据{source}生成。",
    ),
}
SOURCE_NAMES = {
    "en": {"html": "full text (arXiv HTML)", "pdf": "full text (PDF)", "abstract": "abstract only"},
    "zh": {"html": "论文全文（arXiv HTML）", "pdf": "论文全文（PDF）", "abstract": "摘要"},  # noqa: RUF001
}


def _paragraphs(text: str) -> str:
    """Plain text from an LLM as HTML: escaped, line breaks kept. Nothing passes as markup."""
    return "<br>".join(escape(line) for line in text.strip().splitlines() if line.strip())


def tldr_html(summary: Summary) -> str:
    """The summary's one sentence, read before the abstract."""
    labels = SUMMARY_LABELS.get(summary.language, SUMMARY_LABELS["en"])
    return (
        f'<p lang="{escape(summary.language)}"><b>{escape(labels[1])}:</b> '
        f"{_paragraphs(summary.tldr)}</p>"
    )


def summary_html(summary: Summary) -> str:
    """The summary's sections and who made it from what, read after the abstract."""
    labels = SUMMARY_LABELS.get(summary.language, SUMMARY_LABELS["en"])
    sources = SOURCE_NAMES.get(summary.language, SOURCE_NAMES["en"])
    texts = [text for _, text in summary.sections()]
    body = "".join(
        f"<h4>{escape(label)}</h4><p>{_paragraphs(text)}</p>"
        for label, text in zip(labels[2:6], texts, strict=True)
    )
    credit = labels[6].format(model=summary.model, source=sources[summary.source])
    return (
        f'<section lang="{escape(summary.language)}"><h3>{escape(labels[0])}</h3>{body}'
        f"<p><small>{escape(credit)}</small></p></section>"
    )


def item_html(
    paper: Paper, language: str | None = None, feedback: FeedbackLinks | None = None
) -> str:
    """The body of a feed item: why it is here (one short line), who wrote it, the summary's
    TL;DR in `language` (any, when None) if there is one, the abstract, the summary, the
    score's full breakdown (collapsed), the links (and "more / less like this")."""
    score = paper.score
    summary = paper.summary_in(language)
    categories = " · ".join(
        f"<b>{escape(c)}</b>" if c == paper.primary_category else escape(c)
        for c in paper.categories
    )
    links = [
        f'<a href="{escape(paper.abs_url)}">abstract</a>',
        f'<a href="{escape(paper.pdf_url)}">PDF</a>',
        f'<a href="{escape(paper.html_url)}">HTML</a>',
    ]
    if paper.doi:
        links.append(f'<a href="https://doi.org/{escape(paper.doi)}">DOI {escape(paper.doi)}</a>')
    extra = "".join(
        f"<p><i>{label}:</i> {escape(value)}</p>"
        for label, value in (("Journal", paper.journal_ref), ("Comment", paper.comment))
        if value
    )
    opinions = (
        "<p>"
        + " · ".join(
            f'<a href="{escape(feedback.url(paper.id, opinion))}">{label}</a>'
            for opinion, label in LABELS.items()
        )
        + "</p>"
        if feedback
        else ""
    )
    return (
        f"<p>{escape(score.why())}</p>"
        f"<p>{escape(', '.join(paper.authors))}</p>"
        f"<p>{categories} · {escape(paper.announce_type.value)} · arXiv:{escape(paper.id)}"
        f"v{paper.version}</p>"
        f"{tldr_html(summary) if summary else ''}"
        f"<p>{paper.abstract_html or escape(paper.abstract)}</p>{extra}"
        f"{summary_html(summary) if summary else ''}"
        f"<details><summary>Score {score.total:g}</summary><p>{escape(score.explain())}</p>"
        f"</details><p>{' · '.join(links)}</p>{opinions}"
    )


ITEM_TIME = time(12, 0, tzinfo=UTC)
"""Items are dated noon UTC of their announcement day (arXiv announces at midnight US
Eastern): the same calendar day in UTC and in every US time zone, down to Hawaii."""


def _description(meta: FeedMeta, days: list[date]) -> str:
    """The feed's description, with how many items it holds (`days`: each item's day)."""
    if not days:
        return f"{meta.description} {meta.empty_hint}"
    named = sorted({day.isoformat() for day in days}, reverse=True)
    return (
        f"{meta.description} Updated {meta.updated.astimezone(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{len(days)} papers "
        f"announced {', '.join(named)}."
    )


ItemTimes = Mapping[str, datetime]


def item_times(papers: list[Paper]) -> dict[str, datetime]:
    """Noon UTC of each paper's announcement day, less its rank within the day in seconds, so
    that readers which sort by date keep the ranking (2,000 papers span 34 minutes). `papers`
    in feed order; a feed holding some of them in the same order keeps their times."""
    times = {}
    position_in_day: dict[object, int] = {}
    for paper in papers:
        position = position_in_day.get(paper.day, 0)
        position_in_day[paper.day] = position + 1
        times[paper.id] = item_time(paper.day, position)
    return times


def item_time(day: date, rank_in_day: int) -> datetime:
    return datetime.combine(day, ITEM_TIME) - timedelta(seconds=rank_in_day)


class Kept(Protocol):
    """Where made items are kept: a dict for one refresh, a bounded cache for a process
    (keyed by what `ItemFragments.key` makes)."""

    def get(self, key: Any, /) -> Piece | None: ...

    def __setitem__(self, key: Any, value: Piece, /) -> None: ...


class ItemFragments:
    """Each paper's item, rendered once in one format and reused by every feed that lists
    it (a refresh renders each paper into four or five feeds on average). `key` names what
    an item depends on beyond the format, when `kept` outlives one set of papers; `pack`: also
    compressed, for feeds whose gzip copy is spliced from their items (`core.render.stored`);
    `pairs`: RSS and Atom made together, for a caller that renders both (`XmlPairs`)."""

    def __init__(
        self,
        fmt: Format,
        body: Callable[[Paper], str],
        times: ItemTimes,
        kept: Kept | None = None,
        key: Callable[[Paper], Hashable] = lambda paper: paper.id,
        pack: bool = False,
        pairs: XmlPairs | None = None,
    ) -> None:
        self.fmt, self.body, self.times, self.key, self.pack = fmt, body, times, key, pack
        self._kept: Kept = kept if kept is not None else {}
        self._pairs = pairs

    def of(self, paper: Paper) -> Piece:
        """The paper's item, UTF-8 encoded (and compressed: `core.render.stored`)."""
        key = self.key(paper)
        made = self._kept.get(key)
        if made is None:
            body, when = self.body(paper), self.times[paper.id]
            if self.fmt == "json":
                made = piece(_json_item(paper, body, when), self.pack)
            else:
                make = self._pairs.item if self._pairs else _xml_item
                made = piece(make(self.fmt, paper, body, when).encode(), self.pack)
            self._kept[key] = made
        return made


_RSS_NAMESPACES = {
    "atom": ATOM,
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def _entry(paper: Paper, when: datetime) -> FeedEntry:
    """A paper's feedgen entry with the fields its RSS item and Atom entry share."""
    entry = FeedEntry()
    # registered, not loaded by name: feedgen's load_extension first tries to import a module
    # that does not exist, for every entry
    entry.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    entry.register_extension("arxiv", AtomLinksExtension, atom=True, rss=False)
    entry.arxiv.links(paper.abs_url, paper.pdf_url, paper.html_url)
    entry.id(paper.abs_url)
    entry.guid(paper.abs_url, permalink=True)
    entry.title(xml_safe(paper.title))
    entry.link(href=paper.abs_url, rel="alternate")
    entry.published(when)
    entry.updated(when)
    authors = [xml_safe(name) for name in paper.authors] or ["arXiv"]
    entry.author([{"name": name} for name in authors])
    entry.dc.dc_creator(", ".join(authors))
    for category in paper.categories:
        entry.category(term=category, scheme="https://arxiv.org/archive/")
    return entry


def _xml_item(
    fmt: Format, paper: Paper, body: str, when: datetime, entry: FeedEntry | None = None
) -> str:
    """One RSS `<item>` or Atom `<entry>`, made by feedgen (from `entry` when the shared
    fields are set already: `XmlPairs`). RSS and Atom differ in what readers make of the
    same fields: an RSS description is HTML (so the abstract is escaped into it), an Atom
    summary is text; Atom content is `type="html"` with one `alternate` link (the abstract
    page), the PDF and HTML versions `related`; RSS has one `<link>`, the abstract page, and
    the item HTML in content:encoded."""
    entry = entry or _entry(paper, when)
    teaser = xml_safe(f"{paper.score.why()}. {paper.abstract}")
    if fmt == "atom":
        entry.summary(teaser)
        entry.content(xml_safe(body), type="html")
        return str(etree.tostring(entry.atom_entry(), encoding="unicode"))
    entry.description(escape(teaser))
    entry.content(xml_safe(body), type="CDATA")
    # made inside an <rss> root that declares the namespaces, as the document's root does,
    # then taken out of it: the item itself declares none
    root = etree.Element("rss", nsmap=_RSS_NAMESPACES)
    root.append(entry.rss_entry())
    wrapped = str(etree.tostring(root, encoding="unicode"))
    return wrapped[wrapped.index(">") + 1 : wrapped.rindex("</rss>")]


class XmlPairs:
    """Each paper's RSS item and Atom entry made together, from one feedgen entry (what they
    share set once), for a caller that renders the same papers in both formats; each is
    kept until asked for."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[Format, str], str] = {}

    def item(self, fmt: Format, paper: Paper, body: str, when: datetime) -> str:
        made = self._waiting.pop((fmt, paper.id), None)
        if made is None:
            entry = _entry(paper, when)
            made = _xml_item(fmt, paper, body, when, entry)
            other: Format = "xml" if fmt == "atom" else "atom"
            self._waiting[(other, paper.id)] = _xml_item(other, paper, body, when, entry)
        return made


def _channel(fmt: Format, meta: FeedMeta, days: list[date]) -> bytes:
    """The feed document without its items (feedgen)."""
    generator = FeedGenerator()
    generator.register_extension("dc", DcExtension, DcEntryExtension, atom=False, rss=True)
    generator.register_extension("weekend", SkipWeekendExtension, atom=False, rss=True)
    generator.id(meta.self_url)
    generator.title(xml_safe(meta.title))
    generator.description(xml_safe(_description(meta, days)))
    generator.link(href=meta.self_url, rel="self")
    generator.link(href=meta.home_url, rel="alternate")  # last: feedgen's RSS <link> is the last
    generator.language("en")
    generator.updated(meta.updated)
    generator.lastBuildDate(meta.updated)
    generator.ttl(meta.ttl_minutes)
    generator.generator("arxiv-feeds")
    document: bytes = generator.atom_str() if fmt == "atom" else generator.rss_str()
    return document


def _json_item(paper: Paper, body: str, when: datetime) -> bytes:
    """One JSON Feed item, serialised by pydantic-core (faster than the json module for
    these; the same bytes but for floats under 1e-4, which no score or similarity is)."""
    item = {
        "id": paper.abs_url,
        "url": paper.abs_url,
        "external_url": paper.pdf_url,
        "title": paper.title,
        "content_html": body,
        "summary": f"{paper.score.why()}. {paper.abstract}",
        "date_published": when.isoformat(),
        "authors": [{"name": name} for name in paper.authors],
        "tags": paper.categories,
        "_arxiv": {
            "id": paper.id,
            "version": paper.version,
            "announce_type": paper.announce_type.value,
            "primary_category": paper.primary_category,
            "score": paper.score.total,
            "why": paper.score.why(),
            "matched": [hit.model_dump() for hit in paper.score.hits],
            "vetoed_by": paper.score.vetoed_by,
            "pdf_url": paper.pdf_url,
            "html_url": paper.html_url,
            "doi": paper.doi,
            "journal_ref": paper.journal_ref,
            "summaries": {
                lang: summary.model_dump(mode="json") for lang, summary in paper.summaries.items()
            },
        },
    }
    return to_json(item)


_COMMA = piece(b",", pack=True)


def _json_document(meta: FeedMeta, days: list[date], items: list[Piece]) -> list[Piece]:
    document = {
        "version": JSON_FEED_VERSION,
        "title": meta.title,
        "home_page_url": meta.home_url,
        "feed_url": meta.self_url,
        "description": _description(meta, days),
        "language": "en",
        "items": [],
    }
    empty = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    head = empty.removesuffix("]}").encode()  # "items" is the last key
    pack = _packed(items)
    pieces = [piece(head, pack)]
    for number, item in enumerate(items):
        pieces.extend([_COMMA, item] if number else [item])
    return [*pieces, piece(b"]}", pack)]


def _packed(items: list[Piece]) -> bool:
    """Whether items are packed to be spliced (`core.render.stored`): their feed's head and
    tail are then packed too."""
    return all(item.packed is not None for item in items)


def render(fmt: Format, meta: FeedMeta, papers: list[Paper]) -> bytes:
    """The feed document (see `render_pieces`)."""
    return b"".join([part.plain for part in render_pieces(fmt, meta, papers)])


def render_pieces(
    fmt: Format, meta: FeedMeta, papers: list[Paper], fragments: ItemFragments | None = None
) -> list[Piece]:
    """The feed document, in pieces. `fragments`: the papers' items already rendered in this
    format (with their times), for callers that render the same papers into many feeds."""
    if fragments is None:
        fragments = ItemFragments(fmt, item_html, item_times(papers))
    items = [fragments.of(paper) for paper in papers]
    return render_items(fmt, meta, items, [paper.day for paper in papers])


def render_items(fmt: Format, meta: FeedMeta, items: list[Piece], days: list[date]) -> list[Piece]:
    """The feed document around items already rendered (`days`: each item's day)."""
    if fmt == "json":
        return _json_document(meta, days, items)
    document = _channel(fmt, meta, days)
    closing = b"</feed>" if fmt == "atom" else b"</channel>"
    head, found, tail = document.rpartition(closing)
    if not found:
        raise RuntimeError(f"feedgen's {fmt} document lacks {closing!r}")
    pack = _packed(items)
    return [piece(head, pack), *items, piece(found + tail, pack)]


def render_feed(
    fmt: Format,
    meta: FeedMeta,
    papers: list[Paper],
    base_url: str = "",
    fragments: ItemFragments | None = None,
) -> RenderedFeed:
    """Rendered bytes with the validators HTTP caching needs and a gzip copy; `base_url`: the
    site address in its links, so that `core.render.stored.with_base` can move them to
    another."""
    pieces = render_pieces(fmt, meta, papers, fragments)
    return rendered(pieces, MEDIA_TYPES[fmt], meta.updated, base_url)
