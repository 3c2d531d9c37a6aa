"""Error answers, shaped for who asks: JSON for the API, plain text for feed readers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.query.search import ClientGone, QueryTooBroad
from core.store import StoreError
from core.text import redact

log = logging.getLogger("arxiv_feeds.web")

PRIVATE_PAGE = {  # a signed link's page: never cached, never indexed, never sent as Referer
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}


BASELINE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
"""On every answer, unless a route set its own: no content sniffing (a feed's text is never
run as a page), and no full URL (an ad-hoc feed's query) sent to another site."""
HTML_DEFAULT_POLICY = b"default-src 'none'; frame-ancestors 'none'"
"""An HTML answer without a policy of its own (a route's pages set theirs) runs nothing
and is never framed."""


class ResponseHeaders:
    """Adds the baseline headers, and merges the `Vary` headers of a response into one list
    without repeats (Starlette's gzip middleware appends `Accept-Encoding` to the one feed
    responses already carry). A pure ASGI middleware: one pass over the headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _completed(message["headers"])}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _completed(given: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    headers = [(k, v) for k, v in given if k.lower() != b"vary"]
    names = {k.lower() for k, _ in headers}
    vary = [token.strip() for k, v in given if k.lower() == b"vary" for token in v.split(b",")]
    if vary:
        headers.append((b"vary", b", ".join(dict.fromkeys(vary))))
    headers.extend((name, value) for name, value in BASELINE_HEADERS if name not in names)
    html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
    if html and b"content-security-policy" not in names:
        headers.append((b"content-security-policy", HTML_DEFAULT_POLICY))
    return headers


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/health"


def error_response(
    request: Request,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """JSON for the API, a plain-text page for everything else (readers show it as is)."""
    if _is_api(request):
        return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)
    return PlainTextResponse(f"{status}: {message}\n", status_code=status, headers=headers)


async def invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'] if p != 'query')}: {e['msg']}" for e in error.errors()
    )
    return error_response(request, 422, problems)


async def store_down(request: Request, error: Exception) -> Response:
    log.error("store unavailable: %s", redact(str(error)))  # the details, for the logs
    return error_response(request, 503, "the store is unavailable; see /health")


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = "no such page; see / for the feeds" if error.status_code == 404 else error.detail
    return error_response(request, error.status_code, str(message), headers=error.headers)


async def too_broad(request: Request, error: Exception) -> Response:
    return error_response(request, 422, str(error))


async def client_gone(request: Request, error: Exception) -> Response:
    """Nobody reads it: nginx's "client closed request", for the access log."""
    return Response(status_code=499)


async def unexpected(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return error_response(request, 500, "internal error; the details are in the server log")


ERROR_HANDLERS = {
    RequestValidationError: invalid_request,
    StoreError: store_down,
    QueryTooBroad: too_broad,
    ClientGone: client_gone,
    HTTPException: http_error,
    Exception: unexpected,
}
