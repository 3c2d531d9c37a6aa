"""Words as the ranking reads them: tokens, their match keys (Snowball stems; acronyms
exact) and camelCase compounds read apart. Shared by keyword rules and likes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from itertools import filterfalse
from typing import TYPE_CHECKING, Any

from core.code import release

if TYPE_CHECKING:
    from collections.abc import Iterable

    from core.models import Paper

CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2,})")
_COMPOUND_INSIDE = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
TOKEN = re.compile(r"[^\W_]+|\|")
_ASCII_SPACES = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))
"""Every byte but ASCII letters and digits as a space: ASCII text (most of arXiv's) so
translated splits on whitespace into the words TOKEN finds, in under half its time."""
_ACRONYM = re.compile(r"([0-9]*[A-Z][A-Z0-9]+)s?")
_KEYS: dict[str, str] = {}
_MAX_CACHED_KEYS = 200_000


def stemmer_release() -> str:
    """The Snowball stemmer's release: stems, and so scores and indexes, change with it."""
    return release("snowballstemmer")


@cache
def _stemmer() -> Any:
    """Snowball's English stemmer, loaded on first use (its package loads every language)."""
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def word_key(word: str) -> str:
    """What a word matches as: an acronym (`LLM`, `LLMs`, `FP8`) exactly, anything else by
    its stem. Cached: a vocabulary is small, the stemmer slow (~30 us a word)."""
    key = _KEYS.get(word)
    if key is None:
        acronym = _ACRONYM.fullmatch(word)
        key = acronym.group(1).casefold() if acronym else _stemmer().stemWord(word.casefold())
        if len(_KEYS) < _MAX_CACHED_KEYS:
            _KEYS[word] = key
    return key


@dataclass(frozen=True)
class Words:
    """A text as words, their keys, and the set of keys (most rules are ruled out by it)."""

    words: tuple[str, ...]
    keys: tuple[str, ...]
    present: frozenset[str] = field(compare=False)

    @classmethod
    def of(cls, text: str) -> Words:
        if text.isascii() and "|" not in text:  # `|` is a word of its own: TOKEN cuts it out
            words = tuple(text.encode().translate(_ASCII_SPACES).decode().split())
        else:
            words = tuple(TOKEN.findall(text))
        try:  # the cache read in C: a Python call per word was most of the cost of ranking
            keys = tuple(map(_KEYS.__getitem__, words))
        except KeyError:
            keys = tuple(map(word_key, words))
        return cls(words, keys, frozenset(keys))


@dataclass(frozen=True)
class TextField:
    """A title or abstract read both ways: as written, and with camelCase compounds split
    (`FlowMoE` -> `Flow MoE`; only its compounds, apart, which keeps this cheap)."""

    plain: Words
    split: Words | None

    @classmethod
    def of(cls, text: str) -> TextField:
        # a word in lower case holds no compound: only the others are searched (in C)
        compounds = list(filter(_COMPOUND_INSIDE.search, filterfalse(str.islower, text.split())))
        if not compounds:
            return cls(Words.of(text), None)
        split = Words.of(" | ".join(CAMEL_BOUNDARY.sub(" ", word) for word in compounds))
        return cls(Words.of(text), split)


Fields = dict[str, tuple[TextField, TextField]]
"""Paper id -> its title and abstract as TextFields: read once, used by ranking and indexing."""


def fields_of(papers: Iterable[Paper]) -> Fields:
    return {paper.id: (TextField.of(paper.title), TextField.of(paper.abstract)) for paper in papers}
