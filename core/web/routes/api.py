"""The JSON API: papers and counts of ad-hoc queries, the refresh endpoint, health."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import timedelta

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from core.clock import utc_now
from core.days.calendar import latest
from core.query.params import FeedQuery
from core.query.search import find, search
from core.web.context import Context, context
from core.web.http_cache import QUERY_CACHE
from core.web.responses import error_response
from core.web.routes.feeds import answer_query

STALE_AFTER = timedelta(days=4)
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="arxiv-feeds refresh"'}


async def api_papers(request: Request) -> Response:
    return await answer_query(request, _papers)


def _papers(ctx: Context, query: FeedQuery, gone: Callable[[], bool]) -> Response:
    papers = search(query.search(ctx.settings), ctx.settings, ctx.store(), ctx.indexes, gone)
    body = {
        "count": len(papers),
        "papers": [
            {
                **paper.model_dump(mode="json"),
                "why": paper.score.why(),
                "explanation": paper.score.explain(),
                "abs_url": paper.abs_url,
                "pdf_url": paper.pdf_url,
                "html_url": paper.html_url,
            }
            for paper in papers
        ],
    }
    return JSONResponse(body, headers={"Cache-Control": QUERY_CACHE})


async def api_count(request: Request) -> Response:
    """How many papers an ad-hoc feed would hold (the landing page's builder asks)."""
    return await answer_query(request, _count)


def _count(ctx: Context, query: FeedQuery, gone: Callable[[], bool]) -> Response:
    count = len(
        find(query.search(ctx.settings), ctx.settings, ctx.store(), ctx.indexes, gone).matches
    )
    return JSONResponse({"count": count}, headers={"Cache-Control": QUERY_CACHE})


def api_refresh(request: Request) -> Response:
    """Vercel cron sends GET with `Authorization: Bearer $CRON_SECRET`; people POST."""
    ctx = context(request)
    if not ctx.cron_secret:
        message = "refresh is disabled: set CRON_SECRET on this deployment to enable it"
        return error_response(request, 503, message)
    if not _bearer_matches(request.headers.get("authorization", ""), ctx.cron_secret):
        message = "missing or wrong Authorization: Bearer <CRON_SECRET>"
        return error_response(request, 401, message, headers=BEARER_CHALLENGE)
    report = ctx.runner(ctx.store())
    status = 200 if report.status in ("published", "no-announcement") else 503
    if report.status == "locked":
        status = 409
    return JSONResponse(report.model_dump(mode="json"), status_code=status)


def _bearer_matches(authorization: str, secret: str) -> bool:
    """`Bearer <secret>`, the scheme in any case (RFC 9110, 11.1), compared in constant time."""
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), secret.encode()
    )


SWAGGER_UI = "https://cdn.jsdelivr.net"
"""Where FastAPI's Swagger UI page loads its script and stylesheet from."""


def api_docs(request: Request) -> HTMLResponse:
    """The API's interactive documentation (Swagger UI): its script and stylesheet from
    their CDN, its one inline script by hash; it shows only this service's own schema."""
    from fastapi.openapi.docs import get_swagger_ui_html

    from core.web.pages import content_policy

    page = get_swagger_ui_html(openapi_url="/api/openapi.json", title="arxiv-feeds API")
    # Swagger UI sets styles from its script: its styles are allowed inline
    policy = content_policy(
        bytes(page.body).decode(), SWAGGER_UI, f"{SWAGGER_UI} 'unsafe-inline'", "https:"
    )
    page.headers["Content-Security-Policy"] = policy
    return page


def health(request: Request) -> JSONResponse:
    ctx = context(request)
    current = ctx.store()
    reachable = current.ping()
    report = current.last_report() if reachable else None
    published = current.last_published() if reachable else None
    index = current.day_index() if reachable else {}
    status = "ok" if reachable else "store unreachable"
    newest = max(index, default=None)
    if reachable and (newest is None or utc_now(ctx.clock).date() - newest > STALE_AFTER):
        status = "stale"  # no new announcement day for longer than a long weekend
    days = latest(current.calendar(), index) if reachable else []
    if status == "ok" and any(day.state == "missing" for day in days):
        status = "missing days"  # named below, with why and when the next try is
    body = {
        "status": status,
        "store": {"kind": ctx.settings.store.url.split(":", 1)[0], "reachable": reachable},
        "summaries": ctx.settings.summaries.status,
        "likes": ctx.settings.likes_status,
        "meaning": ctx.settings.meaning_status,
        "last_refresh": report.model_dump(mode="json") if report else None,
        "last_published": published.model_dump(mode="json") if published else None,
        "days": [day.isoformat() for day in sorted(index, reverse=True)],
        "announcement_days": [day.model_dump(mode="json") for day in days],
        "papers": len({i for ids in index.values() for i in ids}),
    }
    return JSONResponse(body, status_code=200 if status == "ok" else 503)
