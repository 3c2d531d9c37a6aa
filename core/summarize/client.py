"""The summaries' chat-completions request and the parsing of its reply."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from core.clock import Clock
from core.config import SummariesConfig
from core.llm import ProviderCall, provider_client
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
