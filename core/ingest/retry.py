"""Retrying HTTP calls to services outside this machine (arXiv, LLM providers).

429, 5xx, timeouts and connection errors are transient: retried with exponential backoff,
honouring `Retry-After`, until the next wait would pass the time budget. Time comes from an
injected Clock, so tests control every wait.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, TypeVar

import httpx
import tenacity

from core.clock import Clock

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The refresh's time budget ran out during an upstream call; retrying cannot help."""


class Transient(Exception):
    """A failure worth retrying; `retry_after` is the server's hint, in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(headers: httpx.Headers, now: float) -> float | None:
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


def raise_if_transient(response: httpx.Response, clock: Clock) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        raise Transient(f"HTTP {response.status_code}", retry_after(response.headers, clock.time()))


def transient_from(error: httpx.TransportError) -> Transient:
    return Transient(f"{type(error).__name__}: {error}")


class Reply(NamedTuple):
    """A whole answer, read within the deadline."""

    status_code: int
    headers: httpx.Headers
    content: bytes


def request_within(
    http: httpx.Client,
    method: str,
    url: str,
    deadline: float,
    clock: Clock,
    timeout: float,
    **options: Any,
) -> Reply:
    """One request whose whole answer arrives by `deadline` (clock time), each read waiting
    at most `timeout`; 429, 5xx and connection failures raised as Transient, a passed deadline
    as DeadlineExceeded."""
    remaining = deadline - clock.time()
    if remaining <= 0:
        raise DeadlineExceeded("no time was left to ask")
    try:
        with http.stream(method, url, timeout=min(timeout, remaining), **options) as response:
            raise_if_transient(response, clock)
            content = _read_within(response, deadline, clock)
            return Reply(response.status_code, response.headers, content)
    except httpx.TransportError as error:
        raise transient_from(error) from error


def _read_within(response: httpx.Response, deadline: float, clock: Clock) -> bytes:
    """The whole (decoded) body of a streamed response, or DeadlineExceeded once `deadline`
    (clock time) passes between two chunks: a per-read timeout alone lets a server that
    drips a byte at a time hold a call open for as long as it likes."""
    chunks = []
    for chunk in response.iter_bytes():
        if clock.time() > deadline:
            raise DeadlineExceeded(f"the answer from {response.url.host} was still arriving")
        chunks.append(chunk)
    return b"".join(chunks)


def with_retries(attempt: Callable[[], T], clock: Clock, budget_seconds: float) -> T:
    """Run `attempt` until it succeeds or raises a non-Transient error; the last Transient is
    re-raised once the budget would be exceeded."""
    started = clock.time()

    def wait(state: tenacity.RetryCallState) -> float:
        backoff = min(60.0, 2.0 * 2.0 ** (state.attempt_number - 1))
        error = state.outcome.exception() if state.outcome else None
        hint = error.retry_after if isinstance(error, Transient) else None
        return max(backoff, hint or 0.0)

    def stop(state: tenacity.RetryCallState) -> bool:
        return clock.time() - started + state.upcoming_sleep > budget_seconds

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Transient),
        wait=wait,
        stop=stop,
        sleep=clock.sleep,
        reraise=True,
    )
    result: T = retrying(attempt)
    return result
