"""Which papers a feed holds: the configured feeds and the one filter they all go through."""

from __future__ import annotations

from core.config import Settings, covered
from core.models import FeedSpec, Paper
from core.rank import sort_key


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
    terms = {rule.term.casefold(): rule.term for rule in settings.rank.keywords}
    for name, named in settings.feeds.named.items():
        feeds[name] = FeedSpec(
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
    return feeds


def select(papers: list[Paper], spec: FeedSpec) -> list[Paper]:
    """The papers of `spec`: its latest `days` announcement days, newest day first, best score
    first within a day, at most `limit`."""
    recent_days = sorted({paper.day for paper in papers}, reverse=True)[: spec.days]
    wanted_days = set(recent_days)
    wanted_categories = set(spec.categories)
    wanted_rules = set(spec.rules)
    chosen = [
        paper
        for paper in papers
        if paper.day in wanted_days
        and (not wanted_categories or covered(paper.categories, wanted_categories))
        and (not spec.types or paper.announce_type in spec.types)
        and (spec.include_vetoed or paper.score.vetoed_by is None)
        and (spec.min_score is None or paper.score.total >= spec.min_score)
        and (not wanted_rules or wanted_rules.intersection(paper.score.rules))
    ]
    chosen.sort(key=lambda paper: (-paper.day.toordinal(), *sort_key(paper)))
    return chosen[: spec.limit]
