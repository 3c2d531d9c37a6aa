"""The OpenAI-compatible provider (OpenAI, DashScope, DeepSeek, vLLM, ...), shared by summaries
(chat completions) and embeddings: its HTTP client with the key, and one retried, deadline-bound
POST."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from core.clock import Clock
from core.config import SummariesConfig
from core.ingest.retry import DeadlineExceeded, Transient, request_within, with_retries


@dataclass(frozen=True)
class ProviderCall:
    """POSTs to the provider, retried on 429 / 5xx / timeouts until `retry_until` (else the
    deadline); the whole exchange, body included, ends by `deadline` (clock times). Every
    failure is raised as `failure` with a message saying which."""

    http: httpx.Client
    clock: Clock
    timeout: float
    deadline: float
    retry_until: float | None
    failure: type[Exception]

    def post(self, path: str, body: dict[str, Any]) -> bytes:
        def attempt() -> tuple[int, bytes]:
            reply = request_within(
                self.http, "POST", path, self.deadline, self.clock, self.timeout, json=body
            )
            return reply.status_code, reply.content

        try:
            budget = min(self.deadline, self.retry_until or self.deadline) - self.clock.time()
            status, content = with_retries(attempt, self.clock, budget)
        except Transient as error:
            raise self.failure(f"the provider kept failing: {error}") from error
        except DeadlineExceeded as error:
            raise self.failure(f"the refresh deadline passed: {error}") from error
        if status >= 400:
            text = content[:200].decode("utf-8", "replace")
            raise self.failure(f"the provider answered HTTP {status}: {text}")
        return content


def provider_client(
    config: SummariesConfig, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An HTTP client for the configured provider, with its key (which must be set)."""
    key = config.api_key.get_secret_value() if config.api_key else ""
    return httpx.Client(
        transport=transport,
        base_url=config.base_url,
        headers={"Authorization": f"Bearer {key}"},
    )
