"""OPML 2.0 listing every configured feed, for a one-step import into a reader."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree

from core.models import FeedSpec


def render_opml(title: str, base: str, feeds: dict[str, FeedSpec], created: datetime) -> bytes:
    """One outline per feed (RSS), grouped as categories, keywords and named feeds."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = ElementTree.SubElement(root, "body")
    groups: dict[str, ElementTree.Element] = {}
    for name, spec in feeds.items():
        group = "Keywords" if name.startswith("keyword/") else title
        if group not in groups:
            groups[group] = ElementTree.SubElement(body, "outline", text=group, title=group)
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
