"""Keyword rules compiled for matching, and where a rule hits a paper.

Matching is by whole words, case-insensitive, on word stems (Snowball, English): `Efficient`
finds `efficiency` and `efficiently`, `Quantization` finds `quantized`, `KV cache` finds
`KV caches`. All-caps words are acronyms, matched exactly (a plural `s` aside: `LLMs`).
Hyphenated and camelCase compounds are also read as separate words, so `MoE` finds `FlowMoE`
and `MoE-based`, `KV cache` finds `KV-cache` and `KVCache`. `RL` does not find `world`, and
`Training` does not find `constraining`. A trailing `*` makes the last word a prefix.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from core.config import Rule
from core.models import Hit
from core.rank.words import CAMEL_BOUNDARY, TOKEN, TextField, Words, word_key


@dataclass(frozen=True)
class _Found:
    text: str
    exact: bool
    """Found as written (or its plural), not only as another form of the same stem."""


def _positions(keys: tuple[str, ...], key: str) -> list[int]:
    """Where `key` is in `keys` (found by tuple.index, in C: this runs for most rules and
    papers)."""
    found: list[int] = []
    with contextlib.suppress(ValueError):
        while True:
            found.append(keys.index(key, found[-1] + 1 if found else 0))
    return found


@dataclass(frozen=True)
class _Spelling:
    keys: tuple[str, ...]
    forms: tuple[str, ...]
    prefix: bool

    @classmethod
    def of(cls, text: str, prefix: bool) -> _Spelling:
        words = TOKEN.findall(text)
        return cls(tuple(word_key(w) for w in words), tuple(w.casefold() for w in words), prefix)

    def find(self, text: Words) -> _Found | None:
        size = len(self.keys)
        first = self.keys[0]
        if self.prefix and size == 1:
            starts = [n for n, key in enumerate(text.keys) if key.startswith(first)]
        elif first in text.present:
            starts = _positions(text.keys, first)
        else:
            return None
        found = None
        for start in starts:
            if self._matches(text.keys[start : start + size]):
                words = text.words[start : start + size]
                found = _Found(" ".join(words), self._exact(words))
                if found.exact:
                    break
        return found

    def _matches(self, keys: tuple[str, ...]) -> bool:
        if len(keys) != len(self.keys) or keys[:-1] != self.keys[:-1]:
            return False
        return keys[-1] == self.keys[-1] or (self.prefix and keys[-1].startswith(self.keys[-1]))

    def _exact(self, words: tuple[str, ...]) -> bool:
        folded = [word.casefold() for word in words]
        if self.prefix:
            return all(w.startswith(form) for w, form in zip(folded, self.forms, strict=True))
        return all(
            w in (form, form + "s", form + "es") for w, form in zip(folded, self.forms, strict=True)
        )


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to match: the word keys of each of its spellings."""

    name: str
    weight: float
    spellings: tuple[_Spelling, ...]
    firsts: frozenset[str]
    """First keys of the spellings, or empty when one is a one-word prefix (scanned)."""

    @classmethod
    def compile(cls, rule: Rule) -> CompiledRule:
        spellings: dict[_Spelling, None] = {}
        for spelling in [rule.term, *rule.aliases]:
            prefix = spelling.endswith("*")
            text = spelling.rstrip("*")
            for variant in (text, CAMEL_BOUNDARY.sub(" ", text)):
                if TOKEN.search(variant):
                    spellings[_Spelling.of(variant, prefix)] = None
        prefixed = any(spelling.prefix and len(spelling.keys) == 1 for spelling in spellings)
        firsts = frozenset() if prefixed else frozenset(sp.keys[0] for sp in spellings)
        return cls(rule.term, rule.weight, tuple(spellings), firsts)

    def key_sets(self) -> list[tuple[tuple[str, ...], bool]]:
        """Each spelling's word keys, and whether its last word is a prefix."""
        return [(spelling.keys, spelling.prefix) for spelling in self.spellings]

    def find(self, field: TextField) -> _Found | None:
        """This rule in the field, as written if it is there so, else in another form."""
        other = None
        for text in (field.plain, field.split):
            if text is not None and not (self.firsts and self.firsts.isdisjoint(text.present)):
                for spelling in self.spellings:
                    found = spelling.find(text)
                    if found and found.exact:
                        return found
                    other = other or found
        return other


@dataclass(frozen=True)
class RuleIndex:
    """Rules in their configured order, indexed by the first word key of each spelling: a text
    is tried only against the rules whose first word it holds (a paper holds few), and those
    with a one-word prefix spelling (which no key names)."""

    rules: tuple[CompiledRule, ...]
    by_first: dict[str, tuple[int, ...]]
    firsts: frozenset[str]
    scanned: frozenset[int]

    @classmethod
    def of(cls, rules: Iterable[CompiledRule]) -> RuleIndex:
        ordered = tuple(rules)
        by_first: dict[str, list[int]] = defaultdict(list)
        for number, rule in enumerate(ordered):
            for key in rule.firsts:
                by_first[key].append(number)
        scanned = frozenset(number for number, rule in enumerate(ordered) if not rule.firsts)
        indexed = {key: tuple(numbers) for key, numbers in by_first.items()}
        return cls(ordered, indexed, frozenset(indexed), scanned)

    def candidates(self, fields: Iterable[TextField]) -> list[CompiledRule]:
        numbers = set(self.scanned)
        for field_ in fields:
            for text in (field_.plain, field_.split):
                if text is not None:
                    for key in self.firsts & text.present:
                        numbers.update(self.by_first[key])
        return [self.rules[number] for number in sorted(numbers)]


Place = tuple[Literal["title", "abstract"], TextField, float]


OTHER_FORM_WEIGHT = 0.5
"""A keyword found only as another form of its stem (`efficiency` for `Efficient`) is weaker
evidence than the word as written; it counts this much."""


def first_hit(
    rule: CompiledRule, places: Sequence[Place], *, as_written: bool = False
) -> Hit | None:
    """The rule's hit in the first place it matches (title before abstract), worth
    `rule.weight` times that place's weight (times OTHER_FORM_WEIGHT if not as written).
    `as_written`: only the word as written (or its plural) counts, not another form of its
    stem: an exclude rule `survey` vetoes "A survey of" and "Surveys", not "Surveying"."""
    for place, text, weight in places:
        if (found := rule.find(text)) and (found.exact or not as_written):
            points = rule.weight * weight * (1.0 if found.exact else OTHER_FORM_WEIGHT)
            return Hit(rule=rule.name, field=place, matched=found.text, points=points)
    return None
