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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.models import Paper
from core.words import Words

_MIN_TERM_LENGTH = 2
COMMON_SHARE = 0.2
"""Terms in more of the papers than this share are left out, as stop words are: they say
little about a paper and would make most of the work."""
PRIOR_PAPERS = 100
"""Papers assumed to hold none of the terms, so a handful of papers cannot make a term look
common (used by keyword specificity too)."""


def terms(keys: Sequence[str]) -> Counter[str]:
    """Word keys (`core.words`) with their counts, less one-letter keys and numbers."""
    counts = Counter(keys)
    for key in [key for key in counts if len(key) < _MIN_TERM_LENGTH or key.isdigit()]:
        del counts[key]
    return counts


@dataclass(frozen=True)
class Example:
    """Something the reader likes or dislikes: a paper, or their interests in plain words."""

    id: str
    title: str
    text: str

    @classmethod
    def of(cls, paper: Paper) -> Example:
        return cls(paper.id, paper.title, f"{paper.title} {paper.abstract}")


@dataclass(frozen=True)
class Nearest:
    example: Example
    similarity: float


class Similarity:
    """Nearest examples for the papers of `corpus` (paper id -> the word keys of its title
    and abstract), with term statistics from them and the examples."""

    def __init__(self, examples: Sequence[Example], corpus: Mapping[str, Sequence[str]]) -> None:
        self.examples = list(examples)
        self._counts = {paper_id: terms(keys) for paper_id, keys in corpus.items()}
        self._counts.update({e.id: terms(Words.of(e.text).keys) for e in self.examples})
        frequency = Counter(term for counts in self._counts.values() for term in counts)
        documents = len(self._counts)
        self._idf = {
            term: math.log((documents + 1) / (count + 1))
            for term, count in frequency.items()
            if count <= COMMON_SHARE * (documents + PRIOR_PAPERS)
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

    def nearest(self, paper_id: str) -> Nearest | None:
        """The example most like a paper of the corpus (by cosine similarity), if it shares
        any term with one."""
        counts = self._counts.get(paper_id)
        if not self.examples or not counts:
            return None
        totals: dict[int, float] = {}
        for term, weight in self._vector(counts).items():
            for index, example_weight in self._postings.get(term, ()):
                totals[index] = totals.get(index, 0.0) + weight * example_weight
        if not totals:
            return None
        best = max(totals, key=lambda index: totals[index])
        return Nearest(self.examples[best], round(min(1.0, totals[best]), 4))
