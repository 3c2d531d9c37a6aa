"""Error answers, shaped for who asks: JSON for the API, plain text for feed readers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException

from core.search import ClientGone, QueryTooBroad
from core.store import StoreError
from core.text import redact

log = logging.getLogger("arxiv_feeds.web")

PRIVATE_PAGE = {  # a signed link's page: never cached, never indexed, never sent as Referer
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/health"


def error_response(request: Request, status: int, message: str, **extra: Any) -> Response:
    """JSON for the API, a plain-text page for everything else (readers show it as is)."""
    if _is_api(request):
        return JSONResponse({"error": message, **extra}, status_code=status)
    return PlainTextResponse(f"{status}: {message}\n", status_code=status)


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
    return error_response(request, error.status_code, str(message))


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
