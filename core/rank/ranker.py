"""Score papers against keyword rules (`core.rank.rules`), followed authors and category
weights, and similarity to the reader's examples, with reasons.

Ranking papers weighs each keyword by how specific it is among the papers of the same
announcement day (see `specificity`): a word most papers use counts little, a rare one much.
"""

from __future__ import annotations

import math
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from core.code import code_digest
from core.config import RankConfig, Rule
from core.models import INTERESTS_TITLE, Hit, Paper, Score
from core.rank.rules import CompiledRule, Place, RuleIndex, first_hit
from core.rank.similarity import (
    PRIOR_PAPERS,
    Example,
    Nearest,
    Similarity,
    VectorSimilarity,
)
from core.rank.words import (
    Fields,
    TextField,
    fields_of,
)

_SCORING_MODULES = (
    "rank/ranker.py",
    "rank/rules.py",
    "rank/similarity.py",
    "rank/words.py",
    "rank/meaning.py",
)


def scoring_code() -> str:
    """A digest of what makes scores besides the configuration: the code of this module, the
    similarity and the word keys, and the stemmer's release. Stored scores made by other
    code are made again, as after changed rules."""
    return code_digest(_SCORING_MODULES, ("snowballstemmer", "wordllama"))


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
        keyword_places: list[Place] = [
            ("title", title, self.title_weight),
            ("abstract", abstract, self.abstract_weight),
        ]
        hits = [
            hit
            for rule in self.keywords.candidates((title, abstract))
            if (hit := first_hit(rule, keyword_places))
        ]
        vetoes = [
            hit
            for rule in self.exclude.candidates((title,))
            if (hit := first_hit(rule, [("title", title, self.exclude_weight)], as_written=True))
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
        day's `size` papers, the interests' and meaning's points added, then the likes' and
        dislikes' in the day's scale those make (`day_scale`)."""
        if self.specificity:
            keywords = {rule.name for rule in self.keywords.rules}
            counts = Counter(
                rule
                for paper_hits in hits
                for rule in {h.rule for h in paper_hits if _is_keyword_hit(h, keywords)}
            )
            hits = [_weighed(paper_hits, keywords, counts, size) for paper_hits in hits]
        if not self.examples.all():
            return self.examples.meaning_hits(papers, hits)
        nearest = self.examples.nearest(papers, keys)
        hits = [
            [*mine, *self.examples.interests_hits(found)]
            for mine, found in zip(hits, nearest, strict=True)
        ]
        hits = self.examples.meaning_hits(papers, hits)
        scale = day_scale(hits)
        return [
            [*mine, *self.examples.opinion_hits(found, scale)]
            for mine, found in zip(hits, nearest, strict=True)
        ]

    def rank(self, papers: Iterable[Paper], read: Fields | None = None) -> list[Paper]:
        """Papers with their scores set, best first, vetoed last (ties keep arXiv's order)."""
        papers = list(papers)
        scored = [
            paper.model_copy(update={"score": score})
            for paper, score in zip(papers, self.scores(papers, read=read), strict=True)
        ]
        return sorted(scored, key=sort_key)


MEANING_ABOVE = 0.5
"""Meaning adds points to papers this many standard deviations closer to the interests than
the day's mean, and more the closer they are: nothing to the many that are only as close as
any paper of the field."""
LIKES_TO_HALVE = 4
MIN_SIMILARITY = 0.03
"""A similarity below this comes from words most texts share: it adds nothing, and no line to
the explanation (on the graded day, 207 of 237 papers had such a line from the default
interests, 69 keep one; NDCG unchanged)."""


@dataclass(frozen=True)
class Examples:
    """What the reader told: liked and disliked papers, and their interests in plain words.
    Each ranked paper gains `interests_weight` times its similarity to the interests, and
    `weight` times its similarity to the nearest liked paper in the day's own scale
    (`day_scale`); it loses as much for the nearest disliked one. Interests and likes add
    up rather than compete for "nearest": a liked paper adds to what the interests say
    instead of standing in for them."""

    liked: Sequence[Example] = ()
    disliked: Sequence[Example] = ()
    weight: float = 0.0
    vectors: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """Embeddings of the papers and the examples by id: with them, similarity is their cosine
    instead of term statistics."""
    interests: Sequence[Example] = ()
    interests_weight: float = 0.0
    meaning: Mapping[str, float] = field(default_factory=dict)
    """Each paper's similarity by meaning to the interests (`core.rank.meaning`), by id."""
    meaning_weight: float = 0.0

    def all(self) -> list[Example]:
        return [*self.interests, *self.liked, *self.disliked]

    def nearest(
        self, papers: list[Paper], keys: dict[str, tuple[str, ...]]
    ) -> list[dict[str, Nearest]]:
        """For each of one day's `papers` (`keys`: their words' keys), the nearest interests,
        liked and disliked example by side."""
        sides = {"interests": self.interests, "like": self.liked, "dislike": self.disliked}
        similarity = (
            VectorSimilarity(sides, self.vectors) if self.vectors else Similarity(sides, keys)
        )
        return [similarity.nearest(paper.id) for paper in papers]

    def interests_hits(self, nearest: dict[str, Nearest]) -> list[Hit]:
        """A hit for the interests, `interests_weight` points at most."""
        return _nearest_hit(nearest.get("interests"), "like", self.interests_weight)

    def opinion_hits(self, nearest: dict[str, Nearest], scale: float) -> list[Hit]:
        """Hits for the nearest liked and disliked papers: `weight` times the similarity in
        the day's own `scale` (`day_scale`), so likes count as much beside a reader's many
        keywords as beside their interests alone."""
        points = self.weight * scale
        return [
            *_nearest_hit(nearest.get("like"), "like", points),
            *_nearest_hit(nearest.get("dislike"), "dislike", -points),
        ]

    def meaning_hits(self, papers: list[Paper], hits: list[list[Hit]]) -> list[list[Hit]]:
        """One day's `hits` with points for the papers closest in meaning to the interests:
        those more than MEANING_ABOVE standard deviations above the day's mean closeness,
        in the day's own scale (the spread of its scores so far, at least a point), times
        the weight, which halves by LIKES_TO_HALVE liked papers (likes say more precisely
        what the reader wants)."""
        closeness = [self.meaning.get(paper.id) for paper in papers]
        known = [value for value in closeness if value is not None]
        weight = self.meaning_weight / (1 + len(self.liked) / LIKES_TO_HALVE)
        spread = statistics.pstdev(known) if len(known) > 1 else 0.0
        if weight <= 0 or spread == 0:
            return hits
        mean = statistics.fmean(known)
        scale = weight * day_scale(hits)
        return [
            [*mine, _meaning_hit(scale * ((value - mean) / spread - MEANING_ABOVE), value)]
            if value is not None and (value - mean) / spread > MEANING_ABOVE
            else mine
            for mine, value in zip(hits, closeness, strict=True)
        ]


def day_scale(hits: Sequence[Sequence[Hit]]) -> float:
    """How far one day's scores spread (their standard deviation, at least a point): the unit
    meaning and likes are counted in, so they weigh alike against many keywords or few."""
    return max(statistics.pstdev([_total(h) for h in hits]), 1.0) if len(hits) > 1 else 1.0


def _nearest_hit(
    nearest: Nearest | None, opinion: Literal["like", "dislike"], weight: float
) -> list[Hit]:
    """A hit of `weight` times the similarity to the `nearest` example, where near enough to
    count and worth a hundredth of a point."""
    if nearest is None or nearest.similarity < MIN_SIMILARITY:
        return []
    points = round(weight * nearest.similarity, 2)
    if points == 0:
        return []
    return [
        Hit(
            rule=opinion,
            field=opinion,
            matched=nearest.example.title,
            points=points,
            similarity=nearest.similarity,
        )
    ]


def _meaning_hit(points: float, closeness: float) -> Hit:
    return Hit(
        rule="meaning",
        field="meaning",
        matched=INTERESTS_TITLE,
        points=round(points, 2),
        similarity=round(closeness, 3),
    )


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
