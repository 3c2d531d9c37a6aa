"""The landing page: what this deployment serves and how to subscribe. Plain HTML, no assets."""

from __future__ import annotations

from html import escape

from core.config import Settings
from core.models import FeedSpec, RefreshReport

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}"
    "code{background:#f3f3f3;padding:0 .2em}li{margin:.2rem 0}"
)


def _links(name: str, base: str) -> str:
    return " · ".join(
        f'<a href="{escape(base)}/feeds/{escape(name)}.{fmt}">{label}</a>'
        for fmt, label in (("xml", "RSS"), ("atom", "Atom"), ("json", "JSON"))
    )


def _status(report: RefreshReport | None) -> str:
    if report is None:
        return (
            "<p><b>No papers yet.</b> Fetch today's announcements with "
            "<code>uv run arxiv-feeds refresh</code>.</p>"
        )
    when = (report.finished or report.started).strftime("%Y-%m-%d %H:%M UTC")
    return f"<p>Last refresh {escape(when)}: {escape(report.message)}.</p>"


def landing_page(
    settings: Settings, feeds: dict[str, FeedSpec], report: RefreshReport | None
) -> str:
    base = settings.site.base_url
    items = "".join(
        f"<li><b>{escape(spec.title)}</b> <small>({escape(name)})</small>: "
        f"{_links(name, base)}</li>"
        for name, spec in feeds.items()
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(settings.site.title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(settings.site.title)}</h1>"
        f"<p>arXiv announcements in {escape(', '.join(settings.arxiv.categories))}, ranked "
        "against this deployment's keywords. Subscribe to any feed below in your reader.</p>"
        f"{_status(report)}<ul>{items}</ul>"
        '<p>Ad-hoc feeds: <code>/feed.xml?cat=cs.LG&amp;q=moe,"kv cache"&amp;min_score=2'
        "&amp;type=new&amp;days=3</code>. Papers as JSON: <a href=/api/papers>/api/papers</a>. "
        "Status: <a href=/health>/health</a>.</p></body></html>"
    )
