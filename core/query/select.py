"""Which papers a feed holds: the configured feeds and the one filter they all go through."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import NamedTuple

from core.arxiv import listed_under
from core.config import NamedFeed, Settings
from core.models import FeedSpec, Paper
from core.rank.ranker import sort_key


def configured_feeds(settings: Settings) -> dict[str, FeedSpec]:
    """Every feed the configuration defines, by its URL name.

    Category feeds list every paper announced in the category (vetoed ones last), so nothing
    announced is lost; `all`, keyword and named feeds hold only what the rules let through.
    """
    days, limit = settings.feeds.days, settings.feeds.max_items
    feeds: dict[str, FeedSpec] = {
        category: FeedSpec(
            name=category,
            title=f"arXiv {category}, ranked",
            description=f"Every paper announced in {category}, best-scoring first.",
            categories=[category],
            include_vetoed=True,
            days=days,
            limit=limit,
        )
        for category in settings.arxiv.categories
    }
    feeds["all"] = FeedSpec(
        name="all",
        title="arXiv: papers that match your keywords",
        description=f"Papers in {', '.join(settings.arxiv.categories)} scoring at least "
        f"{settings.rank.min_score:g}.",
        min_score=settings.rank.min_score,
        days=days,
        limit=limit,
    )
    for rule in settings.rank.keywords:
        feeds[f"keyword/{rule.slug}"] = FeedSpec(
            name=f"keyword/{rule.slug}",
            title=f"arXiv: {rule.term}",
            description=f"Papers in {', '.join(settings.arxiv.categories)} that mention "
            f"{rule.term}.",
            rules=[rule.term],
            days=days,
            limit=limit,
        )
    for name, named in settings.feeds.named.items():
        feeds[name] = _named_feed(settings, name, named)
    return feeds


def _named_feed(settings: Settings, name: str, named: NamedFeed) -> FeedSpec:
    """A `[feeds.NAME]` table's feed; its keywords as the rules spell them."""
    terms = {rule.term.casefold(): rule.term for rule in settings.rank.keywords}
    return FeedSpec(
        name=name,
        title=named.title or f"arXiv: {name}",
        description=f"The '{name}' feed of this arxiv-feeds deployment.",
        categories=named.categories,
        rules=[terms[term.casefold()] for term in named.keywords],
        min_score=settings.rank.min_score if named.min_score is None else named.min_score,
        types=named.types,
        days=named.days or settings.feeds.days,
        limit=named.limit or settings.feeds.max_items,
    )


def select(papers: list[Paper], spec: FeedSpec) -> list[Paper]:
    """The papers of `spec`: its latest `days` announcement days, newest day first, best score
    first within a day, at most `limit`."""
    return select_all(papers, {spec.name: spec})[spec.name]


def feed_order(papers: list[Paper]) -> list[Paper]:
    """Newest day first, best score first within a day, vetoed last (ties keep their order)."""
    return sorted(papers, key=lambda paper: (-paper.day.toordinal(), *sort_key(paper)))


class _Listed(NamedTuple):
    """A paper with what the filters read of it, each made once for every feed."""

    paper: Paper
    day: date
    listings: frozenset[str]
    """Its categories and their archives (`cs.LG`, `cs`): where a filter finds it."""
    rules: frozenset[str]


def select_all(papers: list[Paper], specs: Mapping[str, FeedSpec]) -> dict[str, list[Paper]]:
    """Each spec's papers (see `select`): the papers put in feed order once, then each spec
    takes those that pass its filters, up to its limit, looking only at the papers listed
    under its categories or matching its rules (one feed per category: most specs hold a
    small part of the papers)."""
    days = sorted({paper.day for paper in papers}, reverse=True)
    listed = [
        _Listed(paper, paper.day, listed_under(paper.categories), frozenset(paper.score.rules))
        for paper in feed_order(papers)
    ]
    under: dict[str, list[int]] = defaultdict(list)
    matching: dict[str, list[int]] = defaultdict(list)
    for position, entry in enumerate(listed):
        for listing in entry.listings:
            under[listing].append(position)
        for rule in entry.rules:
            matching[rule].append(position)
    return {
        name: _selected(
            [listed[i] for i in _candidates(spec, under, matching, len(listed))],
            set(days[: spec.days]),
            spec,
        )
        for name, spec in specs.items()
    }


def _candidates(
    spec: FeedSpec, under: dict[str, list[int]], matching: dict[str, list[int]], count: int
) -> Iterable[int]:
    """The positions (in feed order) of the papers listed under `spec`'s categories, else
    of those matching its rules, else of all; `_selected` applies every filter to them."""
    names, positions = (spec.categories, under) if spec.categories else (spec.rules, matching)
    if not names:
        return range(count)
    return sorted({i for name in names for i in positions.get(name, ())})


def _selected(listed: list[_Listed], days: set[date], spec: FeedSpec) -> list[Paper]:
    chosen: list[Paper] = []
    for paper, day, listings, rules in listed:
        if len(chosen) >= spec.limit:
            break
        if day not in days or (spec.rules and rules.isdisjoint(spec.rules)):
            continue
        if spec.categories and listings.isdisjoint(spec.categories):
            continue
        if (
            (not spec.types or paper.announce_type in spec.types)
            and (spec.include_vetoed or paper.score.vetoed_by is None)
            and (spec.min_score is None or paper.score.total >= spec.min_score)
        ):
            chosen.append(paper)
    return chosen
