"""The FastAPI app: stored feeds, ad-hoc feeds, the papers API, OPML, health, the refresh
endpoint, feedback pages and the landing page, assembled from the route table below.

Serving never calls arXiv or the LLM: a configured feed is one store read (pre-rendered and
pre-compressed at refresh) or none (kept a few seconds in the process); an ad-hoc feed reads
per-day indexes and the papers it returns, and renders them (feedgen is imported only then).
Errors are JSON under /api/ and /health, plain text elsewhere, never a traceback.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware

from core.clock import Clock, SystemClock
from core.config import Settings
from core.models import RefreshReport
from core.query.search import DayIndexes
from core.query.select import configured_feeds
from core.store import Store
from core.web.context import Context, LazyStore, RefreshRunner
from core.web.feed_cache import FeedCache
from core.web.fragment_cache import fragment_cache
from core.web.gate import QueryGate
from core.web.responses import ERROR_HANDLERS, ResponseHeaders
from core.web.routes import api, feedback, feeds, home

GET_HEAD = ["GET", "HEAD"]
STORED_FEED_ROUTES: list[tuple[str, Callable[[Request], Awaitable[Response]]]] = [
    ("/feeds/{filename}", feeds.configured_feed),
    ("/feeds/keyword/{filename}", feeds.keyword_feed),
    ("/feeds/k/{filename}", feeds.keyword_feed),
]
"""Starlette routes, not FastAPI's: the requests every reader makes, and the handlers read
their one path parameter themselves (FastAPI's parameter solving was a third of the route's
time). Not in the OpenAPI schema; the README lists their URLs."""
ROUTES: list[tuple[str, Callable[..., Any], list[str], dict[str, Any]]] = [
    ("/feed.{fmt}", feeds.query_feed, GET_HEAD, {}),
    ("/opml", feeds.opml, GET_HEAD, {}),
    ("/api/papers", api.api_papers, ["GET"], {}),
    ("/api/count", api.api_count, ["GET"], {}),
    ("/api/refresh", api.api_refresh, ["GET", "POST"], {}),
    ("/health", api.health, ["GET"], {}),
    ("/api/docs", api.api_docs, ["GET"], {"include_in_schema": False}),
    ("/feedback", feedback.confirm_feedback, ["GET"], {"response_class": HTMLResponse}),
    ("/feedback", feedback.record_feedback, ["POST"], {"response_class": HTMLResponse}),
    ("/", home.home, GET_HEAD, {"response_class": HTMLResponse}),
]


def _default_runner(settings: Settings) -> RefreshRunner:
    def run(store: Store) -> RefreshReport:
        from core.days.recovery import (
            live_refresh,  # the pipeline's imports stay off the serving path
        )

        return live_refresh(settings, store)

    return run


def create_app(
    settings: Settings,
    store: Callable[[], Store],
    *,
    refresh_runner: RefreshRunner | None = None,
    cron_secret: str | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The app for one configuration. `store` opens the store (once, lazily); the refresh
    endpoint runs `refresh_runner` and requires `cron_secret` (default: $CRON_SECRET); `clock`
    tells /health how old the last publication is and times the feeds kept in memory."""
    app = FastAPI(
        title="arxiv-feeds", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json"
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(ResponseHeaders)
    clock = clock or SystemClock()
    app.state.context = Context(
        settings=settings,
        lazy=LazyStore(store),
        feeds=configured_feeds(settings),
        indexes=DayIndexes(),
        cached_feeds=FeedCache(clock),
        fragments=fragment_cache(),
        gate=QueryGate(),
        clock=clock,
        runner=refresh_runner or _default_runner(settings),
        cron_secret=cron_secret if cron_secret is not None else os.environ.get("CRON_SECRET", ""),
    )
    for error, handler in ERROR_HANDLERS.items():
        app.add_exception_handler(error, handler)
    for path, feed_handler in STORED_FEED_ROUTES:
        app.add_route(path, feed_handler, methods=GET_HEAD)
    for path, endpoint, methods, options in ROUTES:
        app.add_api_route(path, endpoint, methods=methods, **options)
    app.openapi = lambda: _documented(app)  # type: ignore[method-assign]
    return app


def _documented(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema, made on the first request for it, with what `core.web.openapi`
    says of the routes that read their own parameters."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        from core.web.openapi import complete

        with warnings.catch_warnings():  # ids shared by a route's methods: made unique next
            warnings.simplefilter("ignore", UserWarning)
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        app.openapi_schema = complete(schema)
    return app.openapi_schema
