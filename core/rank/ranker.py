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

import contextlib
import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from core.code import code_digest
from core.config import RankConfig, Rule
from core.models import Hit, Paper, Score
from core.rank.similarity import PRIOR_PAPERS, Example, Similarity, VectorSimilarity
from core.rank.words import (
    CAMEL_BOUNDARY,
    TOKEN,
    Fields,
    TextField,
    Words,
    fields_of,
    word_key,
)

_SCORING_MODULES = ("rank/ranker.py", "rank/similarity.py", "rank/words.py")


def scoring_code() -> str:
    """A digest of what makes scores besides the configuration: the code of this module, the
    similarity and the word keys, and the stemmer's release. Stored scores made by other
    code are made again, as after changed rules."""
    return code_digest(_SCORING_MODULES, ("snowballstemmer",))


@dataclass(frozen=True)
class _Found:
    text: str
    exact: bool
    """Found as written (or its plural), not only as another form of the same stem."""


def _positions(keys: tuple[str, ...], key: str) -> list[int]:
    """Where `key` is in `keys` (found by tuple.index, in C: this runs for most rules and
    papers)."""
    found: list[int] = []
    with contextlib.suppress(ValueError):
        while True:
            found.append(keys.index(key, found[-1] + 1 if found else 0))
    return found


@dataclass(frozen=True)
class _Spelling:
    keys: tuple[str, ...]
    forms: tuple[str, ...]
    prefix: bool

    @classmethod
    def of(cls, text: str, prefix: bool) -> _Spelling:
        words = TOKEN.findall(text)
        return cls(tuple(word_key(w) for w in words), tuple(w.casefold() for w in words), prefix)

    def find(self, text: Words) -> _Found | None:
        size = len(self.keys)
        first = self.keys[0]
        if self.prefix and size == 1:
            starts = [n for n, key in enumerate(text.keys) if key.startswith(first)]
        elif first in text.present:
            starts = _positions(text.keys, first)
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
            for variant in (text, CAMEL_BOUNDARY.sub(" ", text)):
                if TOKEN.search(variant):
                    spellings[_Spelling.of(variant, prefix)] = None
        prefixed = any(spelling.prefix and len(spelling.keys) == 1 for spelling in spellings)
        firsts = frozenset() if prefixed else frozenset(sp.keys[0] for sp in spellings)
        return cls(rule.term, rule.weight, tuple(spellings), firsts)

    def key_sets(self) -> list[tuple[tuple[str, ...], bool]]:
        """Each spelling's word keys, and whether its last word is a prefix."""
        return [(spelling.keys, spelling.prefix) for spelling in self.spellings]

    def find(self, field: TextField) -> _Found | None:
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


@dataclass(frozen=True)
class RuleIndex:
    """Rules in their configured order, indexed by the first word key of each spelling: a text
    is tried only against the rules whose first word it holds (a paper holds few), and those
    with a one-word prefix spelling (which no key names)."""

    rules: tuple[CompiledRule, ...]
    by_first: dict[str, tuple[int, ...]]
    firsts: frozenset[str]
    scanned: frozenset[int]

    @classmethod
    def of(cls, rules: Iterable[CompiledRule]) -> RuleIndex:
        ordered = tuple(rules)
        by_first: dict[str, list[int]] = defaultdict(list)
        for number, rule in enumerate(ordered):
            for key in rule.firsts:
                by_first[key].append(number)
        scanned = frozenset(number for number, rule in enumerate(ordered) if not rule.firsts)
        indexed = {key: tuple(numbers) for key, numbers in by_first.items()}
        return cls(ordered, indexed, frozenset(indexed), scanned)

    def candidates(self, fields: Iterable[TextField]) -> list[CompiledRule]:
        numbers = set(self.scanned)
        for field_ in fields:
            for text in (field_.plain, field_.split):
                if text is not None:
                    for key in self.firsts & text.present:
                        numbers.update(self.by_first[key])
        return [self.rules[number] for number in sorted(numbers)]


_Place = tuple[Literal["title", "abstract"], TextField, float]


OTHER_FORM_WEIGHT = 0.5
"""A keyword found only as another form of its stem (`efficiency` for `Efficient`) is weaker
evidence than the word as written; it counts this much."""


def _first_hit(
    rule: CompiledRule, places: Sequence[_Place], *, as_written: bool = False
) -> Hit | None:
    """The rule's hit in the first place it matches (title before abstract), worth
    `rule.weight` times that place's weight (times OTHER_FORM_WEIGHT if not as written).
    `as_written`: only the word as written (or its plural) counts, not another form of its
    stem: an exclude rule `survey` vetoes "A survey of" and "Surveys", not "Surveying"."""
    for place, text, weight in places:
        if (found := rule.find(text)) and (found.exact or not as_written):
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
        examples: Examples | None = None,
    ) -> None:
        self.keywords = RuleIndex.of(CompiledRule.compile(rule) for rule in keywords)
        self.exclude = RuleIndex.of(CompiledRule.compile(rule) for rule in exclude)
        self.title_weight = title_weight
        self.abstract_weight = abstract_weight
        self.exclude_weight = exclude_weight
        self.authors = {_fold(name): name for name in authors}
        self.author_weight = author_weight
        self.category_weights = category_weights or {}
        self.specificity = specificity
        self.examples = examples or Examples()

    @classmethod
    def from_config(cls, config: RankConfig, examples: Examples | None = None) -> Ranker:
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
            examples=examples,
        )

    def score(self, paper: Paper) -> Score:
        return self._score(paper, TextField.of(paper.title), TextField.of(paper.abstract))

    def _score(self, paper: Paper, title: TextField, abstract: TextField) -> Score:
        hits, vetoed_by = self._hits(paper, title, abstract)
        return Score(total=_total(hits), hits=hits, vetoed_by=vetoed_by)

    def _hits(
        self, paper: Paper, title: TextField, abstract: TextField
    ) -> tuple[list[Hit], str | None]:
        """The paper's rule hits before they are weighed, and the exclude rule vetoing it."""
        keyword_places: list[_Place] = [
            ("title", title, self.title_weight),
            ("abstract", abstract, self.abstract_weight),
        ]
        hits = [
            hit
            for rule in self.keywords.candidates((title, abstract))
            if (hit := _first_hit(rule, keyword_places))
        ]
        vetoes = [
            hit
            for rule in self.exclude.candidates((title,))
            if (hit := _first_hit(rule, [("title", title, self.exclude_weight)], as_written=True))
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
        return hits, vetoed_by

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

    def scores(
        self,
        papers: Sequence[Paper],
        day_sizes: Mapping[date, int] | None = None,
        read: Fields | None = None,
    ) -> list[Score]:
        """Each paper's score, weighed among the papers announced the same day: keywords by
        their specificity (unless turned off), and similarity to the examples. A day's scores
        stay as they are when later days arrive, so feeds a new day leaves alone keep their
        bytes. `day_sizes`: how many papers each day has, when `papers` holds only those of
        them that can match (the others match no keyword, so the counts stay exact). `read`:
        the papers' texts already read into words."""
        known = read if read is not None else fields_of(papers)
        fields = [known[paper.id] for paper in papers]
        found = [self._hits(paper, *field) for paper, field in zip(papers, fields, strict=True)]
        days: dict[date, list[int]] = defaultdict(list)
        for index, paper in enumerate(papers):
            days[paper.day].append(index)
        weighed: dict[int, list[Hit]] = {}
        for indices in days.values():
            day = [papers[i] for i in indices]
            keys = {
                papers[i].id: fields[i][0].plain.keys + fields[i][1].plain.keys for i in indices
            }
            size = (day_sizes or {}).get(day[0].day, len(day))
            hits = self._weigh_day(day, [found[i][0] for i in indices], keys, size)
            weighed.update(zip(indices, hits, strict=True))
        return [
            Score(total=_total(weighed[index]), hits=weighed[index], vetoed_by=vetoed_by)
            for index, (_, vetoed_by) in enumerate(found)
        ]

    def _weigh_day(
        self,
        papers: list[Paper],
        hits: list[list[Hit]],
        keys: dict[str, tuple[str, ...]],
        size: int,
    ) -> list[list[Hit]]:
        """Each paper's hits of one day: keywords weighed by their specificity among the
        day's `size` papers, and the nearest examples' hits added."""
        if self.specificity:
            keywords = {rule.name for rule in self.keywords.rules}
            counts = Counter(
                rule
                for paper_hits in hits
                for rule in {h.rule for h in paper_hits if _is_keyword_hit(h, keywords)}
            )
            hits = [_weighed(paper_hits, keywords, counts, size) for paper_hits in hits]
        if self.examples.all():
            nearest = self.examples.nearest_hits(papers, keys)
            hits = [[*mine, *added] for mine, added in zip(hits, nearest, strict=True)]
        return hits

    def rank(self, papers: Iterable[Paper], read: Fields | None = None) -> list[Paper]:
        """Papers with their scores set, best first, vetoed last (ties keep arXiv's order)."""
        papers = list(papers)
        scored = [
            paper.model_copy(update={"score": score})
            for paper, score in zip(papers, self.scores(papers, read=read), strict=True)
        ]
        return sorted(scored, key=sort_key)


MIN_SIMILARITY = 0.03
"""A similarity below this comes from words most texts share: it adds nothing, and no line to
the explanation (on the graded day, 207 of 237 papers had such a line from the default
interests, 69 keep one; NDCG unchanged)."""


@dataclass(frozen=True)
class Examples:
    """What the reader told: liked and disliked papers, and their interests in plain words.
    Each ranked paper gains `weight` times its similarity to the nearest liked paper, loses
    as much for the nearest disliked one, and gains `interests_weight` times its similarity
    to the interests. Interests and likes add up rather than compete for "nearest": a liked
    paper adds to what the interests say instead of standing in for them."""

    liked: Sequence[Example] = ()
    disliked: Sequence[Example] = ()
    weight: float = 0.0
    vectors: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """Embeddings of the papers and the examples by id: with them, similarity is their cosine
    instead of term statistics."""
    interests: Sequence[Example] = ()
    interests_weight: float = 0.0

    def all(self) -> list[Example]:
        return [*self.interests, *self.liked, *self.disliked]

    def nearest_hits(
        self, papers: list[Paper], keys: dict[str, tuple[str, ...]]
    ) -> list[list[Hit]]:
        """For each of one day's `papers` (`keys`: their words' keys), a hit for the nearest
        interests, liked and disliked example, where near enough to count."""
        sides = {"interests": self.interests, "like": self.liked, "dislike": self.disliked}
        similarity = (
            VectorSimilarity(sides, self.vectors) if self.vectors else Similarity(sides, keys)
        )
        signs: dict[str, tuple[Literal["like", "dislike"], float]] = {
            "interests": ("like", self.interests_weight),
            "like": ("like", self.weight),
            "dislike": ("dislike", -self.weight),
        }
        added = []
        for paper in papers:
            hits = []
            found = similarity.nearest(paper.id)
            for side, (opinion, sign) in signs.items():
                nearest = found.get(side)
                if nearest is None or nearest.similarity < MIN_SIMILARITY:
                    continue
                points = round(sign * nearest.similarity, 2)
                if points != 0:
                    hits.append(
                        Hit(
                            rule=opinion,
                            field=opinion,
                            matched=nearest.example.title,
                            points=points,
                            similarity=nearest.similarity,
                        )
                    )
            added.append(hits)
        return added


def specificity(matching: int, papers: int) -> float:
    """What a keyword found in `matching` of `papers` is worth per point of its weight: an
    inverse document frequency, log10, with PRIOR_PAPERS that match nothing. In 10% of a
    day's papers it is worth about 1, in 30% about 0.6, in 1% about 2."""
    return math.log10((papers + PRIOR_PAPERS) / (matching + 1))


def _is_keyword_hit(hit: Hit, keywords: set[str]) -> bool:
    return hit.field in ("title", "abstract") and hit.rule in keywords


def _weighed(hits: list[Hit], keywords: set[str], counts: Counter[str], papers: int) -> list[Hit]:
    return [
        hit.model_copy(
            update={
                "points": round(hit.points * specificity(counts[hit.rule], papers), 2),
                "among": (counts[hit.rule], papers),
            }
        )
        if hit.points > 0 and _is_keyword_hit(hit, keywords)
        else hit
        for hit in hits
    ]


def _total(hits: Iterable[Hit]) -> float:
    """The hits' points summed, to the hundredth; a float even with no hits (an int would
    write `0` in feeds where the stored score, read back, writes `0.0`)."""
    return round(sum((hit.points for hit in hits), 0.0), 2)


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
