"""Vercel's entrypoint: the ASGI `app`, configured from the environment."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from core.config import ConfigError, load_settings
from core.store import open_store
from core.web.app import create_app


def _build() -> FastAPI:
    try:
        settings = load_settings()
    except ConfigError as error:
        broken = FastAPI()
        message = f"arxiv-feeds cannot start: invalid configuration.\n{error}\n"

        @broken.api_route("/{path:path}", methods=["GET", "HEAD", "POST"])
        def misconfigured(path: str) -> PlainTextResponse:
            return PlainTextResponse(message, status_code=503)

        return broken
    return create_app(settings, lambda: open_store(settings.store))


app = _build()
