"""The reader's model for one refresh: their opinions (configured and given through feeds),
the examples those papers and the interests text make, and the window of days ranked with
them, reusing the stored scores of held days when nothing they depend on changed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from datetime import date
from typing import NamedTuple

from core.config import Settings
from core.ingest import ArxivError
from core.models import Opinion, Paper
from core.rank.embeddings import Embedder, EmbeddingError
from core.rank.ranker import Examples, Ranker, scoring_code
from core.rank.similarity import Example
from core.rank.words import Fields, fields_of
from core.store import Caches, Store

Lookup = Callable[[list[str]], list[Paper]]
"""Papers by arXiv id from outside the store (the export API), for liked papers."""


def opinions(settings: Settings, store: Store) -> dict[str, Opinion]:
    """`rank.like` and `rank.dislike`, then the feedback in the store (newer, so it wins)."""
    configured: dict[str, Opinion] = dict.fromkeys(settings.rank.dislike, "dislike")
    configured.update(dict.fromkeys(settings.rank.like, "like"))
    return {**configured, **store.likes()}


def ranking_fingerprint(settings: Settings, wanted: dict[str, Opinion]) -> str:
    """What the stored scores depend on besides the papers: the rules, the opinions and the
    code that scores."""
    state = json.dumps([settings.rank.model_dump(mode="json"), wanted, scoring_code()])
    return hashlib.sha256(state.encode()).hexdigest()[:16]


class Resolved(NamedTuple):
    examples: Examples
    not_found: list[str]
    """Ids of liked or disliked papers found nowhere."""
    new: list[str]
    """Ids of liked or disliked papers the store kept for the first time."""


def interests_examples(settings: Settings) -> list[Example]:
    """The reader's interests as an example, when they wrote any."""
    text = settings.rank.interests
    return [Example.interests(text)] if text.strip() else []


def resolve_examples(
    settings: Settings,
    store: Store,
    wanted: dict[str, Opinion],
    ranked: list[Paper],
    lookup: Lookup | None,
) -> Resolved:
    """The papers of the `wanted` opinions (kept for good in the store once seen) and the
    interests text."""
    known = {paper.id: paper for paper in store.examples(list(wanted))}
    in_window = {paper.id: paper for paper in ranked if paper.id in wanted}
    missing = [i for i in wanted if i not in known and i not in in_window]
    found = {paper.id: paper for paper in store.papers(missing)}
    missing = [i for i in missing if i not in found]
    if missing and lookup is not None:
        with suppress(ArxivError):  # reported as not found; the next refresh asks again
            found.update({paper.id: paper for paper in lookup(missing) if paper.id in wanted})
    new = [paper for i, paper in {**in_window, **found}.items() if i not in known]
    if new:
        store.put_examples(new)
    papers = {**in_window, **found, **known}
    liked = [Example.of(papers[i]) for i, o in wanted.items() if o == "like" and i in papers]
    disliked = [Example.of(papers[i]) for i, o in wanted.items() if o == "dislike" and i in papers]
    examples = Examples(
        liked,
        disliked,
        settings.rank.like_weight,
        interests=interests_examples(settings),
        interests_weight=settings.rank.interests_weight,
    )
    return Resolved(examples, [i for i in wanted if i not in papers], [p.id for p in new])


def embedded(
    settings: Settings, examples: Examples, papers: list[Paper], embedder: Embedder | None
) -> tuple[Examples, str]:
    """`examples` with the embeddings of the papers and of the examples themselves, when an
    embedder is set and there is something to compare with; else as they are. The second
    value is the report's note when embeddings are on but unused (likes then fall back to
    term similarity)."""
    if not settings.rank.embeddings or not examples.all():
        return examples, ""
    if embedder is None:
        return examples, "; embeddings off (no LLM key here), likes by term similarity"
    texts = {paper.id: Example.of(paper).text for paper in papers}
    texts.update({example.id: example.text for example in examples.all()})
    try:
        vectors = embedder.vectors(texts)
    except EmbeddingError as error:
        return examples, f"; embeddings failed, likes by term similarity: {error}"
    return replace(examples, vectors=vectors), ""


def with_meaning(
    settings: Settings, store: Caches | None, examples: Examples, papers: list[Paper]
) -> tuple[Examples, str]:
    """`examples` with each paper's similarity by meaning to the reader's interests
    (`core.rank.meaning`), unless `rank.meaning_weight` is 0 or the reader wrote nothing to
    compare with; the second value is the report's note when the model failed."""
    from core.rank.meaning import MeaningError, closeness, compared_with  # refresh only

    text, _ = compared_with(settings.rank)
    if settings.rank.meaning_weight == 0 or not text or not papers:
        return examples, ""

    try:
        found = closeness(papers, text, store)
    except MeaningError as error:
        return examples, f"; ranked without meaning: {error}"
    return replace(examples, meaning=found, meaning_weight=settings.rank.meaning_weight), ""


def _held_scores_stand(settings: Settings, store: Store, ranking: str, resolved: Resolved) -> bool:
    """Whether the days a store holds keep their stored scores: the last report says they
    were made with the same rules, opinions and code, every liked or disliked paper was
    already kept (so it was an example when they were made), and likes go by term
    similarity (embeddings some papers lacked then may be there now). A day's scores
    depend on nothing else but its own papers (`Ranker.scores`)."""
    last = store.last_report()
    return (
        last is not None
        and last.ranking == ranking
        and not resolved.not_found
        and not resolved.new
        and not settings.rank.embeddings
    )


class Ranked(NamedTuple):
    papers: list[Paper]
    """The window's papers scored: the ranked ones best first, then the kept days'."""
    read: Fields
    """The ranked papers' words."""
    kept: set[date]
    """Held days whose stored scores stand (`_held_scores_stand`)."""
    ranking: str
    notes: str
    """For the report: liked papers not found, embeddings unused."""


def rank_window(
    settings: Settings,
    store: Store,
    fresh: list[Paper],
    days: dict[date, list[str]],
    window: dict[date, list[str]],
    lookup: Lookup | None = None,
    embedder: Embedder | None = None,
) -> Ranked:
    """The fresh papers ranked with those of the held days of the `window` (day -> ids)
    whose stored scores do not stand; liked papers the store lacks come from `lookup`,
    embeddings from `embedder` (None: term similarity)."""
    fresh_ids = {paper.id for paper in fresh}
    held = store.papers([i for ids in window.values() for i in ids if i not in fresh_ids])
    window_papers = [*fresh, *held]
    wanted = opinions(settings, store)
    resolved = resolve_examples(settings, store, wanted, window_papers, lookup)
    examples, notes = embedded(settings, resolved.examples, window_papers, embedder)
    if resolved.not_found:
        missing = ", ".join(resolved.not_found[:10])
        notes = f"; liked or disliked papers not found: {missing}{notes}"
    ranking = ranking_fingerprint(settings, wanted)
    kept: set[date] = set()
    if _held_scores_stand(settings, store, ranking, resolved):
        # not a day that lost a paper to a fresh announcement (its replacement): a day's
        # scores depend on all its papers
        kept = {d for d, ids in window.items() if d not in days and fresh_ids.isdisjoint(ids)}
    to_rank = [*fresh, *(p for p in held if p.day not in kept)]
    examples, meaning_note = with_meaning(settings, store, examples, to_rank)
    read = fields_of(to_rank)  # once, for ranking and for the day indexes
    papers = Ranker.from_config(settings.rank, examples).rank(to_rank, read)
    papers.extend(p for p in held if p.day in kept)  # in stored order: their ranked order
    return Ranked(papers, read, kept, ranking, notes + meaning_note)
