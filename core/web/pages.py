"""The landing page: today's ranked papers and a feed builder. Server-rendered with Jinja2 and
usable without JavaScript (the builder is a GET form); a small inline script makes it live."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from functools import lru_cache
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field
from starlette.datastructures import QueryParams

from core.config import FORMATS, Settings
from core.models import DayRecord, FeedSpec, Paper, RefreshReport
from core.query.params import DEFAULT_LIMIT

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@lru_cache(maxsize=4)
def page_policy(template: str) -> str:
    """The Content-Security-Policy of a page made from `template`: nothing runs or loads but
    its own inline script and style, allowed by their hashes (so no script injected into a
    page could run), and no other site may frame it. The inline blocks hold no template
    code, so the template's text is the served text."""
    source, _, _ = environment().loader.get_source(environment(), template)  # type: ignore[union-attr]
    return content_policy(source)


def content_policy(page: str, scripts: str = "", styles: str = "", images: str = "") -> str:
    """A page's Content-Security-Policy: its own inline scripts and styles allowed by their
    hashes, what else it loads named (`scripts`, `styles`, `images`: sources), nothing more,
    and never framed."""
    allowed = {"script": scripts, "style": styles}
    for kind, text in _INLINE.findall(page):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        allowed[kind] += f" 'sha256-{digest}'"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + (allowed["script"].strip() or "'none'"),
            "style-src " + (allowed["style"].strip() or "'none'"),
            f"img-src {images} data:".replace("  ", " "),
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("core.web", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Builder(BaseModel):
    """The feed builder's choices, read from the landing page's own query string."""

    categories: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    extra: str = ""
    min_score: str = ""
    types: list[str] = Field(default_factory=list)
    days: int
    default_days: int
    limit: int = DEFAULT_LIMIT
    fmt: str = "xml"

    @classmethod
    def from_params(cls, params: QueryParams, settings: Settings) -> Builder:
        terms = {rule.term for rule in settings.rank.keywords}
        min_score = params.get("min_score", "").strip()
        try:
            min_score = f"{max(0.0, min(1000.0, float(min_score))):g}" if min_score else ""
        except ValueError:
            min_score = ""
        kept_types = {t.value for t in settings.arxiv.announce_types}
        return cls(
            categories=[c for c in params.getlist("cat") if c in settings.arxiv.categories],
            keywords=[k for k in params.getlist("kw") if k in terms],
            extra=params.get("q", "")[:300],
            min_score=min_score,
            types=[t for t in params.getlist("type") if t in kept_types],
            days=_bounded(params.get("days"), 1, 30, settings.feeds.days),
            default_days=settings.feeds.days,
            limit=_bounded(params.get("limit"), 1, 2000, DEFAULT_LIMIT),
            fmt=params.get("fmt", "xml") if params.get("fmt") in FORMATS else "xml",
        )

    def query(self) -> dict[str, str]:
        """The ad-hoc feed's query parameters; the page's script builds the same."""
        terms = [f'"{k}"' if " " in k else k for k in self.keywords]
        if self.extra.strip():
            terms.append(self.extra.strip())
        params = {
            "cat": ",".join(self.categories),
            "q": ",".join(terms),
            "min_score": self.min_score,
            "type": ",".join(self.types),
            "days": "" if self.days == self.default_days else str(self.days),
            "limit": "" if self.limit == DEFAULT_LIMIT else str(self.limit),
        }
        return {key: value for key, value in params.items() if value}

    def url(self, base: str) -> str:
        query = urlencode(self.query())
        return f"{base}/feed.{self.fmt}" + (f"?{query}" if query else "")


def _bounded(given: str | None, low: int, high: int, default: int) -> int:
    try:
        return max(low, min(high, int(given))) if given else default
    except ValueError:
        return default


def landing_page(
    settings: Settings,
    base: str,
    feeds: dict[str, FeedSpec],
    report: RefreshReport | None,
    papers: list[Paper],
    builder: Builder,
    builder_count: int | None,
    days: list[DayRecord] | None = None,
) -> str:
    """`papers`: the latest day's papers, ranked."""
    kept = [p for p in papers if p.score.vetoed_by is None]
    shown = [p for p in kept if p.score.total >= settings.rank.min_score]
    by_category = Counter(c for p in kept for c in p.categories if c in settings.arxiv.categories)
    template = environment().get_template("index.html")
    return template.render(
        settings=settings,
        base=base,
        category_feeds=[(name, feeds[name]) for name in settings.arxiv.categories],
        keyword_feeds=[(name, spec) for name, spec in feeds.items() if name.startswith("keyword/")],
        named_feeds=[(name, feeds[name]) for name in settings.feeds.named],
        report=report,
        day=papers[0].day if papers else None,
        total=len(papers),
        vetoed=len(papers) - len(kept),
        by_category=by_category,
        shown=shown,
        hidden=len(papers) - len(shown),
        builder=builder,
        builder_url=builder.url(base),
        builder_count=builder_count,
        default_limit=DEFAULT_LIMIT,
        days=days or [],
        formats=FORMATS,
        types=[t.value for t in settings.arxiv.announce_types],
        language=settings.summaries.languages[0],
    )
