"""Shared clean-up of arXiv metadata: ids and versions, author lists, whitespace, TeX."""

from __future__ import annotations

import re

from core.ingest.tex import tex_to_html, tex_to_unicode
from core.text import ARXIV_ID, visible_text

_ID_WITH_VERSION = re.compile(rf"(?P<id>{ARXIV_ID})(?:v(?P<version>\d+))?")
_LEADING_AND = re.compile(r"^\s*and\s+")


def split_id(text: str) -> tuple[str, int]:
    """`oai:arXiv.org:2411.17700v2` or `http://arxiv.org/abs/hep-ph/0101001v1` -> (id, version)."""
    match = _ID_WITH_VERSION.search(text)
    if match is None:
        raise ValueError(f"no arXiv id in {text!r}")
    return match.group("id"), int(match.group("version") or 1)


def _collapsed(text: str) -> str:
    return " ".join(visible_text(text).split())


def clean_text(text: str) -> str:
    """Collapse whitespace, drop characters XML cannot carry and invisible controls (a
    right-to-left override in a title), convert TeX to Unicode."""
    return tex_to_unicode(_collapsed(text))


def clean_abstract(text: str) -> tuple[str, str | None]:
    """The abstract as `clean_text` makes it, and as HTML with its inline math as MathML
    (None when it has no math)."""
    collapsed = _collapsed(text)
    return tex_to_unicode(collapsed), tex_to_html(collapsed)


def split_authors(creators: str) -> list[str]:
    """Split arXiv's one-string author list at commas outside parentheses.

    `A. Smith (MIT, USA), B. Jones` -> ['A. Smith (MIT, USA)', 'B. Jones']; a trailing
    `and` before the last name is dropped.
    """
    if "(" not in creators and "[" not in creators:  # most lists: no affiliation to keep whole
        return _cleaned_names(creators.split(","))
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for char in creators:
        if char in "([":
            depth += 1
        elif char in ")]" and depth:
            depth -= 1
        if char == "," and depth == 0:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
    names.append("".join(current))
    return _cleaned_names(names)


def _cleaned_names(names: list[str]) -> list[str]:
    cleaned = (clean_text(_LEADING_AND.sub("", name)) for name in names)
    return [name for name in cleaned if name]
