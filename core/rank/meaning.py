"""Similarity by meaning: each paper's title and abstract, and the reader's interests, as
vectors of a small static embedding model (WordLlama `l2_supercat`, 256 dimensions) whose
weights ship inside its wheel: offline, no key, nothing downloaded. Only the refresh uses it
(numpy and the model load there), never the serving path.

A paper is embedded once: its vector is kept with the store's cached embeddings (half
precision, 512 bytes) until retention prunes the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import RankConfig
from core.models import Paper
from core.store import Caches

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MODEL = "l2_supercat"
DIMENSIONS = 256
VARIANT = f"wordllama-{MODEL}-{DIMENSIONS}-f16"
"""What the store keeps vectors of this model under."""


SHORT_INTERESTS_WORDS = 25
"""Interests shorter than this (about a sentence) are compared with the keywords after them:
a static model's vector averages the words' vectors, so a few words make a vague target that
ranks the field's generic papers above the ones the keywords name."""


def compared_with(rank: RankConfig) -> tuple[str, str]:
    """The text papers are compared with by meaning, and its name for the reader: the
    interests; shorter than about a sentence, completed by the keywords; without interests,
    the keywords alone."""
    interests = rank.interests.strip()
    keywords = ", ".join(rule.term for rule in rank.keywords)
    if len(interests.split()) >= SHORT_INTERESTS_WORDS or not keywords:
        return interests, "your interests"
    if not interests:
        return keywords, "your keywords"
    return f"{interests} {keywords}", "your interests and keywords"


class MeaningError(Exception):
    """The model could not be loaded or used; the message says why."""


@cache
def _model() -> Any:
    """The model, from the files inside its package: WordLlama looks for the tokenizer under
    a folder its wheel does not have unless `cache_dir` is the package's own folder, and
    would download what it does not find unless told not to."""
    try:
        import wordllama
        from wordllama import WordLlama

        folder = Path(wordllama.__file__).parent
        return WordLlama.load(config=MODEL, dim=DIMENSIONS, cache_dir=folder, disable_download=True)
    except Exception as error:  # a third party's import or files: whatever fails costs only meaning
        raise MeaningError(f"the embedding model could not be loaded: {error}") from error


def embed(texts: Sequence[str]) -> NDArray[np.float32]:
    """Unit vectors of `texts`, one row each."""
    import numpy as np

    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors: NDArray[np.float32] = _model().embed(list(texts), norm=True)
    return vectors.astype(np.float32)


def paper_text(paper: Paper) -> str:
    return f"{paper.title}. {paper.abstract}"


def closeness(papers: Sequence[Paper], interests: str, cache: Caches | None) -> dict[str, float]:
    """Each paper's cosine similarity to `interests`, its vector read from `cache` (the store)
    or made now and kept there."""
    vectors = _paper_vectors(papers, cache)
    wanted = embed([interests])[0]
    return {paper.id: float(vectors[paper.id] @ wanted) for paper in papers}


def _paper_vectors(papers: Sequence[Paper], cache: Caches | None) -> dict[str, NDArray[np.float32]]:
    import numpy as np

    ids = list(dict.fromkeys(paper.id for paper in papers))
    kept = cache.embeddings(ids, VARIANT) if cache is not None else {}
    found = {
        i: np.frombuffer(data, dtype=np.float16).astype(np.float32)
        for i, data in kept.items()
        if len(data) == 2 * DIMENSIONS
    }
    missing = {paper.id: paper for paper in papers if paper.id not in found}
    if missing:
        # kept at half precision, and used so from the start: a paper's closeness is the same
        # whether its vector was just made or read back
        made = embed([paper_text(paper) for paper in missing.values()]).astype(np.float16)
        packed = {i: vector.tobytes() for i, vector in zip(missing, made, strict=True)}
        if cache is not None:
            cache.put_embeddings(packed, VARIANT)
        found.update(zip(missing, made.astype(np.float32), strict=True))
    return found
