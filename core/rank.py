"""Score papers against keyword rules, followed authors and category weights, with reasons.

Matching is by whole words, case-insensitive, on word stems (Snowball, English): `Efficient`
finds `efficiency` and `efficiently`, `Quantization` finds `quantized`, `KV cache` finds
`KV caches`. All-caps words are acronyms, matched exactly (a plural `s` aside: `LLMs`).
Hyphenated and camelCase compounds are also read as separate words, so `MoE` finds `FlowMoE`
and `MoE-based`, `KV cache` finds `KV-cache` and `KVCache`. `RL` does not find `world`, and
`Training` does not find `constraining`. A trailing `*` makes the last word a prefix.

Ranking papers also weighs each keyword by how specific it is among the papers of the same
announcement day (see `specificity`): a word most papers use counts little, a rare one much.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import snowballstemmer

from core.config import RankConfig, Rule
from core.models import Hit, Paper, Score

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2,})")
_COMPOUND_INSIDE = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
_TOKEN = re.compile(r"[^\W_]+|\|")
_ACRONYM = re.compile(r"([0-9]*[A-Z][A-Z0-9]+)s?")
_STEMMER = snowballstemmer.stemmer("english")
_KEYS: dict[str, str] = {}
_MAX_CACHED_KEYS = 200_000
PRIOR_PAPERS = 100
"""Papers assumed to match no keyword, so a handful of papers cannot make a keyword look
common (and a keyword in every one of 3 papers still counts)."""


def word_key(word: str) -> str:
    """What a word matches as: an acronym (`LLM`, `LLMs`, `FP8`) exactly, anything else by
    its stem. Cached: a vocabulary is small, the stemmer slow (~30 us a word)."""
    key = _KEYS.get(word)
    if key is None:
        acronym = _ACRONYM.fullmatch(word)
        key = acronym.group(1).casefold() if acronym else _STEMMER.stemWord(word.casefold())
        if len(_KEYS) < _MAX_CACHED_KEYS:
            _KEYS[word] = key
    return key


@dataclass(frozen=True)
class _Words:
    """A text as words, their keys, and the set of keys (most rules are ruled out by it)."""

    words: tuple[str, ...]
    keys: tuple[str, ...]
    present: frozenset[str] = field(compare=False)

    @classmethod
    def of(cls, text: str) -> _Words:
        words = tuple(_TOKEN.findall(text))
        keys = tuple([_KEYS.get(word) or word_key(word) for word in words])
        return cls(words, keys, frozenset(keys))


@dataclass(frozen=True)
class _Field:
    """A title or abstract read both ways: as written, and with camelCase compounds split
    (`FlowMoE` -> `Flow MoE`; only its compounds, apart, which keeps this cheap)."""

    plain: _Words
    split: _Words | None

    @classmethod
    def of(cls, text: str) -> _Field:
        if not _COMPOUND_INSIDE.search(text):
            return cls(_Words.of(text), None)
        compounds = [word for word in text.split() if _COMPOUND_INSIDE.search(word)]
        split = _Words.of(" | ".join(_CAMEL_BOUNDARY.sub(" ", word) for word in compounds))
        return cls(_Words.of(text), split)


@dataclass(frozen=True)
class _Found:
    text: str
    exact: bool
    """Found as written (or its plural), not only as another form of the same stem."""


@dataclass(frozen=True)
class _Spelling:
    keys: tuple[str, ...]
    forms: tuple[str, ...]
    prefix: bool

    @classmethod
    def of(cls, text: str, prefix: bool) -> _Spelling:
        words = _TOKEN.findall(text)
        return cls(tuple(word_key(w) for w in words), tuple(w.casefold() for w in words), prefix)

    def find(self, text: _Words) -> _Found | None:
        size = len(self.keys)
        first = self.keys[0]
        if self.prefix and size == 1:
            starts = [n for n, key in enumerate(text.keys) if key.startswith(first)]
        elif first in text.present:
            starts = [n for n, key in enumerate(text.keys) if key == first]
        else:
            return None
        found = None
        for start in starts:
            if self._matches(text.keys[start : start + size]):
                words = text.words[start : start + size]
                found = _Found(" ".join(words), self._exact(words))
                if found.exact:
                    break
        return found

    def _matches(self, keys: tuple[str, ...]) -> bool:
        if len(keys) != len(self.keys) or keys[:-1] != self.keys[:-1]:
            return False
        return keys[-1] == self.keys[-1] or (self.prefix and keys[-1].startswith(self.keys[-1]))

    def _exact(self, words: tuple[str, ...]) -> bool:
        folded = [word.casefold() for word in words]
        if self.prefix:
            return all(w.startswith(form) for w, form in zip(folded, self.forms, strict=True))
        return all(
            w in (form, form + "s", form + "es") for w, form in zip(folded, self.forms, strict=True)
        )


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to match: the word keys of each of its spellings."""

    name: str
    weight: float
    spellings: tuple[_Spelling, ...]
    firsts: frozenset[str]
    """First keys of the spellings, or empty when one is a one-word prefix (scanned)."""

    @classmethod
    def compile(cls, rule: Rule) -> CompiledRule:
        spellings: dict[_Spelling, None] = {}
        for spelling in [rule.term, *rule.aliases]:
            prefix = spelling.endswith("*")
            text = spelling.rstrip("*")
            for variant in (text, _CAMEL_BOUNDARY.sub(" ", text)):
                if _TOKEN.search(variant):
                    spellings[_Spelling.of(variant, prefix)] = None
        prefixed = any(spelling.prefix and len(spelling.keys) == 1 for spelling in spellings)
        firsts = frozenset() if prefixed else frozenset(sp.keys[0] for sp in spellings)
        return cls(rule.term, rule.weight, tuple(spellings), firsts)

    def find(self, field: _Field) -> _Found | None:
        """This rule in the field, as written if it is there so, else in another form."""
        other = None
        for text in (field.plain, field.split):
            if text is not None and not (self.firsts and self.firsts.isdisjoint(text.present)):
                for spelling in self.spellings:
                    found = spelling.find(text)
                    if found and found.exact:
                        return found
                    other = other or found
        return other


_Place = tuple[Literal["title", "abstract"], _Field, float]


OTHER_FORM_WEIGHT = 0.5
"""A keyword found only as another form of its stem (`efficiency` for `Efficient`) is weaker
evidence than the word as written; it counts this much."""


def _first_hit(rule: CompiledRule, places: Sequence[_Place]) -> Hit | None:
    """The rule's hit in the first place it matches (title before abstract), worth
    `rule.weight` times that place's weight (times OTHER_FORM_WEIGHT if not as written)."""
    for place, text, weight in places:
        if found := rule.find(text):
            points = rule.weight * weight * (1.0 if found.exact else OTHER_FORM_WEIGHT)
            return Hit(rule=rule.name, field=place, matched=found.text, points=points)
    return None


def _fold(name: str) -> str:
    """Case- and accent-insensitive form of a name: 'Dénes' and 'denes' compare equal."""
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join(
        "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split()
    )


class Ranker:
    """Scores papers with one configuration; build once, score many."""

    def __init__(
        self,
        keywords: Iterable[Rule],
        *,
        title_weight: float = 1.5,
        abstract_weight: float = 1.0,
        exclude: Iterable[Rule] = (),
        exclude_weight: float = 0.0,
        authors: Iterable[str] = (),
        author_weight: float = 0.0,
        category_weights: dict[str, float] | None = None,
        specificity: bool = True,
    ) -> None:
        self.keywords = [CompiledRule.compile(rule) for rule in keywords]
        self.exclude = [CompiledRule.compile(rule) for rule in exclude]
        self.title_weight = title_weight
        self.abstract_weight = abstract_weight
        self.exclude_weight = exclude_weight
        self.authors = {_fold(name): name for name in authors}
        self.author_weight = author_weight
        self.category_weights = category_weights or {}
        self.specificity = specificity

    @classmethod
    def from_config(cls, config: RankConfig) -> Ranker:
        return cls(
            config.keywords,
            title_weight=config.title_weight,
            abstract_weight=config.abstract_weight,
            exclude=config.exclude,
            exclude_weight=config.exclude_weight,
            authors=config.authors,
            author_weight=config.author_weight,
            category_weights=config.category_weights,
            specificity=config.specificity,
        )

    def score(self, paper: Paper) -> Score:
        title, abstract = _Field.of(paper.title), _Field.of(paper.abstract)
        keyword_places: list[_Place] = [
            ("title", title, self.title_weight),
            ("abstract", abstract, self.abstract_weight),
        ]
        hits = [hit for rule in self.keywords if (hit := _first_hit(rule, keyword_places))]
        vetoes = [
            hit
            for rule in self.exclude
            if (hit := _first_hit(rule, [("title", title, self.exclude_weight)]))
        ]
        vetoed_by = vetoes[0].rule if vetoes and self.exclude_weight == 0 else None
        hits.extend(vetoes)
        hits.extend(self._author_hits(paper.authors))
        for category in paper.categories:
            if category in self.category_weights:
                hits.append(
                    Hit(
                        rule=category,
                        field="category",
                        matched=category,
                        points=self.category_weights[category],
                    )
                )
        total = round(sum(hit.points for hit in hits), 2)
        return Score(total=total, hits=hits, vetoed_by=vetoed_by)

    def _author_hits(self, authors: Sequence[str]) -> list[Hit]:
        if not self.authors:
            return []
        hits = []
        for author in authors:
            folded = f" {_fold(author)} "
            for followed, name in self.authors.items():
                if f" {followed} " in folded:
                    hits.append(
                        Hit(rule=name, field="author", matched=author, points=self.author_weight)
                    )
        return hits

    def scores(self, papers: Sequence[Paper]) -> list[Score]:
        """Each paper's score, every keyword weighed (unless turned off) by its specificity
        among the papers announced the same day: a day's scores stay as they are when later
        days arrive, so feeds that a new day leaves alone keep their bytes."""
        scores = [self.score(paper) for paper in papers]
        if not self.specificity:
            return scores
        keywords = {rule.name for rule in self.keywords}
        counts: dict[date, Counter[str]] = defaultdict(Counter)
        sizes = Counter(paper.day for paper in papers)
        for paper, score in zip(papers, scores, strict=True):
            counts[paper.day].update({hit.rule for hit in _keyword_hits(score, keywords)})
        return [
            _weighed(score, keywords, counts[paper.day], sizes[paper.day])
            for paper, score in zip(papers, scores, strict=True)
        ]

    def rank(self, papers: Iterable[Paper]) -> list[Paper]:
        """Papers with their scores set, best first, vetoed last (ties keep arXiv's order)."""
        papers = list(papers)
        scored = [
            paper.model_copy(update={"score": score})
            for paper, score in zip(papers, self.scores(papers), strict=True)
        ]
        return sorted(scored, key=sort_key)


def specificity(matching: int, papers: int) -> float:
    """What a keyword found in `matching` of `papers` is worth per point of its weight: an
    inverse document frequency, log10, with PRIOR_PAPERS that match nothing. In 10% of a
    day's papers it is worth about 1, in 30% about 0.6, in 1% about 2."""
    return math.log10((papers + PRIOR_PAPERS) / (matching + 1))


def _keyword_hits(score: Score, keywords: set[str]) -> list[Hit]:
    return [h for h in score.hits if h.field in ("title", "abstract") and h.rule in keywords]


def _weighed(score: Score, keywords: set[str], counts: Counter[str], papers: int) -> Score:
    hits = [
        hit.model_copy(
            update={
                "points": round(hit.points * specificity(counts[hit.rule], papers), 2),
                "among": (counts[hit.rule], papers),
            }
        )
        if hit in _keyword_hits(score, keywords) and hit.points > 0
        else hit
        for hit in score.hits
    ]
    return score.model_copy(update={"hits": hits, "total": round(sum(h.points for h in hits), 2)})


def sort_key(paper: Paper) -> tuple[bool, float]:
    """Best first; vetoed papers last whatever their score."""
    return (paper.score.vetoed_by is not None, -paper.score.total)


def combine(base: Score, extra: Score) -> Score:
    """A stored score plus the score of ad-hoc query terms."""
    return Score(
        total=round(base.total + extra.total, 2),
        hits=[*base.hits, *extra.hits],
        vetoed_by=base.vetoed_by or extra.vetoed_by,
    )
