"""An OpenAI-compatible chat-completions client (OpenAI, DashScope, DeepSeek, vLLM, ...)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from core.clock import Clock
from core.config import SummariesConfig
from core.ingest.retry import DeadlineExceeded, Transient, request_within, with_retries
from core.models import SummaryText
from core.summarize.prompts import response_schema

_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class LLMError(Exception):
    """The provider failed or answered something unusable; the message says which."""


class Completion(BaseModel):
    summary: SummaryText
    prompt_tokens: int = 0
    completion_tokens: int = 0


def parse_summary(content: str) -> SummaryText:
    """The JSON object in a reply, tolerating code fences and text around it."""
    match = _JSON_OBJECT.search(content)
    if match is None:
        raise LLMError("the reply holds no JSON object")
    try:
        data = json.loads(match.group())
        return SummaryText.model_validate(data)
    except (json.JSONDecodeError, ValidationError) as error:
        raise LLMError(f"the reply is not a valid summary: {error}".splitlines()[0]) from error


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


class LLMClient:
    def __init__(
        self,
        config: SummariesConfig,
        clock: Clock,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if config.api_key is None:
            raise LLMError(config.status)
        self.config = config
        self.clock = clock
        self.http = provider_client(config, transport)

    def close(self) -> None:
        self.http.close()

    def _body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": 0.2,
        }
        if self.config.response_format == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "paper_summary",
                    "strict": True,
                    "schema": response_schema(),
                },
            }
        elif self.config.response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def summarize(
        self, messages: list[dict[str, str]], deadline: float, retry_until: float | None = None
    ) -> Completion:
        """One summary, retried on 429 / 5xx / timeouts until `retry_until`; the whole
        exchange, body included, ends by `deadline` (clock times)."""
        timeout = self.config.request_timeout_seconds
        call = ProviderCall(self.http, self.clock, timeout, deadline, retry_until, LLMError)
        return _completion(call.post("/chat/completions", self._body(messages)))


def _completion(content: bytes) -> Completion:
    try:
        answer = json.loads(content)
        reply = answer["choices"][0]["message"]["content"] or ""
        usage = answer.get("usage") or {}
        tokens = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise LLMError("the provider's answer is not a chat completion") from error
    return Completion(
        summary=parse_summary(reply), prompt_tokens=tokens[0], completion_tokens=tokens[1]
    )
