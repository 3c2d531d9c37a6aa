"""OPML 2.0 listing every configured feed, for a one-step import into a reader."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree

from core.models import FeedSpec


def render_opml(
    title: str, base: str, feeds: dict[str, FeedSpec], created: datetime, keywords: bool = False
) -> bytes:
    """One outline per feed (RSS) in a folder of its own: the configured feeds, and the
    keyword feeds only when asked for (`keywords`). A reader such as newsboat shows a paper
    once across all its feeds, so a list that holds every overlapping feed by default would
    scatter each keyword's papers among the others. A folder outline has only its text, as
    OPML 2.0 asks of an outline without a type."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = ElementTree.SubElement(root, "body")
    groups: dict[str, ElementTree.Element] = {}
    for name, spec in feeds.items():
        is_keyword = name.startswith("keyword/")
        if is_keyword and not keywords:
            continue
        group = f"{title}: keywords" if is_keyword else title
        if group not in groups:
            groups[group] = ElementTree.SubElement(body, "outline", text=group)
        ElementTree.SubElement(
            groups[group],
            "outline",
            type="rss",
            text=spec.title,
            title=spec.title,
            xmlUrl=f"{base}/feeds/{name}.xml",
            htmlUrl=f"{base}/",
        )
    document = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{document}\n'.encode()
