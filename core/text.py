"""Small text helpers shared by ingest and render."""

from __future__ import annotations

import re

ARXIV_ID = r"(?:[a-z-]+(?:\.[A-Z]{2})?/\d{7})|(?:\d{4}\.\d{4,5})"
"""An arXiv identifier without its version: 2411.17700, or hep-ph/0101001 (old style)."""
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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
