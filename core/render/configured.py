"""The configured feeds, rendered at refresh time in every format and summary language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.config import FORMATS, Settings
from core.feedback import FeedbackLinks
from core.models import Paper, RenderedFeed
from core.render.feeds import FeedMeta, ItemFragments, item_html, item_times, render_feed
from core.select import configured_feeds, feed_order, select_all
from core.store import feed_key


def render_all(
    settings: Settings, papers: list[Paper], now: datetime, feedback: FeedbackLinks | None = None
) -> dict[str, RenderedFeed]:
    """Every configured feed in every format (and summary language), keyed by `feed_key`;
    each item with "more / less like this" links when `feedback` is given. `now` dates a feed
    only when no paper does. Each paper's item is rendered once per format and language, and
    dated by its rank among all papers of its day, which every feed's order keeps."""
    now = now.replace(microsecond=0)
    base = settings.site.base_url
    languages = settings.summaries.languages if settings.summaries.enabled else [None]
    rendered: dict[str, RenderedFeed] = {}
    configured = configured_feeds(settings)
    chosen_for = select_all(papers, configured)
    specs = {name: (spec, chosen_for[name]) for name, spec in configured.items()}
    newest = max((paper.announced for paper in papers), default=now)
    times = item_times(feed_order(papers))
    for position, language in enumerate(languages):
        extra_language = language if position > 0 else None
        query = f"?lang={language}" if extra_language else ""
        bodies = {paper.id: item_html(paper, language, feedback) for paper in papers}
        fragments = {fmt: ItemFragments(fmt, _reader(bodies), times) for fmt in FORMATS}
        for name, (spec, chosen) in specs.items():
            # the content's own time, so that the same papers render to the same bytes
            updated = max((paper.announced for paper in chosen), default=newest)
            for fmt in FORMATS:
                meta = FeedMeta(
                    title=spec.title,
                    description=spec.description,
                    self_url=f"{base}/feeds/{name}.{fmt}{query}",
                    home_url=f"{base}/",
                    updated=updated,
                    ttl_minutes=settings.feeds.ttl_minutes,
                )
                rendered[feed_key(name, fmt, extra_language)] = render_feed(
                    fmt, meta, chosen, base_url=base, fragments=fragments[fmt]
                )
    return rendered


def _reader(bodies: dict[str, str]) -> Callable[[Paper], str]:
    return lambda paper: bodies[paper.id]
