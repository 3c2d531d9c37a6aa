"""An OpenAI-compatible chat-completions client (OpenAI, DashScope, DeepSeek, vLLM, ...)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from core.clock import Clock
from core.config import SummariesConfig
from core.models import SummaryText
from core.retry import Transient, raise_if_transient, transient_from, with_retries
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
        self.http = httpx.Client(
            transport=transport,
            base_url=config.base_url,
            headers={"Authorization": f"Bearer {config.api_key.get_secret_value()}"},
        )

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

    def summarize(self, messages: list[dict[str, str]], deadline: float) -> Completion:
        """One summary, retried on 429 / 5xx / timeouts until `deadline` (clock time)."""
        body = self._body(messages)

        def attempt() -> httpx.Response:
            remaining = deadline - self.clock.time()
            if remaining <= 0:
                raise LLMError("the refresh deadline passed")
            timeout = min(self.config.request_timeout_seconds, remaining)
            try:
                response = self.http.post("/chat/completions", json=body, timeout=timeout)
            except httpx.TransportError as error:
                raise transient_from(error) from error
            raise_if_transient(response, self.clock)
            return response

        try:
            response = with_retries(attempt, self.clock, deadline - self.clock.time())
        except Transient as error:
            raise LLMError(f"the provider kept failing: {error}") from error
        if response.status_code >= 400:
            raise LLMError(
                f"the provider answered HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            answer = response.json()
            content = answer["choices"][0]["message"]["content"] or ""
            usage = answer.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise LLMError("the provider's answer is not a chat completion") from error
        return Completion(
            summary=parse_summary(content),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )
