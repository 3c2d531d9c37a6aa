"""Feeds rendered for a request: a configured feed before the first refresh, and ad-hoc
feeds. An ad-hoc feed's items are kept in the process (`core.web.fragment_cache`), so a
paper many queries return is rendered, and read from the store, once.

Each item is dated by its rank in its stored day, the order every configured feed keeps,
unless the query's own terms re-ordered the papers; then by its place in this feed, and its
score (those terms included) is part of what it is kept under.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import date

from fastapi import Request

from core.config import Format
from core.models import FeedSpec, Paper, RenderedFeed
from core.query.search import Found, papers_of
from core.render.feeds import (
    MEDIA_TYPES,
    FeedMeta,
    ItemFragments,
    item_html,
    item_time,
    item_times,
    render_feed,
    render_items,
)
from core.render.stored import Piece, rendered
from core.web.context import Context, public_base


def _meta(ctx: Context, spec: FeedSpec, request: Request, base: str) -> FeedMeta:
    query = f"?{request.url.query}" if request.url.query else ""
    return FeedMeta(
        title=spec.title,
        description=spec.description or f"arXiv papers: {spec.title}.",
        self_url=f"{base}{request.url.path}{query}",
        home_url=f"{base}/",
        updated=ctx.last_updated(),
        ttl_minutes=ctx.settings.feeds.ttl_minutes,
    )


def _body(ctx: Context, language: str | None, base: str) -> Callable[[Paper], str]:
    shown = language or ctx.settings.summaries.languages[0]
    links = ctx.feedback_links(base)
    return lambda paper: item_html(paper, shown, links)


def render_papers(
    ctx: Context,
    spec: FeedSpec,
    fmt: Format,
    papers: list[Paper],
    request: Request,
    language: str | None,
) -> RenderedFeed:
    """A configured feed that is not stored yet (before the first refresh)."""
    base = public_base(request, ctx.settings)
    fragments = ItemFragments(fmt, _body(ctx, language, base), item_times(papers))
    meta = _meta(ctx, spec, request, base)
    return render_feed(fmt, meta, papers, base_url=base, fragments=fragments)


def render_found(
    ctx: Context,
    spec: FeedSpec,
    fmt: Format,
    found: Found,
    request: Request,
    language: str | None,
    gzip: bool,
) -> RenderedFeed:
    """An ad-hoc feed of what a query found; compressed only for a client that takes `gzip`."""
    base = public_base(request, ctx.settings)
    made_from = (found.version, fmt, language or ctx.settings.summaries.languages[0], base)
    body = _body(ctx, language, base)
    if found.rescored:
        papers = papers_of(found, ctx.store())
        times = item_times(papers)

        def scored_key(paper: Paper) -> Hashable:
            return (*made_from, paper.id, times[paper.id], paper.score.model_dump_json())

        fragments = ItemFragments(fmt, body, times, ctx.fragments, scored_key, pack=True)
        items = [fragments.of(paper) for paper in papers]
        days = [paper.day for paper in papers]
    else:
        items, days = _kept_or_made(ctx, fmt, found, made_from, body)
    meta = _meta(ctx, spec, request, base)
    pieces = render_items(fmt, meta, items, days)
    return rendered(pieces, MEDIA_TYPES[fmt], meta.updated, base, gzip)


def _kept_or_made(
    ctx: Context,
    fmt: Format,
    found: Found,
    made_from: tuple[Hashable, ...],
    body: Callable[[Paper], str],
) -> tuple[list[Piece], list[date]]:
    """The items of papers the query did not re-score: kept ones as they are, the others
    made from the papers read now (only those)."""
    keys = {m.id: (*made_from, m.id, m.day, m.rank, None) for m in found.matches}
    kept = {m.id: ctx.fragments.get(keys[m.id]) for m in found.matches}
    missing = [m for m in found.matches if kept[m.id] is None]
    times = {m.id: item_time(m.day, m.rank) for m in missing}
    papers = {paper.id: paper for paper in ctx.store().papers([m.id for m in missing])}
    fragments = ItemFragments(fmt, body, times, ctx.fragments, lambda p: keys[p.id], pack=True)
    items: list[Piece] = []
    days: list[date] = []
    for match in found.matches:
        item = kept[match.id] or (fragments.of(papers[match.id]) if match.id in papers else None)
        if item is not None:
            items.append(item)
            days.append(match.day)
    return items, days
