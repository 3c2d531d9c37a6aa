"""Each stored day's feed items as a refresh made them, kept in the store beside the day so
that the next refresh makes only the items that changed. Once the feeds' window holds
several days, making the held days' items again (feedgen) was most of a refresh's render
stage (docs/BENCHMARKS.md).

A day's items are kept under `items_key`: the day's papers in order, the ranking they were
scored with and everything else an item is made from (`render_state`: the site address and
feedback secret its links carry, the summary languages, the code and libraries that render).
Inside, each paper's items carry `made_from`: its time in the feeds and a digest of its
summaries, which a refresh adds to papers it does not score again. Only the items of days
whose stored scores stand are taken from the store (`core.refresh`), and only where
`made_from` still agrees.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from isal import isal_zlib

from core.code import code_digest
from core.config import Settings
from core.models import Paper
from core.render.stored import Piece

ITEMS_FORMAT = 2
_LEVEL = 1
"""Items are kept compressed (Upstash counts every byte) but read back by every refresh:
ISA-L's fastest level."""
_INFLATE_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]
"""(isal's stubs declare the class as an instance of it)"""
_RENDER_MODULES = (
    "render/configured.py",
    "render/feeds.py",
    "render/stored.py",
    "render/extensions.py",
    "render/feedback.py",
    "models.py",
    "text.py",
)


def item_languages(settings: Settings) -> list[str | None]:
    """The summary languages items are made in, the first as the feeds' own; with summaries
    off, one pass whose items show whatever summary a paper has (None)."""
    return list(settings.summaries.languages) if settings.summaries.enabled else [None]


def render_state(settings: Settings, secret: str) -> str:
    """What every item is made from besides its paper and day, as a digest (the feedback
    secret is not kept, only mixed in)."""
    code = code_digest(_RENDER_MODULES, ("feedgen", "lxml"))
    languages = item_languages(settings)
    state = json.dumps([ITEMS_FORMAT, code, settings.site.base_url, secret, languages])
    return hashlib.sha256(state.encode()).hexdigest()


def items_key(day: date, ids: list[str], ranking: str, state: str) -> str:
    """What a day's items are kept under (`state`: `render_state`)."""
    parts = f"{state}|{day}|{ranking}|{','.join(ids)}"
    return hashlib.sha256(parts.encode()).hexdigest()


def items_keys(
    settings: Settings, secret: str, days: Mapping[date, list[str]], ranking: str
) -> dict[date, str]:
    """What each day's items are kept under (day -> its papers' ids, in order)."""
    state = render_state(settings, secret)
    return {day: items_key(day, ids, ranking, state) for day, ids in days.items()}


def made_from(paper: Paper, when: datetime) -> str:
    """What a paper's items depend on that a refresh may change without scoring it again."""
    if not paper.summaries:
        return when.isoformat()
    summaries = json.dumps(
        {language: s.model_dump(mode="json") for language, s in sorted(paper.summaries.items())}
    )
    return f"{when.isoformat()}|{hashlib.blake2b(summaries.encode(), digest_size=12).hexdigest()}"


def item_kind(language: str | None, fmt: str) -> str:
    """An item's kind: its format, and its summary language past the first."""
    return f"{language}/{fmt}" if language else fmt


@dataclass
class DayItems:
    """Papers' items by kind (`item_kind`) and paper id, with what each paper's were made
    from (`made_from`)."""

    made_from: dict[str, str] = field(default_factory=dict)
    pieces: dict[str, dict[str, Piece]] = field(default_factory=dict)

    def still_made_from(self, now: Mapping[str, str]) -> DayItems:
        """The items whose paper's `made_from` is still the same."""
        same = {i: tag for i, tag in self.made_from.items() if now.get(i) == tag}
        return self._only(same)

    def of_papers(self, ids: Iterable[str]) -> DayItems:
        return self._only({i: self.made_from[i] for i in ids if i in self.made_from})

    def _only(self, tags: dict[str, str]) -> DayItems:
        pieces = {
            kind: {i: item for i, item in items.items() if i in tags}
            for kind, items in self.pieces.items()
        }
        return DayItems(tags, {kind: items for kind, items in pieces.items() if items})

    def dumps(self) -> bytes:
        """Compressed: a JSON head (each item's kind, paper, length and digest; each paper's
        `made_from`), a newline, then the items' bytes end to end."""
        entries = [
            [kind, i, len(item.plain), item.digest.hex()]
            for kind, items in self.pieces.items()
            for i, item in items.items()
        ]
        head = json.dumps([ITEMS_FORMAT, self.made_from, entries]).encode()
        body = b"".join(item.plain for items in self.pieces.values() for item in items.values())
        return isal_zlib.compress(b"%s\n%s" % (head, body), _LEVEL)

    @classmethod
    def loads(cls, data: bytes) -> DayItems:
        """What `dumps` wrote; empty for another format or damaged bytes (they are made
        again)."""
        try:
            head, _, body = isal_zlib.decompress(data).partition(b"\n")
            version, tags, entries = json.loads(head)
            if version != ITEMS_FORMAT:
                return cls()
            found = cls(dict(tags))
            start = 0
            for kind, paper_id, length, digest in entries:
                plain = body[start : start + length]
                found.pieces.setdefault(kind, {})[paper_id] = Piece(
                    plain, bytes.fromhex(digest), None
                )
                start += length
        except (_INFLATE_ERROR, ValueError, TypeError):
            return cls()
        return found


def merged(days: Iterable[DayItems]) -> DayItems:
    """Several days' items as one set."""
    together = DayItems()
    for items in days:
        together.made_from.update(items.made_from)
        for kind, pieces in items.pieces.items():
            together.pieces.setdefault(kind, {}).update(pieces)
    return together


def changed_items(
    days: dict[date, list[str]],
    keys: dict[date, str],
    made: DayItems,
    held: dict[date, DayItems],
) -> dict[date, tuple[str, bytes]]:
    """Each day's items to store, under its key: those of the days whose items are not
    stored as they are now (a new day, one ranked again, a paper given a summary)."""
    changed = {}
    for day, ids in days.items():
        items = made.of_papers(ids)
        if items.made_from and items != held.get(day):
            changed[day] = (keys[day], items.dumps())
    return changed
