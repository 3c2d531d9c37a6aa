"""Embeddings of papers and of what the reader likes, from an OpenAI-compatible `/embeddings`
endpoint (the summaries' provider and key), for similarity to liked papers. Off by default
(`rank.embeddings`); used only by the refresh, never on the serving path.

Vectors are kept in the store per paper (packed float32, one variant per model and size)
until retention prunes the paper, so each paper is embedded once. A failing provider is not
fatal: the refresh falls back to term similarity and says so in its report.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence

import httpx

from core.clock import Clock
from core.config import RankConfig, Settings, SummariesConfig
from core.llm import ProviderCall, provider_client
from core.store import Caches, StoreError

BATCH_SIZE = 64
"""Texts per request: well under every provider's limit on inputs per call."""
MAX_TEXT_CHARS = 6000
"""A title and abstract fit (about 1,500 tokens); longer texts are cut to this."""


class EmbeddingError(Exception):
    """The provider failed or answered something that is not embeddings; the message says
    which."""


def variant(rank: RankConfig) -> str:
    """The cache variant of a model and size: vectors of two models never compare."""
    return f"{rank.embedding_model}|{rank.embedding_dimensions or 'native'}"


def pack(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack(data: bytes) -> tuple[float, ...]:
    return struct.unpack(f"<{len(data) // 4}f", data)


def unit(vector: Sequence[float]) -> tuple[float, ...]:
    norm = math.sqrt(math.fsum(x * x for x in vector)) or 1.0
    return tuple(x / norm for x in vector)


class Embedder:
    """Unit vectors for texts by key, from the store where kept, else from the provider."""

    def __init__(
        self,
        summaries: SummariesConfig,
        rank: RankConfig,
        store: Caches,
        clock: Clock,
        deadline: float,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if summaries.api_key is None:
            raise EmbeddingError(summaries.status)
        self.rank = rank
        self.store = store
        self.provider = ProviderCall(
            provider_client(summaries, transport),
            clock,
            summaries.request_timeout_seconds,
            deadline,
            None,
            EmbeddingError,
        )

    def close(self) -> None:
        self.provider.http.close()

    def vectors(self, texts: Mapping[str, str]) -> dict[str, tuple[float, ...]]:
        """Every text's unit vector by its key (an arXiv id, or a digest of other text)."""
        kind = variant(self.rank)
        try:
            kept = self.store.embeddings(list(texts), kind)
        except StoreError as error:
            raise EmbeddingError(f"the store failed: {error}") from error
        missing = [key for key in texts if key not in kept]
        for start in range(0, len(missing), BATCH_SIZE):
            batch = missing[start : start + BATCH_SIZE]
            made = self._ask([texts[key][:MAX_TEXT_CHARS] for key in batch])
            new = {key: pack(unit(vector)) for key, vector in zip(batch, made, strict=True)}
            try:
                self.store.put_embeddings(new, kind)
            except StoreError as error:
                raise EmbeddingError(f"the store failed: {error}") from error
            kept.update(new)
        return {key: unpack(kept[key]) for key in texts}

    def _ask(self, inputs: list[str]) -> list[list[float]]:
        body: dict[str, object] = {
            "model": self.rank.embedding_model,
            "input": inputs,
            "encoding_format": "float",
        }
        if self.rank.embedding_dimensions:
            body["dimensions"] = self.rank.embedding_dimensions
        return _embeddings(self.provider.post("/embeddings", body), len(inputs))


def _embeddings(content: bytes, count: int) -> list[list[float]]:
    """The vectors of an answer in input order: `count` of them, of one length, finite."""
    try:
        rows = sorted(json.loads(content)["data"], key=lambda row: int(row["index"]))
        vectors = [[float(x) for x in row["embedding"]] for row in rows]
    except (ValueError, KeyError, TypeError) as error:
        raise EmbeddingError("the provider's answer is not a list of embeddings") from error
    sizes = {len(vector) for vector in vectors}
    if len(vectors) != count or len(sizes) != 1 or 0 in sizes:
        raise EmbeddingError(f"asked for {count} embeddings, got {len(vectors)} of sizes {sizes}")
    if not all(math.isfinite(x) for vector in vectors for x in vector):
        raise EmbeddingError("the provider's embeddings hold a value that is not a number")
    return vectors


def live_embedder(
    settings: Settings,
    store: Caches,
    clock: Clock,
    deadline: float,
    transport: httpx.BaseTransport | None = None,
) -> Embedder | None:
    """The embedder `rank.embeddings` asks for, if the provider has a key."""
    if not settings.rank.embeddings or settings.summaries.api_key is None:
        return None
    rank, summaries = settings.rank, settings.summaries
    return Embedder(summaries, rank, store, clock, deadline, transport=transport)
