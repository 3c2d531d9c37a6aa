"""The filters of ad-hoc feeds and `/api/papers`, parsed and bounded from query parameters."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.arxiv import covered
from core.config import Settings
from core.models import AnnounceType
from core.query.search import Query
from core.text import has_control_characters, slugify
from core.text import split_list as _split

MAX_TERMS = 20
DEFAULT_LIMIT = 200


class FeedQuery(BaseModel):
    """`?cat=cs.DC,cs.LG&q=moe,"kv cache"&min_score=4&type=new&days=3&limit=100`."""

    model_config = ConfigDict(extra="forbid")

    cat: Annotated[str, Field(max_length=500)] = ""
    q: Annotated[str, Field(max_length=1000)] = ""
    min_score: Annotated[float | None, Field(ge=0, le=1000)] = None
    type: Annotated[str, Field(max_length=100)] = ""
    days: Annotated[int | None, Field(ge=1, le=30)] = None
    """None: as many days as the ready-made feeds hold (`feeds.days`)."""
    limit: Annotated[int, Field(ge=1, le=2000)] = DEFAULT_LIMIT

    @field_validator("cat", "q", "type")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        if has_control_characters(value):
            raise ValueError("control characters (line breaks, tabs...) are not allowed")
        return value

    @field_validator("q")
    @classmethod
    def _terms_are_bounded(cls, value: str) -> str:
        terms = _split(value)
        if len(terms) > MAX_TERMS:
            raise ValueError(f"at most {MAX_TERMS} terms, got {len(terms)}")
        for term in terms:
            if len(term) > 100 or not slugify(term):
                raise ValueError(
                    f"each term needs letters or digits and at most 100 characters: {term!r}"
                )
        return value

    @field_validator("type")
    @classmethod
    def _known_types(cls, value: str) -> str:
        valid = [t.value for t in AnnounceType]
        for item in _split(value):
            if item not in valid:
                raise ValueError(
                    f"unknown announce type {item!r}; expected one of {', '.join(valid)}"
                )
        return value

    @property
    def categories(self) -> list[str]:
        return _split(self.cat)

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(_split(self.q)))

    @property
    def types(self) -> list[AnnounceType]:
        return [AnnounceType(item) for item in _split(self.type)]

    def unknown_categories(self, settings: Settings, present: set[str]) -> list[str]:
        """Categories neither followed nor listed by a paper of the days asked for."""
        followed = settings.arxiv.categories
        return [c for c in self.categories if c not in present and not covered([c], followed)]

    def describe(self) -> str:
        parts = [
            f"{name}={value}"
            for name, value in (
                ("cat", self.cat),
                ("q", self.q),
                ("min_score", self.min_score),
                ("type", self.type),
            )
            if value not in ("", None)
        ]
        return ", ".join(parts) or "everything"

    def days_in(self, settings: Settings) -> int:
        return self.days or settings.feeds.days

    def search(self, settings: Settings) -> Query:
        return Query(
            categories=self.categories,
            terms=self.terms,
            types=self.types,
            min_score=self.min_score,
            days=self.days_in(settings),
            limit=self.limit,
        )
