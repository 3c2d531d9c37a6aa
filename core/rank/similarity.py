"""How close a paper is to the papers a reader liked or disliked.

Text similarity over title and abstract: TF-IDF vectors of word keys (the stems keyword rules
match by), document frequencies from the papers ranked together and the examples, cosine
similarity. A paper is compared with each example and keeps the nearest (a max, not an
average, so separate interests are not blended into one). An inverted index over the
examples' terms keeps this to the terms a paper shares with them; liked and disliked examples
share one set of statistics, so each paper's vector is made once.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

from core.models import INTERESTS_TITLE, Paper
from core.rank.words import Words

_MIN_TERM_LENGTH = 2
COMMON_SHARE = 0.2
"""Terms in more of the papers than this share are left out, as stop words are: they say
little about a paper and would make most of the work."""
PRIOR_PAPERS = 100
"""Papers assumed to hold none of the terms, so a handful of papers cannot make a term look
common (used by keyword specificity too)."""
_TERM_FREQUENCY = (0.0, *(1 + math.log(count) for count in range(1, 1024)))
"""Sublinear term frequency, 1 + ln(count), looked up in C for any count a title and abstract
can hold (arXiv caps an abstract at 1,920 characters)."""


def _is_term(key: str) -> bool:
    """Whether a word key (`core.rank.words`) counts as a term: not one letter, not a number."""
    return len(key) >= _MIN_TERM_LENGTH and not key.isdigit()


@dataclass(frozen=True)
class Example:
    """Something the reader likes or dislikes: a paper, or their interests in plain words."""

    id: str
    title: str
    text: str

    @classmethod
    def of(cls, paper: Paper) -> Example:
        return cls(paper.id, paper.title, f"{paper.title} {paper.abstract}")

    @classmethod
    def interests(cls, text: str) -> Example:
        """The reader's interests in plain words, named by their text (an embedding kept
        for one wording is never used for another)."""
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return cls(f"interests:{digest}", INTERESTS_TITLE, text)


@dataclass(frozen=True)
class Nearest:
    example: Example
    similarity: float


_Postings = dict[str, list[tuple[int, float]]]


class Similarity:
    """Nearest examples of each side (say "like" and "dislike") for the papers of `corpus`
    (paper id -> the word keys of its title and abstract)."""

    def __init__(
        self, sides: Mapping[str, Sequence[Example]], corpus: Mapping[str, Sequence[str]]
    ) -> None:
        self.sides = {name: list(examples) for name, examples in sides.items() if examples}
        self._counts = {paper_id: Counter(keys) for paper_id, keys in corpus.items()}
        for example in (e for examples in self.sides.values() for e in examples):
            self._counts[example.id] = Counter(Words.of(example.text).keys)
        frequency = Counter(chain.from_iterable(self._counts.values()))
        documents = len(self._counts)
        self._idf = {
            term: math.log((documents + 1) / (count + 1))
            for term, count in frequency.items()
            if count <= COMMON_SHARE * (documents + PRIOR_PAPERS) and _is_term(term)
        }
        self._postings = {name: self._index(examples) for name, examples in self.sides.items()}

    def _index(self, examples: list[Example]) -> _Postings:
        postings: _Postings = {}
        for index, example in enumerate(examples):
            terms, weights = self._weights(self._counts[example.id])
            norm = math.hypot(*weights) or 1.0
            for term, weight in zip(terms, weights, strict=True):
                postings.setdefault(term, []).append((index, weight / norm))
        return postings

    def _weights(self, counts: Counter[str]) -> tuple[list[str], list[float]]:
        """The terms in `counts` not left out as common, in the text's order, and their
        TF-IDF weights (computed in C: this runs for every paper)."""
        idf = self._idf
        terms = list(filter(idf.__contains__, counts))
        try:
            frequencies = list(map(_TERM_FREQUENCY.__getitem__, map(counts.__getitem__, terms)))
        except IndexError:  # a term more often than the table reaches
            frequencies = [1 + math.log(counts[term]) for term in terms]
        return terms, list(map(operator.mul, frequencies, map(idf.__getitem__, terms)))

    def nearest(self, paper_id: str) -> dict[str, Nearest]:
        """Per side, the example most like a paper of the corpus (by cosine similarity), if
        the paper shares any term with one. Summed in the text's order, so that every
        process gets the same digits (a set's order changes with string hashing)."""
        counts = self._counts.get(paper_id)
        if not counts:
            return {}
        terms, weights = self._weights(counts)
        norm = math.hypot(*weights) or 1.0
        found = {}
        for name, postings in self._postings.items():
            totals = [0.0] * len(self.sides[name])
            for shared, weight in zip(map(postings.get, terms, repeat(())), weights, strict=True):
                for index, example_weight in shared:
                    totals[index] += weight * example_weight
            best = totals.index(max(totals))
            if totals[best] > 0:
                similarity = min(1.0, totals[best] / norm)
                found[name] = Nearest(self.sides[name][best], round(similarity, 4))
        return found


class VectorSimilarity:
    """Nearest examples of each side by the cosine of unit vectors (embeddings), for papers
    and examples that have one in `vectors` (by paper or example id)."""

    def __init__(
        self, sides: Mapping[str, Sequence[Example]], vectors: Mapping[str, Sequence[float]]
    ) -> None:
        self.sides = {
            name: [(example, vectors[example.id]) for example in examples if example.id in vectors]
            for name, examples in sides.items()
        }
        self.vectors = vectors

    def nearest(self, paper_id: str) -> dict[str, Nearest]:
        vector = self.vectors.get(paper_id)
        if vector is None:
            return {}
        found = {}
        for name, examples in self.sides.items():
            if examples:
                example, cosine = max(
                    ((ex, sum(map(operator.mul, vector, other))) for ex, other in examples),
                    key=lambda pair: pair[1],
                )
                if cosine > 0:
                    found[name] = Nearest(example, round(min(1.0, cosine), 4))
        return found
