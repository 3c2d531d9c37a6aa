"""The landing page: today's ranked papers and the feed builder."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from core.days.calendar import latest as announcement_days
from core.query.params import FeedQuery
from core.query.search import QueryTooBroad, find
from core.store import papers_of_days
from core.web.context import context, public_base
from core.web.http_cache import QUERY_CACHE


def home(request: Request) -> HTMLResponse:
    from core.web.pages import Builder, landing_page, page_policy  # Jinja2 only here

    ctx = context(request)
    current = ctx.store()
    index = current.day_index()
    latest = papers_of_days(current, [max(index)]) if index else []
    builder = Builder.from_params(request.query_params, ctx.settings)
    count = None
    try:
        query = FeedQuery.model_validate(builder.query())
        found = (
            find(query.search(ctx.settings), ctx.settings, current, ctx.indexes) if index else None
        )
        count = len(found.matches) if found else None
    except (ValidationError, QueryTooBroad):
        pass  # the page still shows the URL; the feed itself will say what is wrong
    base = public_base(request, ctx.settings)
    days = announcement_days(current.calendar(), index)
    page = landing_page(
        ctx.settings, base, ctx.feeds, current.last_report(), latest, builder, count, days
    )
    headers = {"Cache-Control": QUERY_CACHE, "Content-Security-Policy": page_policy("index.html")}
    return HTMLResponse(page, headers=headers)
