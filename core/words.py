"""Words as the ranking reads them: tokens, their match keys (Snowball stems; acronyms
exact) and camelCase compounds read apart. Shared by keyword rules and likes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from core.models import Paper

CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2,})")
_COMPOUND_INSIDE = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
TOKEN = re.compile(r"[^\W_]+|\|")
_ACRONYM = re.compile(r"([0-9]*[A-Z][A-Z0-9]+)s?")
_KEYS: dict[str, str] = {}
_MAX_CACHED_KEYS = 200_000


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
        words = tuple(TOKEN.findall(text))
        # the cache read inline: a call per word is most of the cost of ranking a day
        keys = tuple([_KEYS.get(word) or word_key(word) for word in words])
        return cls(words, keys, frozenset(keys))


@dataclass(frozen=True)
class TextField:
    """A title or abstract read both ways: as written, and with camelCase compounds split
    (`FlowMoE` -> `Flow MoE`; only its compounds, apart, which keeps this cheap)."""

    plain: Words
    split: Words | None

    @classmethod
    def of(cls, text: str) -> TextField:
        if not _COMPOUND_INSIDE.search(text):
            return cls(Words.of(text), None)
        compounds = [word for word in text.split() if _COMPOUND_INSIDE.search(word)]
        split = Words.of(" | ".join(CAMEL_BOUNDARY.sub(" ", word) for word in compounds))
        return cls(Words.of(text), split)


Fields = dict[str, tuple[TextField, TextField]]
"""Paper id -> its title and abstract as TextFields: read once, used by ranking and indexing."""


def fields_of(papers: Iterable[Paper]) -> Fields:
    return {paper.id: (TextField.of(paper.title), TextField.of(paper.abstract)) for paper in papers}
