"""Score papers against keyword rules, followed authors and category weights, with reasons.

Matching is case-insensitive and by whole words. Hyphenated and camelCase compounds are also
read as separate words, so `MoE` finds `FlowMoE` and `MoE-based`, `KV cache` finds `KV-cache`,
and the last word of a term may be plural (`KV caches`). `RL` does not find `world`, and
`Training` does not find `constraining`. A trailing `*` makes the last word a prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from core.config import RankConfig, Rule
from core.models import Hit, Paper, Score

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2,})")
_COMPOUND_INSIDE = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
_SEPARATORS = re.compile(r"[\s\-_/]+")


def _plain(text: str) -> str:
    return _SEPARATORS.sub(" ", text).casefold()


def _compounds_split(text: str) -> str:
    return _plain(_CAMEL_BOUNDARY.sub(" ", text))


@dataclass(frozen=True)
class _Field:
    """A title or abstract read both ways: as written, and its camelCase compounds split.

    Only the compounds are split (`FlowMoE` -> `flow moe`), which keeps this cheap.
    """

    plain: str
    split: str

    @classmethod
    def of(cls, text: str) -> _Field:
        compounds = [
            word for word in text.split() if not word.islower() and _COMPOUND_INSIDE.search(word)
        ]
        return cls(_plain(text), " | ".join(_compounds_split(word) for word in compounds))


def _term_pattern(words: Sequence[str], prefix: bool) -> str:
    """Starts with a literal so the regex engine can scan fast; the word boundary before the
    match is checked by `CompiledRule.find`."""
    *leading, last = words
    tail = re.escape(last) + (r"\w*" if prefix else r"(?:e?s)?")
    return "".join(re.escape(word) + " " for word in leading) + tail + r"(?!\w)"


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to match: one regex over all spellings, and the literals that must occur."""

    name: str
    weight: float
    pattern: re.Pattern[str]
    literals: tuple[str, ...]

    @classmethod
    def compile(cls, rule: Rule) -> CompiledRule:
        patterns: dict[str, None] = {}
        literals: dict[str, None] = {}
        for spelling in [rule.term, *rule.aliases]:
            prefix = spelling.endswith("*")
            text = spelling.rstrip("*")
            for words in {tuple(_plain(text).split()), tuple(_compounds_split(text).split())}:
                if words:
                    patterns[_term_pattern(words, prefix)] = None
                    literals[max(words, key=len)] = None
        return cls(rule.term, rule.weight, re.compile("|".join(patterns)), tuple(literals))

    def find(self, field: _Field) -> str | None:
        """The first spelling of this rule found in the field, if any."""
        for text in (field.plain, field.split):
            if any(literal in text for literal in self.literals):
                for match in self.pattern.finditer(text):
                    start = match.start()
                    if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
                        return match.group()
        return None


_Place = tuple[Literal["title", "abstract"], _Field, float]


def _first_hit(rule: CompiledRule, places: Sequence[_Place]) -> Hit | None:
    """The rule's hit in the first place it matches (title before abstract), worth
    `rule.weight` times that place's weight."""
    for field, text, weight in places:
        if found := rule.find(text):
            return Hit(rule=rule.name, field=field, matched=found, points=rule.weight * weight)
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
    ) -> None:
        self.keywords = [CompiledRule.compile(rule) for rule in keywords]
        self.exclude = [CompiledRule.compile(rule) for rule in exclude]
        self.title_weight = title_weight
        self.abstract_weight = abstract_weight
        self.exclude_weight = exclude_weight
        self.authors = {_fold(name): name for name in authors}
        self.author_weight = author_weight
        self.category_weights = category_weights or {}

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

    def rank(self, papers: Iterable[Paper]) -> list[Paper]:
        """Papers with their scores set, best first, vetoed last (ties keep arXiv's order)."""
        scored = [paper.model_copy(update={"score": self.score(paper)}) for paper in papers]
        return sorted(scored, key=sort_key)


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
