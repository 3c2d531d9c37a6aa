"""How close a paper is to the papers a reader liked or disliked.

Text similarity over title and abstract: TF-IDF vectors of word keys (the stems keyword rules
match by), document frequencies from the papers ranked together, cosine similarity. A paper
is compared with each example and keeps the nearest (a max, not an average, so separate
interests are not blended into one). An inverted index over the examples' terms keeps this
to the terms a paper shares with them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.models import Paper
from core.words import Words

_MIN_TERM_LENGTH = 2


def terms(text: str) -> Counter[str]:
    """The word keys of a text, with their counts."""
    keys = Words.of(text).keys
    return Counter(key for key in keys if len(key) >= _MIN_TERM_LENGTH and not key.isdigit())


def _paper_text(paper: Paper) -> str:
    return f"{paper.title} {paper.abstract}"


@dataclass(frozen=True)
class Example:
    """Something the reader likes or dislikes: a paper, or their interests in plain words."""

    id: str
    title: str
    text: str

    @classmethod
    def of(cls, paper: Paper) -> Example:
        return cls(paper.id, paper.title, _paper_text(paper))


@dataclass(frozen=True)
class Nearest:
    example: Example
    similarity: float


class Similarity:
    """Nearest examples for papers, with term statistics from `corpus` (and the examples)."""

    def __init__(self, examples: Sequence[Example], corpus: Sequence[Paper]) -> None:
        self.examples = list(examples)
        self._counts = {paper.id: terms(_paper_text(paper)) for paper in corpus}
        self._counts.update({example.id: terms(example.text) for example in self.examples})
        frequency = Counter(term for counts in self._counts.values() for term in counts)
        documents = len(self._counts)
        self._idf = {
            term: math.log((documents + 1) / (count + 1)) for term, count in frequency.items()
        }
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for index, example in enumerate(self.examples):
            for term, weight in self._vector(self._counts[example.id]).items():
                self._postings.setdefault(term, []).append((index, weight))

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        weights = {
            term: (1 + math.log(count)) * self._idf.get(term, 0.0) for term, count in counts.items()
        }
        norm = math.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
        return {term: weight / norm for term, weight in weights.items() if weight > 0}

    def nearest(self, paper: Paper) -> Nearest | None:
        """The example most like `paper` (by cosine similarity), if it shares any term."""
        if not self.examples:
            return None
        counts = self._counts.get(paper.id) or terms(_paper_text(paper))
        totals: dict[int, float] = {}
        for term, weight in self._vector(counts).items():
            for index, example_weight in self._postings.get(term, ()):
                totals[index] = totals.get(index, 0.0) + weight * example_weight
        if not totals:
            return None
        best = max(totals, key=lambda index: totals[index])
        return Nearest(self.examples[best], round(min(1.0, totals[best]), 4))
