"""Small text helpers shared by ingest, configuration, queries and render."""

from __future__ import annotations

import csv
import re

ARXIV_ID = r"(?:[a-z-]+(?:\.[A-Z]{2})?/\d{7})|(?:\d{4}\.\d{4,5})"
"""An arXiv identifier without its version: 2411.17700, or hep-ph/0101001 (old style)."""
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_INVISIBLE = re.compile(
    "[\x80-\x9f\xad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
"""C1 controls and invisible format characters: bidirectional overrides and isolates (which
can make `exe.png` of `gnp.exe`), zero-width spaces, word joiners, soft hyphens. Joiners
that scripts need inside words (U+200C, U+200D) are kept."""


def visible_text(text: str) -> str:
    """`text` without what XML cannot carry and without invisible controls: what a reader
    sees is what the text says."""
    return _INVISIBLE.sub("", xml_safe(text))


def has_control_characters(text: str) -> bool:
    """Line breaks, tabs, NUL and the like: never meant in a parameter or a setting."""
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (feedgen and lxml refuse them)."""
    return _XML_INVALID.sub("", text)


# `user:password@` (or `:password@`) before a host, in a URL whether well-formed or not.
_CREDENTIALS = re.compile(r"(?P<before>//|^|[\s'\"=(])[^\s/'\"@]*:[^\s/'\"@]*@")


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it (and of anything shaped like one,
    `redis//user:secret@host` included) replaced by `***@`, for messages people can see."""
    return _CREDENTIALS.sub(r"\g<before>***@", text)


def slugify(text: str) -> str:
    """A URL segment for a keyword: 'KV cache' -> 'kv-cache', 'decod*' -> 'decod'."""
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def split_list(value: str) -> list[str]:
    """`moe, "kv cache"` -> ['moe', 'kv cache']: commas separate, double quotes group."""
    row = next(csv.reader([value], skipinitialspace=True), [])
    return [item.strip() for item in row if item.strip()]
