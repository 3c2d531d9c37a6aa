"""Parse export.arxiv.org/api/query responses (Atom) into papers: the metadata of papers by id.

The API reports a bad query as a single entry titled "Error"; that becomes an ArxivError.
A paper's announcement day is not in the API: the caller dates it (the day of the listing
that named it); the first-version submission time stands in until then.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser
from pydantic import BaseModel

from core.arxiv import covered
from core.ingest import ArxivError
from core.ingest.normalize import clean_abstract, clean_text, split_id
from core.models import AnnounceType, Paper


class QueryPage(BaseModel):
    total: int
    papers: list[Paper]


def _when(parsed: Any) -> datetime:
    """feedparser's UTC struct_time as an aware datetime."""
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


def _paper(entry: Any, followed: set[str]) -> Paper:
    arxiv_id, version = split_id(entry["id"])
    categories = [tag["term"] for tag in entry.get("tags", []) if tag.get("term")]
    primary = entry.get("arxiv_primary_category", {}).get("term") or categories[0]
    abstract, abstract_html = clean_abstract(entry.get("summary", ""))
    return Paper(
        id=arxiv_id,
        version=version,
        title=clean_text(entry.get("title", "")),
        authors=[clean_text(author["name"]) for author in entry.get("authors", [])],
        abstract=abstract,
        abstract_html=abstract_html,
        categories=categories,
        primary_category=primary,
        announce_type=AnnounceType.NEW if covered([primary], followed) else AnnounceType.CROSS,
        announced=_when(entry["published_parsed"]),
        doi=entry.get("arxiv_doi") or None,
        journal_ref=clean_text(entry["arxiv_journal_ref"])
        if entry.get("arxiv_journal_ref")
        else None,
        comment=clean_text(entry["arxiv_comment"]) if entry.get("arxiv_comment") else None,
    )


def parse_query(raw: bytes, followed_categories: list[str]) -> QueryPage:
    """One API page; `followed_categories` decide whether a paper counts as new or cross."""
    document = feedparser.parse(raw, sanitize_html=False, resolve_relative_uris=False)
    entries = document.entries
    if len(entries) == 1 and entries[0].get("title") == "Error":
        raise ArxivError(f"arXiv said: {clean_text(entries[0].get('summary', 'unknown error'))}")
    if document.get("bozo") and not entries and "opensearch_totalresults" not in document.feed:
        raise ArxivError(f"not an arXiv API response: {document.get('bozo_exception')}")
    followed = set(followed_categories)
    papers = []
    for entry in entries:
        try:
            papers.append(_paper(entry, followed))
        except (KeyError, ValueError, IndexError):
            continue
    total = int(document.feed.get("opensearch_totalresults", len(papers)))
    return QueryPage(total=total, papers=papers)


ID_LIST_BATCH = 100
"""Ids per `id_list` request: a URL of 100 ids stays short, and one answer small."""


def papers_by_id(
    query: Callable[[Mapping[str, str | int]], bytes], ids: list[str], categories: list[str]
) -> list[Paper]:
    """Papers by arXiv id from the export API, `ID_LIST_BATCH` ids per request (`query` is
    the client's, so every request waits for the shared rate limiter)."""
    found: list[Paper] = []
    for start in range(0, len(ids), ID_LIST_BATCH):
        batch = ids[start : start + ID_LIST_BATCH]
        params: dict[str, str | int] = {"id_list": ",".join(batch), "max_results": len(batch)}
        found += parse_query(query(params), categories).papers
    return found
