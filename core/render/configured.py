"""The configured feeds, rendered at refresh time in every format and summary language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.config import FORMATS, Format, Settings
from core.models import Paper, RenderedFeed
from core.query.select import configured_feeds, feed_order, select_all
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


def item_languages(settings: Settings) -> list[str | None]:
    """The summary languages items are made in, the first as the feeds' own; with summaries
    off, one pass whose items show whatever summary a paper has (None)."""
    return list(settings.summaries.languages) if settings.summaries.enabled else [None]


def render_all(
    settings: Settings,
    papers: list[Paper],
    now: datetime,
    feedback: FeedbackLinks | None = None,
) -> dict[str, RenderedFeed]:
    """Every configured feed in every format (and summary language), keyed by `feed_key`;
    each item with "more / less like this" links when `feedback` is given. `now` dates a
    feed only when no paper does. Each paper's item is made once per format and language,
    and dated by its rank among all papers of its day, which every feed's order keeps."""
    now = now.replace(microsecond=0)
    base = settings.site.base_url
    rendered: dict[str, RenderedFeed] = {}
    configured = configured_feeds(settings)
    chosen_for = select_all(papers, configured)
    specs = {name: (spec, chosen_for[name]) for name, spec in configured.items()}
    newest = max((paper.announced for paper in papers), default=now)
    times = item_times(feed_order(papers))
    for position, language in enumerate(item_languages(settings)):
        extra_language = language if position > 0 else None
        query = f"?lang={language}" if extra_language else ""
        fragments = _fragments(_bodies(language, feedback), times)
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


def _fragments(body: Callable[[Paper], str], times: ItemTimes) -> dict[Format, ItemFragments]:
    """Each format's items in one language; RSS and Atom made together."""
    pairs = XmlPairs()
    return {fmt: ItemFragments(fmt, body, times, pairs=pairs) for fmt in FORMATS}


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
