"""Feeds: the configured ones (stored at refresh), ad-hoc ones (`/feed.xml?...`), OPML."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from core.config import FORMATS, Format, describe_validation_error
from core.models import FeedSpec
from core.query.params import FeedQuery
from core.query.search import find, present_categories
from core.query.select import select
from core.render.stored import moves_links, with_base
from core.store import feed_key
from core.web.context import Context, context, public_base
from core.web.http_cache import (
    FEED_CACHE,
    QUERY_CACHE,
    accepts_gzip,
    feed_response,
    not_modified,
    prepare,
)
from core.web.responses import error_response


def _format(value: str) -> Format | None:
    return next((fmt for fmt in FORMATS if fmt == value), None)


def _split_filename(filename: str) -> tuple[str, Format] | None:
    name, dot, extension = filename.rpartition(".")
    fmt = _format(extension)
    return (name, fmt) if dot and name and fmt else None


def language_of(request: Request, ctx: Context) -> str | Response | None:
    """`?lang=`: None for the first configured language, 422 for one not configured."""
    lang = request.query_params.get("lang")
    languages = ctx.settings.summaries.languages
    if lang is None or lang == languages[0]:
        return None
    if lang not in languages:
        valid = ", ".join(languages)
        return error_response(request, 422, f"lang: {lang!r} is not configured; valid: {valid}")
    return lang


def _unknown_feed(request: Request, ctx: Context, name: str) -> Response:
    settings = ctx.settings
    categories = ", ".join(settings.arxiv.categories)
    named = ", ".join(settings.feeds.named) or "none"
    keywords = ", ".join(r.slug for r in settings.rank.keywords)
    return error_response(
        request,
        404,
        f"no feed named {name!r}. Categories: {categories}; named feeds: {named}; "
        f"all; keyword feeds (/feeds/keyword/NAME.xml): {keywords}",
    )


async def _serve_configured(filename: str, prefix: str, request: Request) -> Response:
    """A configured feed: from the process's memory when fresh (no thread, no store read),
    else read from the store (or rendered, before the first refresh)."""
    ctx = context(request)
    parts = _split_filename(filename)
    if parts is None:
        message = f"{filename!r}: a feed URL ends in .xml (RSS), .atom or .json"
        return error_response(request, 404, message)
    name, fmt = prefix + parts[0], parts[1]
    spec = ctx.feeds.get(name)
    if spec is None:
        return _unknown_feed(request, ctx, name)
    language = language_of(request, ctx)
    if isinstance(language, Response):
        return language
    key, compressed = feed_key(name, fmt, language), accepts_gzip(request)
    base = public_base(request, ctx.settings)
    served = ctx.cached_feeds.get(key, compressed, base)
    head = None
    if served is None and _conditional(request):
        head = await run_in_threadpool(ctx.store().feed_head, key)
        if head is not None and not moves_links(head.base_url, base):
            answer = not_modified(request, head, compressed, FEED_CACHE)
            if answer is not None:
                return answer
    if served is None:
        stored = await run_in_threadpool(ctx.store().feed, key, compressed, head)
        if stored is None:  # nothing refreshed yet, or the config changed since
            from core.web.live_render import render_papers  # feedgen only when live

            papers = await run_in_threadpool(ctx.recent_papers, spec.days)
            chosen = select(papers, spec)
            stored = await run_in_threadpool(
                render_papers, ctx, spec, fmt, chosen, request, language
            )
        rebased = await run_in_threadpool(with_base, stored, base)  # may recompress
        served = prepare(rebased, compressed, FEED_CACHE)
        ctx.cached_feeds.put(key, compressed, base, served)
    return feed_response(request, served)


def _conditional(request: Request) -> bool:
    return "if-none-match" in request.headers or "if-modified-since" in request.headers


async def configured_feed(request: Request) -> Response:
    return await _serve_configured(request.path_params["filename"], "", request)


async def keyword_feed(request: Request) -> Response:
    return await _serve_configured(request.path_params["filename"], "keyword/", request)


def parse_query(request: Request, ctx: Context) -> FeedQuery | Response:
    """The ad-hoc filters of this request, or the 422 that says what is wrong with them."""
    try:
        params = {k: v for k, v in request.query_params.items() if k != "lang"}
        query = FeedQuery.model_validate(params)
    except ValidationError as error:
        return error_response(request, 422, describe_validation_error(error).replace("\n", "; "))
    unknown = query.unknown_categories(ctx.settings, set())
    days = query.days_in(ctx.settings)
    if unknown:  # not followed: still fine if a paper of those days is listed there
        present = present_categories(ctx.store(), ctx.indexes, days)
        unknown = query.unknown_categories(ctx.settings, present)
    if unknown:
        valid = ", ".join(ctx.settings.arxiv.categories)
        message = (
            f"cat: no paper of the last {days} days is in {', '.join(unknown)}; "
            f"followed here: {valid} (and the categories their papers are cross-listed in)"
        )
        return error_response(request, 422, message)
    return query


QueryAnswer = Callable[[Context, FeedQuery, Callable[[], bool]], Response]
"""Answers a checked ad-hoc query, stopping once its client has gone (the callable)."""


async def answer_query(request: Request, answer: QueryAnswer) -> Response:
    """An ad-hoc query's answer when its turn comes (`core.web.gate`): the 422 for bad
    parameters, else `answer`."""
    ctx = context(request)

    def work(gone: Callable[[], bool]) -> Response:
        query = parse_query(request, ctx)
        return query if isinstance(query, Response) else answer(ctx, query, gone)

    return await ctx.gate.run(request, work)


async def query_feed(fmt: str, request: Request) -> Response:
    known = _format(fmt)
    if known is None:
        message = f"/feed.{fmt}: use /feed.xml (RSS), /feed.atom or /feed.json"
        return error_response(request, 404, message)
    return await answer_query(
        request, lambda ctx, query, gone: _query_feed(known, request, ctx, query, gone)
    )


def _query_feed(
    fmt: Format, request: Request, ctx: Context, query: FeedQuery, gone: Callable[[], bool]
) -> Response:
    language = language_of(request, ctx)
    if isinstance(language, Response):
        return language
    from core.web.live_render import render_found  # feedgen only when live

    found = find(query.search(ctx.settings), ctx.settings, ctx.store(), ctx.indexes, gone)
    spec = FeedSpec(name="query", title=f"arXiv: {query.describe()}")
    gzip = accepts_gzip(request)
    rendered = render_found(ctx, spec, fmt, found, request, language, gzip)
    return feed_response(request, prepare(rendered, gzip, QUERY_CACHE))


def opml(request: Request) -> Response:
    from core.render.opml import render_opml

    ctx = context(request)
    asked = request.query_params.get("keywords", "0")
    if asked not in ("0", "1"):
        return error_response(request, 422, f"keywords: expected 0 or 1, got {asked[:20]!r}")
    base = public_base(request, ctx.settings)
    body = render_opml(
        ctx.settings.site.title, base, ctx.feeds, ctx.last_updated(), keywords=asked == "1"
    )
    return Response(
        body,
        media_type="text/x-opml; charset=utf-8",
        headers={
            "Cache-Control": FEED_CACHE,
            "Content-Disposition": 'inline; filename="arxiv-feeds.opml"',
        },
    )
