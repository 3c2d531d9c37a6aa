"""The FastAPI app: stored feeds, ad-hoc feeds, the papers API, OPML, health, the refresh
endpoint and the landing page.

Serving never calls arXiv or the LLM: a configured feed is one store read (pre-rendered and
pre-compressed at refresh); an ad-hoc feed reads the papers of the days it asks for and
renders them (feedgen is imported only then). Errors are JSON under /api/ and /health, plain
text elsewhere, never a traceback.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.clock import Clock, SystemClock, utc_now
from core.config import FORMATS, Settings, SiteConfig, describe_validation_error
from core.feedback import SECRET_NAME, FeedbackLinks
from core.models import FeedSpec, Paper, RefreshReport, RenderedFeed
from core.render.stored import with_base
from core.search import DayIndexes, present_categories, search
from core.select import configured_feeds, select
from core.store import Store, StoreError, feed_key, papers_of_days
from core.text import redact
from core.web.feed_cache import FeedCache
from core.web.http_cache import FEED_CACHE, QUERY_CACHE, accepts_gzip, feed_response
from core.web.query import FeedQuery

if TYPE_CHECKING:
    from core.web.feedback_page import Feedback

log = logging.getLogger("arxiv_feeds.web")

RefreshRunner = Callable[[Store], RefreshReport]
STALE_AFTER = timedelta(days=4)
PRIVATE_PAGE = {  # a signed link's page: never cached, never indexed, never sent as Referer
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}


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


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/health"


def error_response(request: Request, status: int, message: str, **extra: Any) -> Response:
    """JSON for the API, a plain-text page for everything else (readers show it as is)."""
    if _is_api(request):
        return JSONResponse({"error": message, **extra}, status_code=status)
    return PlainTextResponse(f"{status}: {message}\n", status_code=status)


def _split_filename(filename: str) -> tuple[str, str] | None:
    name, dot, fmt = filename.rpartition(".")
    return (name, fmt) if dot and name and fmt in FORMATS else None


DEFAULT_BASE_URL = SiteConfig().base_url
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def public_base(request: Request, settings: Settings) -> str:
    """The address links should name: `site.base_url` when set to anything but the default
    (the public address, whatever proxies stand between), else the one this request reached
    the service at. A Host header that is not a plain host name falls back to the default."""
    if settings.site.base_url != DEFAULT_BASE_URL:
        return settings.site.base_url
    host = request.headers.get("host", "")
    if request.url.scheme not in ("http", "https") or not _HOST.match(host):
        return settings.site.base_url
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}".rstrip("/")


def _last_updated(store: Store, clock: Clock) -> datetime:
    """When the feeds' content last changed: the last publication, else (nothing published
    yet) now, since the empty feed is made now."""
    report = store.last_published()
    when = (report.finished or report.started) if report else utc_now(clock)
    return when.replace(microsecond=0)


class VaryOnce:
    """Merges the `Vary` headers of a response into one list without repeats: Starlette's
    gzip middleware appends `Accept-Encoding` to the one feed responses already carry."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_merged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k.lower() != b"vary"]
                tokens = [
                    token.strip()
                    for k, v in message["headers"]
                    if k.lower() == b"vary"
                    for token in v.split(b",")
                ]
                if tokens:
                    headers.append((b"vary", b", ".join(dict.fromkeys(tokens))))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_merged)


def _default_runner(settings: Settings) -> RefreshRunner:
    def run(store: Store) -> RefreshReport:
        from core.refresh import live_refresh  # the pipeline's imports stay off the serving path

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
    tells /health how old the last publication is."""
    app = FastAPI(
        title="arxiv-feeds", docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json"
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(VaryOnce)
    lazy = LazyStore(store)
    indexes = DayIndexes()
    clock = clock or SystemClock()
    cached_feeds = FeedCache(clock)
    feeds = configured_feeds(settings)
    runner = refresh_runner or _default_runner(settings)
    secret = cron_secret if cron_secret is not None else os.environ.get("CRON_SECRET", "")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'query')}: {e['msg']}"
            for e in error.errors()
        )
        return error_response(request, 422, problems)

    @app.exception_handler(StoreError)
    async def _store_down(request: Request, error: StoreError) -> Response:
        log.error("store unavailable: %s", redact(str(error)))  # the details, for the logs
        return error_response(request, 503, "the store is unavailable; see /health")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        message = "no such page; see / for the feeds" if error.status_code == 404 else error.detail
        return error_response(request, error.status_code, str(message))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(request, 500, "internal error; the details are in the server log")

    def feedback_links(base: str) -> FeedbackLinks:
        return FeedbackLinks(base, lazy.get().secret(SECRET_NAME))

    def recent_papers(days: int) -> list[Paper]:
        current = lazy.get()
        newest = sorted(current.day_index(), reverse=True)[:days]
        return papers_of_days(current, newest)

    def language_of(request: Request) -> str | Response | None:
        """`?lang=`: None for the first configured language, 422 for one not configured."""
        lang = request.query_params.get("lang")
        languages = settings.summaries.languages
        if lang is None or lang == languages[0]:
            return None
        if lang not in languages:
            valid = ", ".join(languages)
            return error_response(request, 422, f"lang: {lang!r} is not configured; valid: {valid}")
        return lang

    def render_now(
        spec: FeedSpec, fmt: str, papers: list[Paper], request: Request, language: str | None
    ) -> RenderedFeed:
        from core.render.feeds import FeedMeta, item_html, render_feed  # feedgen only when live

        base = public_base(request, settings)
        query = f"?{request.url.query}" if request.url.query else ""
        meta = FeedMeta(
            title=spec.title,
            description=spec.description or f"arXiv papers: {spec.title}.",
            self_url=f"{base}{request.url.path}{query}",
            home_url=f"{base}/",
            updated=_last_updated(lazy.get(), clock),
            ttl_minutes=settings.feeds.ttl_minutes,
        )
        shown = language or settings.summaries.languages[0]
        links = feedback_links(base)
        bodies = {paper.id: item_html(paper, shown, links) for paper in papers}
        return render_feed(fmt, meta, papers, bodies, base)  # type: ignore[arg-type]

    def unknown_feed(request: Request, name: str) -> Response:
        categories = ", ".join(settings.arxiv.categories)
        named = ", ".join(settings.feeds.named) or "none"
        keywords = ", ".join(r.slug for r in settings.rank.keywords)
        return error_response(
            request,
            404,
            f"no feed named {name!r}. Categories: {categories}; named feeds: {named}; "
            f"all; keyword feeds (/feeds/keyword/NAME.xml): {keywords}",
        )

    async def serve_configured(filename: str, prefix: str, request: Request) -> Response:
        """A configured feed: from the process's memory when fresh (no thread, no store
        read), else read from the store (or rendered, before the first refresh)."""
        parts = _split_filename(filename)
        if parts is None:
            message = f"{filename!r}: a feed URL ends in .xml (RSS), .atom or .json"
            return error_response(request, 404, message)
        name, fmt = prefix + parts[0], parts[1]
        spec = feeds.get(name)
        if spec is None:
            return unknown_feed(request, name)
        language = language_of(request)
        if isinstance(language, Response):
            return language
        key, compressed = feed_key(name, fmt, language), accepts_gzip(request)
        base = public_base(request, settings)
        served = cached_feeds.get(key, compressed, base)
        if served is None:
            stored = await run_in_threadpool(lazy.get().feed, key, compressed)
            if stored is None:  # nothing refreshed yet, or the config changed since
                papers = await run_in_threadpool(recent_papers, spec.days)
                chosen = select(papers, spec)
                stored = await run_in_threadpool(render_now, spec, fmt, chosen, request, language)
            served = await run_in_threadpool(with_base, stored, base)  # may recompress
            cached_feeds.put(key, compressed, base, served)
        return feed_response(request, served, FEED_CACHE)

    @app.api_route("/feeds/{filename}", methods=["GET", "HEAD"])
    async def configured_feed(filename: str, request: Request) -> Response:
        return await serve_configured(filename, "", request)

    @app.api_route("/feeds/keyword/{filename}", methods=["GET", "HEAD"])
    @app.api_route("/feeds/k/{filename}", methods=["GET", "HEAD"], include_in_schema=False)
    async def keyword_feed(filename: str, request: Request) -> Response:
        return await serve_configured(filename, "keyword/", request)

    def parse_query(request: Request) -> FeedQuery | Response:
        try:
            params = {k: v for k, v in request.query_params.items() if k != "lang"}
            query = FeedQuery.model_validate(params)
        except ValidationError as error:
            return error_response(
                request, 422, describe_validation_error(error).replace("\n", "; ")
            )
        present = present_categories(lazy.get(), indexes, query.days) if query.cat else set()
        if unknown := query.unknown_categories(settings, present):
            valid = ", ".join(settings.arxiv.categories)
            message = (
                f"cat: no paper of the last {query.days} days is in {', '.join(unknown)}; "
                f"followed here: {valid} (and the categories their papers are cross-listed in)"
            )
            return error_response(request, 422, message)
        return query

    @app.api_route("/feed.{fmt}", methods=["GET", "HEAD"])
    def query_feed(fmt: str, request: Request) -> Response:
        if fmt not in FORMATS:
            message = f"/feed.{fmt}: use /feed.xml (RSS), /feed.atom or /feed.json"
            return error_response(request, 404, message)
        query = parse_query(request)
        if isinstance(query, Response):
            return query
        language = language_of(request)
        if isinstance(language, Response):
            return language
        papers = search(query.search(), settings, lazy.get(), indexes)
        spec = FeedSpec(name="query", title=f"arXiv: {query.describe()}")
        rendered = render_now(spec, fmt, papers, request, language)
        return feed_response(request, rendered, QUERY_CACHE)

    @app.get("/api/papers")
    def api_papers(request: Request) -> Response:
        query = parse_query(request)
        if isinstance(query, Response):
            return query
        papers = search(query.search(), settings, lazy.get(), indexes)
        body = {
            "count": len(papers),
            "papers": [
                {
                    **paper.model_dump(mode="json"),
                    "explanation": paper.score.explain(),
                    "abs_url": paper.abs_url,
                    "pdf_url": paper.pdf_url,
                    "html_url": paper.html_url,
                }
                for paper in papers
            ],
        }
        return JSONResponse(body, headers={"Cache-Control": QUERY_CACHE})

    @app.get("/api/count")
    def api_count(request: Request) -> Response:
        """How many papers an ad-hoc feed would hold (the landing page's builder asks)."""
        query = parse_query(request)
        if isinstance(query, Response):
            return query
        count = len(search(query.search(), settings, lazy.get(), indexes))
        return JSONResponse({"count": count}, headers={"Cache-Control": QUERY_CACHE})

    @app.api_route("/api/refresh", methods=["GET", "POST"])
    def api_refresh(request: Request) -> Response:
        """Vercel cron sends GET with `Authorization: Bearer $CRON_SECRET`; people POST."""
        if not secret:
            message = "refresh is disabled: set CRON_SECRET on this deployment to enable it"
            return error_response(request, 503, message)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {secret}".encode()):
            return error_response(
                request, 401, "missing or wrong Authorization: Bearer <CRON_SECRET>"
            )
        report = runner(lazy.get())
        status = 200 if report.status in ("published", "no-announcement") else 503
        if report.status == "locked":
            status = 409
        return JSONResponse(report.model_dump(mode="json"), status_code=status)

    @app.api_route("/opml", methods=["GET", "HEAD"])
    def opml(request: Request) -> Response:
        from core.render.opml import render_opml

        base = public_base(request, settings)
        body = render_opml(settings.site.title, base, feeds, _last_updated(lazy.get(), clock))
        return Response(
            body,
            media_type="text/x-opml; charset=utf-8",
            headers={
                "Cache-Control": FEED_CACHE,
                "Content-Disposition": 'inline; filename="arxiv-feeds.opml"',
            },
        )

    @app.get("/feedback", response_class=HTMLResponse)
    def confirm_feedback(request: Request) -> Response:
        """What a feed item's "more / less like this" link opens: a question, no change."""
        from core.web.feedback_page import Feedback, problem

        try:
            feedback = Feedback.model_validate(dict(request.query_params))
        except ValidationError as error:
            return error_response(request, 422, problem(error))
        return feedback_response(request, feedback, recorded=False)

    @app.post("/feedback", response_class=HTMLResponse)
    async def record_feedback(request: Request) -> Response:
        from core.web.feedback_page import Feedback, problem

        try:
            feedback = Feedback.from_form(await request.body())
        except ValidationError as error:
            return error_response(request, 422, problem(error))
        except ValueError as error:
            return error_response(request, 413, str(error))
        return await run_in_threadpool(feedback_response, request, feedback, True)

    def feedback_response(request: Request, feedback: Feedback, recorded: bool) -> Response:
        from core.web.feedback_page import feedback_page

        base = public_base(request, settings)
        if not feedback_links(base).verify(feedback.id, feedback.opinion, feedback.sig):
            return error_response(request, 403, "this link was not signed by this service")
        current = lazy.get()
        if recorded:
            current.set_like(feedback.id, feedback.opinion)
        known = current.papers([feedback.id]) or current.examples([feedback.id])
        title = known[0].title if known else f"arXiv:{feedback.id}"
        page = feedback_page(feedback, title, base, settings.site.title, recorded=recorded)
        return HTMLResponse(page, headers=PRIVATE_PAGE)

    @app.get("/health")
    def health() -> JSONResponse:
        current = lazy.get()
        reachable = current.ping()
        report = current.last_report() if reachable else None
        published = current.last_published() if reachable else None
        index = current.day_index() if reachable else {}
        status = "ok" if reachable else "store unreachable"
        newest = max(index, default=None)
        if reachable and (newest is None or utc_now(clock).date() - newest > STALE_AFTER):
            status = "stale"  # no new announcement day for longer than a long weekend
        body = {
            "status": status,
            "store": {"kind": settings.store.url.split(":", 1)[0], "reachable": reachable},
            "summaries": settings.summaries.status,
            "last_refresh": report.model_dump(mode="json") if report else None,
            "last_published": published.model_dump(mode="json") if published else None,
            "days": [day.isoformat() for day in sorted(index, reverse=True)],
            "papers": len({i for ids in index.values() for i in ids}),
        }
        return JSONResponse(body, status_code=200 if status == "ok" else 503)

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        from core.web.pages import Builder, landing_page  # Jinja2 only for this page

        current = lazy.get()
        index = current.day_index()
        latest = papers_of_days(current, [max(index)]) if index else []
        builder = Builder.from_params(request.query_params, settings)
        count = None
        try:
            query = FeedQuery.model_validate({**builder.query(), "days": 1})
            count = len(search(query.search(), settings, current, indexes)) if index else None
        except ValidationError:
            pass  # the page still shows the URL; the feed itself will say what is wrong
        base = public_base(request, settings)
        page = landing_page(settings, base, feeds, current.last_report(), latest, builder, count)
        return HTMLResponse(page, headers={"Cache-Control": QUERY_CACHE})

    return app
