"""What `/api/openapi.json` says of the routes whose handlers read their own parameters.

The ad-hoc routes validate their query with `FeedQuery` themselves (a clear 422 in the shape
readers and the API expect), and the stored-feed routes are plain Starlette routes; neither is
seen by FastAPI's parameter solving. Their contract is written here, from the same models and
bounds, so generated clients and API fuzzers see the parameters and answers they really get.
"""

from __future__ import annotations

import re
from typing import Any

from core.query.params import FeedQuery

_ERROR = {
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        },
        "text/plain": {"schema": {"type": "string"}},
    }
}
"""Errors are JSON under /api/ and /health, plain text elsewhere."""
_FEED_CONTENT = {
    media: {"schema": {"type": "string"}}
    for media in ("application/rss+xml", "application/atom+xml", "application/feed+json")
}
NOT_MODIFIED = {
    "304": {
        "description": "Not Modified: the If-None-Match or If-Modified-Since "
        "validators match; no body"
    }
}
BAD_PARAMETER = {
    "422": {"description": "a parameter out of bounds or unknown, said in the message", **_ERROR}
}
STORE_DOWN = {"503": {"description": "the store is unreachable (see /health)", **_ERROR}}
NO_SUCH_FEED = {"404": {"description": "no such feed; the message names the valid ones", **_ERROR}}
LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "a summary language of `summaries.languages` (default: the first)",
    "schema": {"type": "string", "maxLength": 20},
}


def query_parameters() -> list[dict[str, Any]]:
    """`FeedQuery`'s fields as OpenAPI query parameters, with their bounds and defaults."""
    schema = FeedQuery.model_json_schema()
    parameters = []
    for name, field in schema["properties"].items():
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": _DESCRIPTIONS[name],
                "schema": {k: v for k, v in field.items() if k != "title"},
            }
        )
    return parameters


_DESCRIPTIONS = {
    "cat": "categories or archives, comma-separated (cs.DC,cs.LG or cs)",
    "q": 'terms, comma-separated, "quoted phrases" kept whole; at most 20',
    "min_score": "only papers scoring at least this",
    "type": "announce types, comma-separated: new, cross, replace, replace-cross",
    "days": "the latest announcement days to search (default: `feeds.days`)",
    "limit": "at most this many papers",
}


def _stored_feed() -> dict[str, Any]:
    """The operation of the stored-feed routes, which FastAPI does not see."""
    return {
        "summary": "A configured feed, rendered at refresh",
        "parameters": [
            {
                "name": "filename",
                "in": "path",
                "required": True,
                "description": "the feed's name and format: cs.LG.xml, all.atom, kv-cache.json",
                "schema": {"type": "string", "maxLength": 200},
            },
            LANG,
        ],
        "responses": {
            "200": {"description": "the feed", "content": _FEED_CONTENT},
            **NOT_MODIFIED,
            **NO_SUCH_FEED,
            **BAD_PARAMETER,
            **STORE_DOWN,
        },
    }


def _refresh_responses() -> dict[str, Any]:
    return {
        "401": {"description": "no or a wrong `Authorization: Bearer <CRON_SECRET>`", **_ERROR},
        "409": {"description": "another refresh holds the lock; the report says so"},
        "503": {
            "description": "refresh disabled (no CRON_SECRET), or arXiv or the store "
            "failed; the report says which",
            **_ERROR,
        },
    }


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's schema with the parameters and answers of the routes it cannot see into."""
    paths = schema["paths"]
    ad_hoc = query_parameters()
    for feed in paths["/feed.{fmt}"].values():  # GET and HEAD
        feed["parameters"] += [*ad_hoc, LANG]
        feed["responses"] |= {
            "200": {"description": "the feed", "content": _FEED_CONTENT},
            **NOT_MODIFIED,
            **NO_SUCH_FEED,
            **BAD_PARAMETER,
            **STORE_DOWN,
        }
    for path in ("/api/papers", "/api/count"):
        paths[path]["get"]["parameters"] = ad_hoc
        paths[path]["get"]["responses"] |= {**BAD_PARAMETER, **STORE_DOWN}
    for opml in paths["/opml"].values():
        opml["parameters"] = [
            {
                "name": "keywords",
                "in": "query",
                "required": False,
                "description": "1: add one feed per keyword",
                "schema": {"type": "string", "enum": ["0", "1"], "default": "0"},
            }
        ]
        opml["responses"] |= {**BAD_PARAMETER, **STORE_DOWN}
    paths["/health"]["get"]["responses"] |= {
        "503": {"description": "stale (no new day for 4 days) or the store unreachable"}
    }
    for method in ("get", "post"):
        paths["/api/refresh"][method]["responses"] |= _refresh_responses()
    for path in ("/feeds/{filename}", "/feeds/keyword/{filename}", "/feeds/k/{filename}"):
        paths[path] = {"get": _stored_feed()}
    for path, operations in paths.items():  # one id per operation, as OpenAPI requires
        for method, operation in operations.items():
            words = "_".join(part for part in re.split(r"[^a-z]+", path.lower()) if part)
            operation["operationId"] = f"{method}_{words or 'home'}"
    return schema
