"""The configured feeds, rendered at refresh time in every format and summary language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from core.config import FORMATS, Format, Settings
from core.models import Paper, RenderedFeed
from core.query.select import configured_feeds, feed_order, select_all
from core.render.day_items import DayItems, item_kind, item_languages, made_from
from core.render.feedback import FeedbackLinks
from core.render.feeds import (
    FeedMeta,
    ItemFragments,
    ItemTimes,
    XmlPairs,
    item_html,
    item_times,
    render_feed,
)
from core.store import feed_key


class Rendered(NamedTuple):
    feeds: dict[str, RenderedFeed]
    """Keyed by `feed_key`."""
    items: DayItems
    """Every item of every feed, those taken from `held` included."""


def render_all(
    settings: Settings,
    papers: list[Paper],
    now: datetime,
    feedback: FeedbackLinks | None = None,
    held: DayItems | None = None,
) -> Rendered:
    """Every configured feed in every format (and summary language); each item with "more /
    less like this" links when `feedback` is given. `now` dates a feed only when no paper
    does. Each paper's item is made once per format and language (or taken from `held`,
    items an earlier refresh made, where they were made from the same), and dated by its
    rank among all papers of its day, which every feed's order keeps."""
    now = now.replace(microsecond=0)
    base = settings.site.base_url
    languages = item_languages(settings)
    rendered: dict[str, RenderedFeed] = {}
    configured = configured_feeds(settings)
    chosen_for = select_all(papers, configured)
    specs = {name: (spec, chosen_for[name]) for name, spec in configured.items()}
    newest = max((paper.announced for paper in papers), default=now)
    times = item_times(feed_order(papers))
    tags = {paper.id: made_from(paper, times[paper.id]) for paper in papers}
    items = (held or DayItems()).still_made_from(tags)
    for position, language in enumerate(languages):
        extra_language = language if position > 0 else None
        query = f"?lang={language}" if extra_language else ""
        fragments = _fragments(_bodies(language, feedback), times, items, extra_language)
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
    items.made_from = {i: tags[i] for kind in items.pieces.values() for i in kind}
    return Rendered(rendered, items)


def _fragments(
    body: Callable[[Paper], str],
    times: ItemTimes,
    items: DayItems,
    extra_language: str | None,
) -> dict[Format, ItemFragments]:
    """Each format's items in one language, kept among `items` (those held included); RSS
    and Atom made together."""
    pairs = XmlPairs()
    return {
        fmt: ItemFragments(
            fmt,
            body,
            times,
            items.pieces.setdefault(item_kind(extra_language, fmt), {}),
            pairs=pairs,
        )
        for fmt in FORMATS
    }


def _bodies(language: str | None, feedback: FeedbackLinks | None) -> Callable[[Paper], str]:
    """Each paper's item HTML, made once for the formats that use it."""
    made: dict[str, str] = {}

    def body(paper: Paper) -> str:
        if paper.id not in made:
            made[paper.id] = item_html(paper, language, feedback)
        return made[paper.id]

    return body


def dated(
    feeds: dict[str, RenderedFeed], previous: dict[str, tuple[str, datetime]], now: datetime
) -> dict[str, RenderedFeed]:
    """Each feed dated against the `previous` validators (ETag, Last-Modified) by key.
    Last-Modified changes only when the bytes do (the ETag is their hash): a feed equal to
    the stored one keeps its date, any other is modified now. So readers polling with either
    validator get 304 after a refresh that changed nothing for them."""
    dated = {}
    for key, feed in feeds.items():
        etag, modified = previous.get(key, ("", now))
        dated[key] = feed.model_copy(
            update={"last_modified": modified if etag == feed.etag else now}
        )
    return dated
