"""The FastAPI app: pre-rendered feeds from the store, ad-hoc feeds, papers API, health.

Serving never calls arXiv. A configured feed is one store read; an ad-hoc feed reads the
papers of the days it asks for and renders them (feedgen is imported only then).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from core.config import FORMATS, Settings, describe_validation_error
from core.models import FeedSpec, Paper, RenderedFeed
from core.select import configured_feeds, select
from core.store import Store, StoreError, feed_key, papers_of_days
from core.web.pages import landing_page
from core.web.query import FeedQuery

FEED_CACHE = (
    "public, max-age=600, s-maxage=1800, stale-while-revalidate=86400, stale-if-error=86400"
)
QUERY_CACHE = "public, max-age=300, s-maxage=600, stale-while-revalidate=3600"


class LazyStore:
    """Opens the store on first use, so a bad store URL answers 503 instead of failing import."""

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._store: Store | None = None
        self._lock = threading.Lock()

    def get(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._opener()
        return self._store


def _not_modified(request: Request, etag: str, last_modified: datetime) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            return last_modified.replace(microsecond=0) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def feed_response(request: Request, feed: RenderedFeed, cache_control: str) -> Response:
    headers = {
        "ETag": feed.etag,
        "Last-Modified": format_datetime(feed.last_modified.astimezone(UTC), usegmt=True),
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
    }
    if _not_modified(request, feed.etag, feed.last_modified):
        return Response(status_code=304, headers=headers)
    return Response(feed.body, media_type=feed.media_type, headers=headers)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _split_filename(filename: str) -> tuple[str, str] | None:
    name, dot, fmt = filename.rpartition(".")
    return (name, fmt) if dot and name and fmt in FORMATS else None


def create_app(settings: Settings, store: Callable[[], Store]) -> FastAPI:
    """The app for one configuration; `store` opens the store (called once, lazily)."""
    app = FastAPI(title="arxiv-feeds", docs_url="/api/docs", redoc_url=None)
    lazy = LazyStore(store)
    feeds = configured_feeds(settings)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'query')}: {e['msg']}"
            for e in error.errors()
        )
        return _error(422, problems)

    @app.exception_handler(StoreError)
    async def _store_down(_: Request, error: StoreError) -> JSONResponse:
        return _error(503, f"the store is unavailable: {error}")

    def recent_papers(days: int) -> list[Paper]:
        current = lazy.get()
        newest = sorted(current.day_index(), reverse=True)[:days]
        return papers_of_days(current, newest)

    def language_of(request: Request) -> str | JSONResponse | None:
        """`?lang=`: None for the first configured language, 422 for one not configured."""
        lang = request.query_params.get("lang")
        languages = settings.summaries.languages
        if lang is None or lang == languages[0]:
            return None
        if lang not in languages:
            return _error(422, f"lang: {lang!r} is not configured; valid: {', '.join(languages)}")
        return lang

    def render_now(
        spec: FeedSpec, fmt: str, papers: list[Paper], request: Request, language: str | None
    ) -> RenderedFeed:
        from core.render.feeds import FeedMeta, item_html, render_feed  # feedgen only when live

        base = settings.site.base_url
        meta = FeedMeta(
            title=spec.title,
            description=spec.description or f"arXiv papers: {spec.title}.",
            self_url=f"{base}{request.url.path}?{request.url.query}"
            if spec.name == "query"
            else f"{base}/feeds/{spec.name}.{fmt}",
            home_url=f"{base}/",
            updated=_last_updated(lazy.get()),
            ttl_minutes=settings.feeds.ttl_minutes,
        )
        shown = language or settings.summaries.languages[0]
        bodies = {paper.id: item_html(paper, shown) for paper in papers}
        return render_feed(fmt, meta, papers, bodies)  # type: ignore[arg-type]

    def serve_configured(name: str, fmt: str, request: Request) -> Response:
        spec = feeds.get(name)
        if spec is None:
            return _unknown_feed(name)
        language = language_of(request)
        if isinstance(language, JSONResponse):
            return language
        stored = lazy.get().feed(feed_key(name, fmt, language))
        if stored is None:  # nothing refreshed yet, or the config changed since
            papers = select(recent_papers(spec.days), spec)
            stored = render_now(spec, fmt, papers, request, language)
        return feed_response(request, stored, FEED_CACHE)

    def _unknown_feed(name: str) -> JSONResponse:
        categories = ", ".join(settings.arxiv.categories)
        named = ", ".join(settings.feeds.named) or "none"
        keywords = ", ".join(r.slug for r in settings.rank.keywords)
        return _error(
            404,
            f"no feed named {name!r}. Categories: {categories}; named feeds: {named}; "
            f"all; keyword feeds (/feeds/keyword/NAME.xml): {keywords}",
        )

    @app.api_route("/feeds/{filename}", methods=["GET", "HEAD"])
    def configured_feed(filename: str, request: Request) -> Response:
        parts = _split_filename(filename)
        if parts is None:
            return _error(404, f"{filename!r}: a feed URL ends in .xml (RSS), .atom or .json")
        return serve_configured(*parts, request)

    @app.api_route("/feeds/keyword/{filename}", methods=["GET", "HEAD"])
    @app.api_route("/feeds/k/{filename}", methods=["GET", "HEAD"], include_in_schema=False)
    def keyword_feed(filename: str, request: Request) -> Response:
        parts = _split_filename(filename)
        if parts is None:
            return _error(404, f"{filename!r}: a feed URL ends in .xml (RSS), .atom or .json")
        return serve_configured(f"keyword/{parts[0]}", parts[1], request)

    def parse_query(request: Request) -> FeedQuery | JSONResponse:
        try:
            params = {k: v for k, v in request.query_params.items() if k != "lang"}
            query = FeedQuery.model_validate(params)
        except ValidationError as error:
            return _error(422, describe_validation_error(error).replace("\n", "; "))
        if unknown := query.unknown_categories(settings):
            return _error(
                422,
                f"cat: {', '.join(unknown)} not followed here; "
                f"valid: {', '.join(settings.arxiv.categories)}",
            )
        return query

    @app.api_route("/feed.{fmt}", methods=["GET", "HEAD"])
    def query_feed(fmt: str, request: Request) -> Response:
        if fmt not in FORMATS:
            return _error(404, f"/feed.{fmt}: use /feed.xml (RSS), /feed.atom or /feed.json")
        query = parse_query(request)
        if isinstance(query, JSONResponse):
            return query
        language = language_of(request)
        if isinstance(language, JSONResponse):
            return language
        papers = query.apply(recent_papers(query.days), settings)
        spec = FeedSpec(name="query", title=f"arXiv: {query.describe()}")
        rendered = render_now(spec, fmt, papers, request, language)
        return feed_response(request, rendered, QUERY_CACHE)

    @app.get("/api/papers")
    def api_papers(request: Request) -> Response:
        query = parse_query(request)
        if isinstance(query, JSONResponse):
            return query
        papers = query.apply(recent_papers(query.days), settings)
        body = {
            "count": len(papers),
            "papers": [
                {
                    **paper.model_dump(mode="json"),
                    "abs_url": paper.abs_url,
                    "pdf_url": paper.pdf_url,
                    "html_url": paper.html_url,
                }
                for paper in papers
            ],
        }
        return JSONResponse(body, headers={"Cache-Control": QUERY_CACHE})

    @app.get("/health")
    def health() -> JSONResponse:
        try:
            current = lazy.get()
            reachable = current.ping()
            report = current.last_report() if reachable else None
            published = current.last_published() if reachable else None
            index = current.day_index() if reachable else {}
        except StoreError as error:
            return _error(503, f"the store is unavailable: {error}", store={"reachable": False})
        body = {
            "status": "ok" if reachable else "store unreachable",
            "store": {"kind": settings.store.url.split(":", 1)[0], "reachable": reachable},
            "summaries": settings.summaries.status,
            "last_refresh": report.model_dump(mode="json") if report else None,
            "last_published": published.model_dump(mode="json") if published else None,
            "days": [day.isoformat() for day in sorted(index, reverse=True)],
            "papers": len({i for ids in index.values() for i in ids}),
        }
        return JSONResponse(body, status_code=200 if reachable else 503)

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        report = lazy.get().last_report()
        return HTMLResponse(landing_page(settings, feeds, report))

    return app


def _last_updated(store: Store) -> datetime:
    report = store.last_published()
    when = report.finished or report.started if report else datetime(2000, 1, 1, tzinfo=UTC)
    return when.replace(microsecond=0)
