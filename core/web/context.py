"""What every route needs, built once per app and passed explicitly: the configuration, the
store (opened on first use), the per-process caches and the clock."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from fastapi import Request

from core.clock import Clock, utc_now
from core.config import Settings, SiteConfig
from core.models import FeedSpec, Paper, RefreshReport
from core.query.search import DayIndexes
from core.render.feedback import SECRET_NAME, FeedbackLinks
from core.store import Store, papers_of_days
from core.web.feed_cache import FeedCache
from core.web.fragment_cache import FragmentCache
from core.web.gate import QueryGate

RefreshRunner = Callable[[Store], RefreshReport]
DEFAULT_BASE_URL = SiteConfig().base_url
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


class LazyStore:
    """Opens the store on first use, so a bad store URL answers 503 instead of failing import."""

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._store: Store | None = None
        self._lock = threading.Lock()

    def get(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._opener()
        return self._store


@dataclass(frozen=True)
class Context:
    settings: Settings
    lazy: LazyStore
    feeds: dict[str, FeedSpec]
    indexes: DayIndexes
    cached_feeds: FeedCache
    fragments: FragmentCache
    gate: QueryGate
    clock: Clock
    runner: RefreshRunner
    cron_secret: str

    def store(self) -> Store:
        return self.lazy.get()

    @cached_property
    def _feedback_secret(self) -> str:
        """Made once by the store and never changed: read once per process (asking the store
        may write, so not on every request)."""
        return self.store().secret(SECRET_NAME)

    def feedback_links(self, base: str) -> FeedbackLinks:
        return FeedbackLinks(base, self._feedback_secret)

    def recent_papers(self, days: int) -> list[Paper]:
        current = self.store()
        newest = sorted(current.day_index(), reverse=True)[:days]
        return papers_of_days(current, newest)

    def last_updated(self) -> datetime:
        """When the feeds' content last changed: the last publication, else (nothing
        published yet) now, since the empty feed is made now."""
        report = self.store().last_published()
        when = (report.finished or report.started) if report else utc_now(self.clock)
        return when.replace(microsecond=0)


def context(request: Request) -> Context:
    found: Context = request.app.state.context
    return found


def public_base(request: Request, settings: Settings) -> str:
    """The address links should name: `site.base_url` when set to anything but the default
    (the public address, whatever proxies stand between), else the one this request reached
    the service at. A Host header that is not a plain host name falls back to the default."""
    if settings.site.base_url != DEFAULT_BASE_URL:
        return settings.site.base_url
    host = request.headers.get("host", "")
    scheme = request.scope.get("scheme", "http")  # not request.url: parsing it costs more
    if scheme not in ("http", "https") or not _HOST.match(host):
        return settings.site.base_url
    return f"{scheme}://{host}{request.scope.get('root_path', '')}".rstrip("/")
