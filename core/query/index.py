"""Per-day indexes of the stored papers, for ad-hoc queries (`core.query.search`): per paper the
few fields a filter needs (categories, type, score, the configured keywords it matched), and
for every word key (`core.rank.words`) the papers whose title or abstract hold it.

The refresh writes each day's index into the store beside the day (`dumps`), keyed by what
it is made from (`stored_key`: the day's papers in order, the ranking they were scored
with, the word rules); a process that finds none under that key builds it from the papers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from core.arxiv import listed_under
from core.models import AnnounceType, Paper
from core.rank.rules import CompiledRule
from core.rank.words import Fields, TextField, fields_of, stemmer_release

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

INDEX_FORMAT = 1


def _words_version() -> str:
    """Stems change with the stemmer's release: an index made with another is not used."""
    return f"{INDEX_FORMAT}|snowballstemmer {stemmer_release()}"


def stored_key(day: date, ids: list[str], ranking: str) -> str:
    """What a stored index of `day` is kept under."""
    made_from = f"{_words_version()}|{day}|{ranking}|{','.join(ids)}"
    return hashlib.sha256(made_from.encode()).hexdigest()


@dataclass(frozen=True)
class Postings:
    """Word key -> positions, compact: the keys sorted in one tuple (the strings are the
    stemmer cache's own), every list of positions in one array (two bytes each, as a day
    has fewer than 65,536 papers), cut at `offsets`: about half the memory of a dict of
    arrays (docs/BENCHMARKS.md)."""

    keys: tuple[str, ...]
    offsets: array[int]
    positions: array[int]

    @classmethod
    def of(cls, lists: dict[str, list[int]]) -> Postings:
        keys = tuple(sorted(lists))
        largest = max((max(found) for found in lists.values()), default=0)
        offsets, positions = array("i", [0]), array("H" if largest < 2**16 else "i")
        for key in keys:
            positions.extend(lists[key])
            offsets.append(len(positions))
        return cls(keys, offsets, positions)

    def get(self, key: str) -> array[int]:
        at = bisect_left(self.keys, key)
        if at == len(self.keys) or self.keys[at] != key:
            return array("i")
        return self.positions[self.offsets[at] : self.offsets[at + 1]]

    def starting(self, prefix: str) -> array[int]:
        """Positions of every key that starts with `prefix` (neighbours, in sorted keys)."""
        first = bisect_left(self.keys, prefix)
        last = first
        while last < len(self.keys) and self.keys[last].startswith(prefix):
            last += 1
        return self.positions[self.offsets[first] : self.offsets[last]]


@dataclass(frozen=True)
class DayIndex:
    """One announcement day: its papers' ids in stored order (a position is an index into
    every per-paper field), the fields filters read, and the word keys terms are looked up
    by."""

    day: date
    ids: tuple[str, ...]
    categories: tuple[frozenset[str], ...]
    types: tuple[AnnounceType, ...]
    totals: array[float]
    vetoed: frozenset[int]
    rules: dict[str, array[int]]
    """Configured keyword -> positions of the papers it scored on."""
    postings: Postings
    """Word key -> positions of the papers whose title or abstract hold it."""

    @classmethod
    def build(cls, day: date, papers: list[Paper], read: Fields | None = None) -> DayIndex:
        """The index of `day`'s `papers` in stored order (`read`: their texts already read
        into words, by paper id)."""
        known = read if read is not None else fields_of(papers)
        rules: dict[str, array[int]] = {}
        postings: dict[str, list[int]] = {}
        category_sets: dict[frozenset[str], frozenset[str]] = {}
        for position, paper in enumerate(papers):
            for rule in paper.score.rules:
                rules.setdefault(rule, array("i")).append(position)
            for key in _keys(*known[paper.id]):
                postings.setdefault(key, []).append(position)
        return cls(
            day=day,
            ids=tuple(paper.id for paper in papers),
            categories=tuple(
                category_sets.setdefault(found, found)  # one object per distinct set
                for found in (frozenset(paper.categories) for paper in papers)
            ),
            types=tuple(paper.announce_type for paper in papers),
            totals=array("d", (paper.score.total for paper in papers)),
            vetoed=frozenset(n for n, p in enumerate(papers) if p.score.vetoed_by is not None),
            rules=rules,
            postings=Postings.of(postings),
        )

    @cached_property
    def _listings(self) -> dict[str, array[int]]:
        """Category and archive (`cs.LG` and `cs`) -> positions of the papers listed there."""
        listings: dict[str, array[int]] = {}
        for position, categories in enumerate(self.categories):
            for name in listed_under(categories):
                listings.setdefault(name, array("i")).append(position)
        return listings

    def listed_in(self, wanted: Iterable[str]) -> list[int]:
        """Positions, in order, of the papers listed in one of `wanted` (categories or
        archives: `cs` holds `cs.LG`), as `core.arxiv.covered` decides."""
        listings = self._listings
        return sorted(set().union(*(listings.get(name, ()) for name in wanted)))

    def candidates(self, rule: CompiledRule) -> set[int]:
        """Positions of the papers that hold every key of one of the rule's spellings (a
        superset of its matches: order and word forms are checked by scoring)."""
        found: set[int] = set()
        for keys, prefix in rule.key_sets():
            *leading, last = keys
            lists = [self.postings.get(key) for key in leading]
            lists.append(self.postings.starting(last) if prefix else self.postings.get(last))
            common = set(lists[0]).intersection(*lists[1:]) if lists else set()
            found |= common
        return found


def _keys(*fields: TextField) -> set[str]:
    keys: set[str] = set()
    for field in fields:
        keys.update(field.plain.keys)
        if field.split is not None:
            keys.update(field.split.keys)
    return keys


def _packed(values: array[Any]) -> str:
    return f"{values.typecode}:{base64.b64encode(values.tobytes()).decode()}"


def _unpacked(text: str) -> array[Any]:
    typecode, _, data = text.partition(":")
    values = array(typecode)
    values.frombytes(base64.b64decode(data))
    return values


def dumps(index: DayIndex) -> bytes:
    """The index as stored: JSON, its arrays as base64 of their bytes (little-endian, as
    every machine that runs this service is)."""
    category_sets = list(dict.fromkeys(index.categories))
    at = {found: n for n, found in enumerate(category_sets)}
    return json.dumps(
        {
            "format": INDEX_FORMAT,
            "day": index.day.isoformat(),
            "ids": index.ids,
            "category_sets": [sorted(found) for found in category_sets],
            "categories": _packed(array("i", (at[found] for found in index.categories))),
            "types": [kind.value for kind in index.types],
            "totals": _packed(index.totals),
            "vetoed": sorted(index.vetoed),
            "rules": {name: _packed(positions) for name, positions in index.rules.items()},
            "keys": index.postings.keys,
            "offsets": _packed(index.postings.offsets),
            "positions": _packed(index.postings.positions),
        },
        separators=(",", ":"),
    ).encode()


def loads(data: bytes) -> DayIndex:
    """A stored index (`dumps`); ValueError when it is not one of this format."""
    try:
        raw = json.loads(data)
        if raw["format"] != INDEX_FORMAT:
            raise ValueError(f"index format {raw['format']}, expected {INDEX_FORMAT}")
        sets = [frozenset(found) for found in raw["category_sets"]]
        return DayIndex(
            day=date.fromisoformat(raw["day"]),
            ids=tuple(raw["ids"]),
            categories=tuple(sets[n] for n in _unpacked(raw["categories"])),
            types=tuple(AnnounceType(kind) for kind in raw["types"]),
            totals=_unpacked(raw["totals"]),
            vetoed=frozenset(raw["vetoed"]),
            rules={name: _unpacked(packed) for name, packed in raw["rules"].items()},
            postings=Postings(
                tuple(raw["keys"]), _unpacked(raw["offsets"]), _unpacked(raw["positions"])
            ),
        )
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a stored day index: {error}") from error


def kept_indexes(
    read: Callable[[date, str], bytes | None], days: dict[date, list[str]], ranking: str
) -> dict[date, tuple[str, bytes]]:
    """The stored indexes of `days` (`read` from the store by day and key), where one is kept
    for the same papers in the same order under the same ranking."""
    kept = {}
    for day, ids in days.items():
        key = stored_key(day, ids, ranking)
        if (data := read(day, key)) is not None:
            kept[day] = (key, data)
    return kept


def built_indexes(
    days: dict[date, list[str]],
    kept: dict[date, tuple[str, bytes]],
    papers: list[Paper],
    ranking: str,
    read: Fields,
) -> dict[date, tuple[str, bytes]]:
    """The indexes of the `days` not `kept`, from the words `read` for ranking, or read now
    for the papers of a held day whose stored index is missing."""
    unread = [p for p in papers if p.day not in kept and p.id not in read]
    read = {**read, **fields_of(unread)} if unread else read
    return day_indexes({d: ids for d, ids in days.items() if d not in kept}, papers, ranking, read)


def day_indexes(
    days: dict[date, list[str]], papers: list[Paper], ranking: str, read: Fields | None = None
) -> dict[date, tuple[str, bytes]]:
    """Each day's index for ad-hoc queries (`core.query.index`), under the key a reader will
    look for; a day some of whose papers are not at hand gets none (readers build it)."""
    by_id = {paper.id: paper for paper in papers}
    found = {}
    for day, ids in days.items():
        if all(i in by_id for i in ids):
            index = DayIndex.build(day, [by_id[i] for i in ids], read)
            found[day] = (stored_key(day, ids, ranking), dumps(index))
    return found
