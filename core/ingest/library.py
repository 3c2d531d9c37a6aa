"""The reader's library as examples: arXiv ids from BibTeX, RIS and CSL-JSON exports (Zotero,
Mendeley, JabRef...) and from a Zotero library through Zotero's web API.

Only ids are read: a field naming an arXiv paper (`eprint` with `archivePrefix = arXiv`, an
arxiv.org abs or pdf URL, an arXiv DOI `10.48550/arXiv.ID`, `arXiv:ID` in a note), never the
rest of an entry, so a full reference parser is not needed; what is checked is the file's
structure, so a file that is not what it claims is refused with the line that is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from core.arxiv import check_arxiv_id

_ARXIV_MENTION = re.compile(
    r"arxiv\.org/(?:abs|pdf|html)/(?P<url>[\w.\-/]+?)(?:v\d+)?(?:\.pdf)?(?=[\s\"'},;)\]]|$)"
    r"|10\.48550/arxiv\.(?P<doi>[\w.\-/]+)"
    r"|arxiv:\s*(?P<tag>[\w.\-/]+)",
    re.IGNORECASE,
)
_EPRINT = re.compile(r"\beprint\s*=\s*[{\"]\s*(?:arxiv:)?\s*([^}\"\s]+)", re.IGNORECASE)
_ARXIV_PREFIX = re.compile(r"\barchiveprefix\s*=\s*[{\"]\s*arxiv", re.IGNORECASE)
_BIBTEX_START = re.compile(r"^[ \t]*@\s*(\w+)\s*([{(])\s*([^,\s]*)", re.MULTILINE)
_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")


class LibraryError(ValueError):
    """The file is not what it claims to be; the message names the line that is wrong."""


class Entry(NamedTuple):
    key: str
    """How the reader knows the entry: its citation key, title or Zotero key."""
    arxiv_id: str | None


class Library(NamedTuple):
    entries: list[Entry]

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(e.arxiv_id for e in self.entries if e.arxiv_id))

    @property
    def without_id(self) -> list[str]:
        return [entry.key for entry in self.entries if entry.arxiv_id is None]


def arxiv_id_in(text: str) -> str | None:
    """The first valid arXiv id `text` names (a URL, an arXiv DOI, `arXiv:ID`), else None."""
    for found in _ARXIV_MENTION.finditer(text):
        given = found.group("url") or found.group("doi") or found.group("tag")
        try:
            return check_arxiv_id(given)
        except ValueError:
            continue
    return None


def read_library(path: Path) -> Library:
    """The entries of a BibTeX (.bib), RIS (.ris) or CSL-JSON (.json) file. Raises
    LibraryError naming the wrong line, or OSError when the file cannot be read."""
    text = path.read_text(encoding="utf-8-sig")
    readers: dict[str, Callable[[str], Library]] = {
        ".bib": read_bibtex,
        ".ris": read_ris,
        ".json": read_csl_json,
    }
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise LibraryError(f"{path.name}: expected a .bib, .ris or .json (CSL-JSON) file")
    return reader(text)


def read_bibtex(text: str) -> Library:
    entries = []
    for line, kind, key, body in _bibtex_entries(text):
        if kind.lower() in ("comment", "preamble", "string"):
            continue
        if not key:
            raise LibraryError(f"line {line}: an @{kind} entry without its citation key")
        eprint = _EPRINT.search(body)
        found = None
        if eprint and (_ARXIV_PREFIX.search(body) or re.match(r"\d{4}\.\d", eprint.group(1))):
            found = _valid(eprint.group(1))
        entries.append(Entry(key, found or arxiv_id_in(body)))
    return Library(entries)


def _bibtex_entries(text: str) -> Iterator[tuple[int, str, str, str]]:
    """(line, type, key, body) of each `@type{key, ...}` opening a line, its braces (or
    parentheses, as it opened) balanced; text between entries is a comment, as in BibTeX."""
    after = 0
    for head in _BIBTEX_START.finditer(text):
        if head.start() < after:  # a line of an entry's field, not an entry
            continue
        line = text.count("\n", 0, head.start()) + 1
        opener = head.group(2)
        closer = "}" if opener == "{" else ")"
        depth, index = 0, head.start(2)
        while index < len(text):
            depth += 1 if text[index] == opener else -1 if text[index] == closer else 0
            if depth == 0:
                break
            index += 1
        if depth != 0:
            raise LibraryError(f"line {line}: the entry that starts here is never closed")
        after = index
        yield line, head.group(1), head.group(3).rstrip(","), text[head.end() : index]


def read_ris(text: str) -> Library:
    entries: list[Entry] = []
    fields: list[str] = []
    title = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        tagged = _RIS_LINE.match(line.rstrip())
        if tagged is None:
            raise LibraryError(f"line {number}: not an RIS line ('XY  - value'): {line[:60]!r}")
        tag, value = tagged.group(1), tagged.group(2) or ""
        if tag == "TY":
            fields, title = [], ""
        elif tag == "ER":
            entries.append(Entry(title or f"entry {len(entries) + 1}", _in_fields(fields)))
        elif tag in ("TI", "T1"):
            title = value
        fields.append(f"{tag} {value}")
    if fields and fields[-1] != "ER ":
        raise LibraryError(f"line {len(text.splitlines())}: the last record has no 'ER  -' line")
    return Library(entries)


def read_csl_json(text: str) -> Library:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise LibraryError(f"line {error.lineno}: not JSON: {error.msg}") from error
    if isinstance(items, dict) and isinstance(items.get("items"), list):
        items = items["items"]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise LibraryError("line 1: expected a CSL-JSON list of items")
    return Library([_csl_entry(item, n) for n, item in enumerate(items, start=1)])


def _csl_entry(item: dict[str, Any], number: int) -> Entry:
    key = str(item.get("id") or item.get("title") or f"item {number}")
    fields = [
        str(item.get(name, "")) for name in ("URL", "DOI", "number", "note", "archive_location")
    ]
    return Entry(key, _in_fields(fields))


def zotero_entries(pages: Iterable[list[dict[str, Any]]]) -> Library:
    """Entries of Zotero web API item pages (`format=json`): attachments and notes, which
    are not references, are left out."""
    entries = []
    for page in pages:
        for item in page:
            data = item.get("data", {})
            if data.get("itemType") in ("attachment", "note", "annotation"):
                continue
            fields = [str(data.get(name, "")) for name in ("url", "DOI", "extra", "archiveID")]
            fields.append(str(data.get("number", "")))
            entries.append(Entry(str(data.get("title") or item.get("key")), _in_fields(fields)))
    return Library(entries)


def _in_fields(fields: Iterable[str]) -> str | None:
    return next((found for text in fields if (found := arxiv_id_in(text))), None)


def _valid(given: str) -> str | None:
    try:
        return check_arxiv_id(given)
    except ValueError:
        return None


ZOTERO_API = "https://api.zotero.org"
ZOTERO_PAGE = 100
"""Items per request: the most Zotero's web API returns at once."""


def zotero_pages(
    user_id: str, api_key: str, transport: httpx.BaseTransport | None = None
) -> Iterator[list[dict[str, Any]]]:
    """The items of a Zotero user library, page by page (a read-only key is enough).
    Raises ZoteroError saying what Zotero answered."""
    headers = {"Zotero-API-Key": api_key, "Zotero-API-Version": "3"}
    with httpx.Client(transport=transport, headers=headers, timeout=30) as client:
        start, total = 0, None
        while total is None or start < total:
            try:
                response = client.get(
                    f"{ZOTERO_API}/users/{user_id}/items",
                    params={"format": "json", "limit": ZOTERO_PAGE, "start": start},
                )
            except httpx.HTTPError as error:
                raise ZoteroError(f"Zotero's web API did not answer: {error}") from error
            if response.status_code in (403, 404):
                raise ZoteroError(
                    f"Zotero answered HTTP {response.status_code}: check ZOTERO_USER_ID "
                    "(the number on zotero.org/settings/keys) and ZOTERO_API_KEY"
                )
            if response.status_code >= 400:
                raise ZoteroError(f"Zotero answered HTTP {response.status_code}")
            page = response.json()
            yield page
            total = int(response.headers.get("Total-Results", len(page)))
            start += ZOTERO_PAGE
            if not page:
                return


class ZoteroError(Exception):
    """Zotero's web API refused or failed; the message says which and what to check."""
