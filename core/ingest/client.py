"""The arXiv HTTP client: one request per slot of the shared limiter, retries with backoff.

arXiv asks for at most one request every 3 seconds from all of a deployment's instances, so
the limiter's state lives in the store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import httpx

from core.clock import Clock, SystemClock
from core.config import ArxivConfig
from core.ingest import ArxivError
from core.ingest.retry import DeadlineExceeded, Reply, Transient, request_within, with_retries
from core.ingest.rss import RSS_ITEM_CAP
from core.store import Coordination

_ITEM = re.compile(rb"<item[\s>]")
USER_AGENT = "arxiv-feeds/0.1 (self-hosted arXiv feed reader; {contact})"
LIMITER_NAME = "arxiv"


class NotModified(Exception):
    """arXiv answered 304: its announcements are as they were at the validators' answer."""


def validators_of(headers: httpx.Headers) -> dict[str, str]:
    return {name: headers[name] for name in ("etag", "last-modified") if name in headers}


def _body(reply: Reply, url: str) -> bytes:
    """A 2xx answer's body; ArxivError for a 4xx (retries already gave up on 429 and 5xx)."""
    if reply.status_code >= 400:
        raise ArxivError(f"arXiv answered HTTP {reply.status_code} for {url}")
    return reply.content


def _conditional(validators: Mapping[str, str]) -> dict[str, str]:
    asked = {"etag": "If-None-Match", "last-modified": "If-Modified-Since"}
    return {asked[name]: value for name, value in validators.items() if name in asked}


class ArxivClient:
    """`deadline` (clock time) bounds every call, retries and the whole body included: the
    refresh derives it from its time budget."""

    def __init__(
        self,
        config: ArxivConfig,
        limiter: Coordination,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        deadline: float = math.inf,
    ) -> None:
        self.config = config
        self.limiter = limiter
        self.clock = clock or SystemClock()
        self.deadline = deadline
        contact = f"mailto:{config.contact}" if config.contact else "no contact configured"
        self.validators: dict[str, str] = {}
        """The ETag and Last-Modified of the last whole announcements answer."""
        self.http = httpx.Client(
            transport=transport,
            timeout=config.timeout_seconds,
            headers={"User-Agent": USER_AGENT.format(contact=contact)},
            follow_redirects=True,
        )

    def close(self) -> None:
        self.http.close()

    def announcements(
        self, categories: list[str], validators: Mapping[str, str] | None = None
    ) -> list[bytes]:
        """Today's RSS announcements of all `categories`: one request, or, when the answer
        holds as many items as rss.arxiv.org gives at most, one per half of the categories
        (and so on), each waiting for the shared rate limiter. With the `validators` of an
        earlier answer (`validators_of`), the first request is conditional, and NotModified
        is raised when arXiv says its answer has not changed."""
        url = self.config.rss_url + "+".join(categories)
        reply = self.get_response(url, headers=_conditional(validators or {}))
        if reply.status_code == 304:
            raise NotModified(url)
        raw = _body(reply, url)
        self.validators = validators_of(reply.headers)
        if len(categories) == 1 or len(_ITEM.findall(raw)) < RSS_ITEM_CAP:
            return [raw]
        self.validators = {}  # several answers: no one answer's validators stand for them
        half = len(categories) // 2
        return self.announcements(categories[:half]) + self.announcements(categories[half:])

    def query(self, params: Mapping[str, str | int]) -> bytes:
        """One page of the export API (Atom)."""
        return self.get(self.config.api_url, params)

    def get(self, url: str, params: Mapping[str, str | int] | None = None) -> bytes:
        """The body of a 2xx answer; ArxivError for a 4xx or when retries run out."""
        return _body(self.get_response(url, params), url)

    def get_response(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """The final answer, 4xx included (a 404 can be an answer, e.g. no HTML version)."""

        def attempt() -> Reply:
            self.clock.sleep(
                self.limiter.reserve_slot(
                    LIMITER_NAME, self.config.min_interval_seconds, self.clock.time()
                )
            )
            try:
                return request_within(
                    self.http,
                    "GET",
                    url,
                    self.deadline,
                    self.clock,
                    self.config.timeout_seconds,
                    params=params,
                    headers=headers,
                )
            except (httpx.TooManyRedirects, httpx.DecodingError) as error:
                raise ArxivError(f"arXiv's answer for {url} cannot be read: {error}") from error

        budget = min(self.config.retry_seconds, self.deadline - self.clock.time())
        try:
            return with_retries(attempt, self.clock, budget)
        except Transient as error:
            raise ArxivError(f"arXiv kept failing for {url}: {error}") from error
        except DeadlineExceeded as error:
            raise ArxivError(f"the refresh's time budget ran out asking {url}: {error}") from error
