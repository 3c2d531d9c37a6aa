"""The deployment entrypoint: `app` (ASGI, for Vercel's Python runtime and any ASGI server)
and `handler` (the same app for AWS Lambda, through Mangum).

Kept thin: settings come from the environment; a deployment that cannot start (invalid
configuration, or on Vercel without a Redis store) answers every request with a page saying
what to fix instead of failing with a 500.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from mangum import Mangum

from core.config import ConfigError, Settings, load_settings
from core.store import open_store
from core.web.app import create_app

NO_STORE = """arxiv-feeds needs a Redis store on Vercel (its file system is read-only and not shared
between instances).

Connect one: Vercel dashboard -> your project -> Storage -> Upstash (Redis) -> Connect.
The integration sets REDIS_URL / KV_URL; then redeploy. Any other Redis works too: set
STORE_URL=rediss://... in the project's environment variables.
"""


def _explain(message: str) -> FastAPI:
    """An app that answers every request with 503 and `message`."""
    broken = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @broken.api_route("/{path:path}", methods=["GET", "HEAD", "POST"])
    def explain(path: str, request: Request) -> PlainTextResponse:
        return PlainTextResponse(message, status_code=503)

    return broken


def build(env: dict[str, str] | None = None) -> FastAPI:
    env = dict(os.environ) if env is None else env
    try:
        settings: Settings = load_settings(env=env)
    except ConfigError as error:
        return _explain(f"arxiv-feeds cannot start: invalid configuration.\n{error}\n")
    if env.get("VERCEL") and settings.store.url.startswith("sqlite:"):
        return _explain(NO_STORE)
    return create_app(
        settings, lambda: open_store(settings.store), cron_secret=env.get("CRON_SECRET", "")
    )


app = build()
handler = Mangum(app, lifespan="off")
