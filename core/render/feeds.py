"""Render papers as RSS 2.0 and Atom 1.0 (feedgen) and JSON Feed 1.1.

Every string from arXiv is HTML-escaped before it becomes item HTML; nothing from outside is
passed through as markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from html import escape
from typing import Any

from feedgen.feed import FeedGenerator
from pydantic import BaseModel

from core.config import Format
from core.feedback import LABELS, FeedbackLinks
from core.models import SECTION_TITLES, Paper, RenderedFeed, Summary
from core.render.stored import rendered
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


def summary_html(summary: Summary) -> str:
    labels = SUMMARY_LABELS.get(summary.language, SUMMARY_LABELS["en"])
    sources = SOURCE_NAMES.get(summary.language, SOURCE_NAMES["en"])
    texts = [text for _, text in summary.sections()]
    body = "".join(
        f"<h4>{escape(label)}</h4><p>{_paragraphs(text)}</p>"
        for label, text in zip(labels[2:6], texts, strict=True)
    )
    credit = labels[6].format(model=summary.model, source=sources[summary.source])
    return (
        f'<section lang="{escape(summary.language)}"><h3>{escape(labels[0])}</h3>'
        f"<p><b>{escape(labels[1])}:</b> {_paragraphs(summary.tldr)}</p>{body}"
        f"<p><small>{escape(credit)}</small></p></section>"
    )


def item_html(
    paper: Paper, language: str | None = None, feedback: FeedbackLinks | None = None
) -> str:
    """The body of a feed item: why it matched, who wrote it, the summary in `language` (any,
    when None) if there is one, the abstract, the links (and "more / less like this")."""
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
        f"<p><b>Score {score.total:g}</b> — {escape(score.explain())}</p>"
        f"<p>{escape(', '.join(paper.authors))}</p>"
        f"<p>{categories} · {escape(paper.announce_type.value)} · arXiv:{escape(paper.id)}"
        f"v{paper.version}</p>"
        f"{summary_html(summary) if summary else ''}"
        f"<p>{paper.abstract_html or escape(paper.abstract)}</p>{extra}"
        f"<p>{' · '.join(links)}</p>{opinions}"
    )


ITEM_TIME = time(12, 0, tzinfo=UTC)
"""Items are dated noon UTC of their announcement day (arXiv announces at midnight US
Eastern): the same calendar day in UTC and in every US time zone, down to Hawaii."""


def _item_times(papers: list[Paper]) -> list[datetime]:
    """Noon UTC of each paper's announcement day, less its rank within the day in seconds, so
    that readers which sort by date keep the ranking (2,000 papers span 34 minutes)."""
    times = []
    position_in_day: dict[object, int] = {}
    for paper in papers:
        position = position_in_day.get(paper.day, 0)
        position_in_day[paper.day] = position + 1
        times.append(datetime.combine(paper.day, ITEM_TIME) - timedelta(seconds=position))
    return times


def _description(meta: FeedMeta, papers: list[Paper]) -> str:
    days = sorted({paper.day.isoformat() for paper in papers}, reverse=True)
    if not papers:
        return f"{meta.description} {meta.empty_hint}"
    return (
        f"{meta.description} Updated {meta.updated:%Y-%m-%d %H:%M} UTC; {len(papers)} papers "
        f"announced {', '.join(days)}."
    )


def _feedgen(
    fmt: Format, meta: FeedMeta, papers: list[Paper], bodies: Mapping[str, str]
) -> FeedGenerator:
    """RSS and Atom differ in what readers make of the same fields: an RSS description is
    HTML (so the abstract is escaped into it), an Atom summary is text; Atom content is
    `type="html"` with one `alternate` link (the abstract page), the PDF and HTML versions
    `related`; RSS has one `<link>`, the abstract page, and the item HTML in content:encoded."""
    atom = fmt == "atom"
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.id(meta.self_url)
    generator.title(xml_safe(meta.title))
    generator.description(xml_safe(_description(meta, papers)))
    generator.link(href=meta.self_url, rel="self")
    generator.link(href=meta.home_url, rel="alternate")  # last: feedgen's RSS <link> is the last
    generator.language("en")
    generator.updated(meta.updated)
    generator.lastBuildDate(meta.updated)
    generator.ttl(meta.ttl_minutes)
    generator.skipDays(["Saturday", "Sunday"])
    generator.generator("arxiv-feeds")
    for paper, when in zip(papers, _item_times(papers), strict=True):
        entry = generator.add_entry(order="append")
        entry.id(paper.abs_url)
        entry.guid(paper.abs_url, permalink=True)
        entry.title(xml_safe(paper.title))
        entry.link(href=paper.abs_url, rel="alternate")  # Atom's links: _atom_entry_links
        teaser = xml_safe(f"Score {paper.score.total:g}. {paper.abstract}")
        if atom:
            entry.summary(teaser)
        else:
            entry.description(escape(teaser))
        entry.content(xml_safe(bodies[paper.id]), type="html" if atom else "CDATA")
        entry.published(when)
        entry.updated(when)
        authors = [xml_safe(name) for name in paper.authors] or ["arXiv"]
        entry.author([{"name": name} for name in authors])
        entry.dc.dc_creator(", ".join(authors))
        for category in paper.categories:
            entry.category(term=category, scheme="https://arxiv.org/archive/")
    return generator


def _atom_entry_links(body: bytes, papers: list[Paper]) -> bytes:
    """Each entry's links as RFC 4287 wants them. feedgen 1.0 writes every entry link without
    its `rel` and `type`, so all of them read as `alternate`; they are written here instead."""
    from lxml import etree

    root = etree.fromstring(body)
    for entry, paper in zip(root.iterfind(f"{{{ATOM}}}entry"), papers, strict=True):
        for link in entry.findall(f"{{{ATOM}}}link"):
            entry.remove(link)
        links = [
            {"rel": "alternate", "type": "text/html", "href": paper.abs_url},
            {"rel": "related", "type": "application/pdf", "href": paper.pdf_url, "title": "PDF"},
            {"rel": "related", "type": "text/html", "href": paper.html_url, "title": "HTML"},
        ]
        for attributes in links:
            etree.SubElement(entry, f"{{{ATOM}}}link", attributes)
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


def _json_feed(meta: FeedMeta, papers: list[Paper], bodies: Mapping[str, str]) -> bytes:
    items: list[dict[str, Any]] = []
    for paper, when in zip(papers, _item_times(papers), strict=True):
        items.append(
            {
                "id": paper.abs_url,
                "url": paper.abs_url,
                "external_url": paper.pdf_url,
                "title": paper.title,
                "content_html": bodies[paper.id],
                "summary": paper.abstract,
                "date_published": when.isoformat(),
                "authors": [{"name": name} for name in paper.authors],
                "tags": paper.categories,
                "_arxiv": {
                    "id": paper.id,
                    "version": paper.version,
                    "announce_type": paper.announce_type.value,
                    "primary_category": paper.primary_category,
                    "score": paper.score.total,
                    "matched": [hit.model_dump() for hit in paper.score.hits],
                    "vetoed_by": paper.score.vetoed_by,
                    "pdf_url": paper.pdf_url,
                    "html_url": paper.html_url,
                    "doi": paper.doi,
                    "journal_ref": paper.journal_ref,
                    "summaries": {
                        lang: summary.model_dump(mode="json")
                        for lang, summary in paper.summaries.items()
                    },
                },
            }
        )
    document = {
        "version": JSON_FEED_VERSION,
        "title": meta.title,
        "home_page_url": meta.home_url,
        "feed_url": meta.self_url,
        "description": _description(meta, papers),
        "language": "en",
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def render(
    fmt: Format, meta: FeedMeta, papers: list[Paper], bodies: Mapping[str, str] | None = None
) -> bytes:
    """The feed document. `bodies` maps paper ids to their `item_html`, for callers that
    render the same papers into many feeds."""
    bodies = bodies if bodies is not None else {paper.id: item_html(paper) for paper in papers}
    if fmt == "json":
        return _json_feed(meta, papers, bodies)
    generator = _feedgen(fmt, meta, papers, bodies)
    if fmt == "xml":
        rss: bytes = generator.rss_str()
        return rss
    return _atom_entry_links(generator.atom_str(), papers)


def render_feed(
    fmt: Format,
    meta: FeedMeta,
    papers: list[Paper],
    bodies: Mapping[str, str] | None = None,
    base_url: str = "",
) -> RenderedFeed:
    """Rendered bytes with the validators HTTP caching needs; `base_url`: the site address
    in its links, so that `core.render.stored.with_base` can move them to another."""
    return rendered(render(fmt, meta, papers, bodies), MEDIA_TYPES[fmt], meta.updated, base_url)
