"""The arXiv HTTP client: one request per slot of the shared limiter, retries with backoff.

arXiv asks for at most one request every 3 seconds from all of a deployment's instances, so
the limiter's state lives in the store. 429, 503 (and other 5xx), timeouts and connection
errors are retried, honouring `Retry-After`, until the retry budget would be exceeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx
import tenacity

from core.clock import Clock, SystemClock
from core.config import ArxivConfig
from core.ingest import ArxivError
from core.store import Store

USER_AGENT = "arxiv-feeds/0.1 (self-hosted arXiv feed reader; {contact})"
LIMITER_NAME = "arxiv"


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(headers: httpx.Headers, now: float) -> float | None:
    """`Retry-After` as seconds from now, whether given as seconds or as an HTTP date."""
    value = headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class ArxivClient:
    def __init__(
        self,
        config: ArxivConfig,
        limiter: Store,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.limiter = limiter
        self.clock = clock or SystemClock()
        contact = f"mailto:{config.contact}" if config.contact else "no contact configured"
        self.http = httpx.Client(
            transport=transport,
            timeout=config.timeout_seconds,
            headers={"User-Agent": USER_AGENT.format(contact=contact)},
            follow_redirects=True,
        )

    def close(self) -> None:
        self.http.close()

    def announcements(self, categories: list[str]) -> bytes:
        """Today's RSS announcements of all `categories`, in one request."""
        return self.get(self.config.rss_url + "+".join(categories))

    def query(self, params: Mapping[str, str | int]) -> bytes:
        """One page of the export API (Atom)."""
        return self.get(self.config.api_url, params)

    def get(self, url: str, params: Mapping[str, str | int] | None = None) -> bytes:
        started = self.clock.time()

        def wait(state: tenacity.RetryCallState) -> float:
            backoff = min(60.0, 2.0 * 2.0 ** (state.attempt_number - 1))
            error = state.outcome.exception() if state.outcome else None
            hint = error.retry_after if isinstance(error, _Transient) else None
            return max(backoff, hint or 0.0)

        def stop(state: tenacity.RetryCallState) -> bool:
            spent = self.clock.time() - started
            return spent + state.upcoming_sleep > self.config.retry_seconds

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            wait=wait,
            stop=stop,
            sleep=self.clock.sleep,
            reraise=True,
        )
        try:
            body: bytes = retrying(self._attempt, url, params)
            return body
        except _Transient as error:
            raise ArxivError(f"arXiv kept failing for {url}: {error}") from error

    def _attempt(self, url: str, params: Mapping[str, str | int] | None) -> bytes:
        self.clock.sleep(
            self.limiter.reserve_slot(
                LIMITER_NAME, self.config.min_interval_seconds, self.clock.time()
            )
        )
        try:
            response = self.http.get(url, params=params)
        except httpx.TransportError as error:
            raise _Transient(f"{type(error).__name__}: {error}") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(
                f"HTTP {response.status_code}",
                _retry_after(response.headers, self.clock.time()),
            )
        if response.status_code >= 400:
            raise ArxivError(f"arXiv answered HTTP {response.status_code} for {response.url}")
        return response.content
