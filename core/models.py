"""The data that flows between stages: papers, their scores, feed specs and refresh reports."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ARXIV_ABS = "https://arxiv.org/abs/"


class AnnounceType(StrEnum):
    """How arXiv announced a paper, relative to the categories that were asked for."""

    NEW = "new"
    CROSS = "cross"
    REPLACE = "replace"
    REPLACE_CROSS = "replace-cross"


Opinion = Literal["like", "dislike"]
"""What a reader thinks of a paper: rank papers like it higher, or lower."""


class Hit(BaseModel):
    """One reason a paper scored: a rule that matched somewhere, and what it added."""

    model_config = ConfigDict(frozen=True)

    rule: str
    field: Literal["title", "abstract", "author", "category", "like", "dislike", "meaning"]
    matched: str
    points: float
    similarity: float | None = None
    """For `like`, `dislike` and `meaning`: the cosine similarity to the nearest example, or
    to the interests (`matched`)."""
    among: tuple[int, int] | None = None
    """For a keyword weighed by its specificity: it matched this many of so many papers."""

    def explain(self) -> str:
        """`KV cache (abstract +2.05, in 2 of 237 papers)`, `like: <title> (0.42, +4.2)`."""
        if self.similarity is not None:
            return f"{self.rule}: {self.matched} ({self.similarity:.2f}, {self.points:+g})"
        among = f", in {self.among[0]} of {self.among[1]} papers" if self.among else ""
        return f"{self.rule} ({self.field} {self.points:+g}{among})"


WHY_LENGTH = 120
NOT_RULES = ("like", "dislike", "meaning")
"""Hits that come from what the reader likes or wrote, not from a rule that matched."""
INTERESTS_TITLE = "your interests"
"""What the reader's interests are called where a liked paper's title would stand."""


def _short(title: str, length: int = 36) -> str:
    return title if len(title) <= length else title[: length - 1].rstrip() + "…"


def _fitted(names: list[str], room: int) -> str:
    """As many of `names` as fit in `room` characters, the rest counted."""
    shown: list[str] = []
    for number, name in enumerate(names):
        more = len(names) - number - 1
        line = ", ".join([*shown, name]) + (f" +{more} more" if more else "")
        if len(line) > room and shown:
            return ", ".join(shown) + f" +{len(names) - number} more"
        shown.append(name)
    return ", ".join(shown)


class Score(BaseModel):
    """A paper's score with its explanation; `vetoed_by` names an exclude rule that vetoed it."""

    total: float = 0.0
    hits: list[Hit] = Field(default_factory=list)
    vetoed_by: str | None = None

    @property
    def rules(self) -> list[str]:
        """The matched rule names, each once, in the order they scored (likes and meaning are
        not rules: a keyword named "like" is not matched by a liked paper)."""
        return list(
            dict.fromkeys(
                hit.rule for hit in self.hits if hit.points > 0 and hit.field not in NOT_RULES
            )
        )

    def why(self) -> str:
        """Why the paper is here, read at a glance (at most WHY_LENGTH characters): what it
        matched, strongest first, then the liked paper it is like and the interests.
        `Why: KV cache, LLM inference · like "MiniKV: 2-bit KV cache" · your interests`."""
        if self.vetoed_by:
            return f"Why last: excluded by your rule '{self.vetoed_by}'"
        ranked = sorted((h for h in self.hits if h.points > 0), key=lambda h: -h.points)
        rules = list(dict.fromkeys(h.rule for h in ranked if h.field not in NOT_RULES))
        examples = list(
            dict.fromkeys(
                "your interests" if h.matched == INTERESTS_TITLE else f'like "{_short(h.matched)}"'
                for h in ranked
                if h.field in ("like", "meaning")
            )
        )
        if not rules and not examples:
            return "Why: in a category you follow; nothing else matched"
        tail = " · ".join(examples)
        room = WHY_LENGTH - len("Why: ") - len(tail) - len(" · ")
        line = "Why: " + " · ".join(part for part in (_fitted(rules, room), tail) if part)
        return line if len(line) <= WHY_LENGTH else line[: WHY_LENGTH - 1] + "…"

    def explain(self) -> str:
        """The full breakdown, every hit with its points:
        `4.5: MoE (title +1.5), KV cache (abstract +3)`."""
        if self.vetoed_by:
            return f"excluded by '{self.vetoed_by}'"
        if not self.hits:
            return "no rule matched"
        parts = ", ".join(hit.explain() for hit in self.hits)
        return f"{self.total:g}: {parts}"


class SummaryText(BaseModel):
    """What the LLM is asked to return: a TL;DR and the four sections, as plain text."""

    model_config = ConfigDict(extra="ignore")

    tldr: str = Field(min_length=1, max_length=1000)
    contributions: str = Field(min_length=1, max_length=6000)
    methods: str = Field(min_length=1, max_length=6000)
    results: str = Field(min_length=1, max_length=6000)
    conclusions: str = Field(min_length=1, max_length=6000)


SECTION_TITLES = (
    "Contributions and novelty",
    "Methods and experimental setup",
    "Main results",
    "Conclusions, limitations and future work",
)


class Summary(SummaryText):
    """A validated summary with where it came from; reused while the abstract is unchanged."""

    arxiv_id: str
    version: int
    language: str
    model: str
    prompt_version: str
    abstract_sha: str
    source: Literal["html", "pdf", "abstract"]
    created: datetime

    def sections(self) -> list[tuple[str, str]]:
        """The four sections in order, with their English titles."""
        texts = (self.contributions, self.methods, self.results, self.conclusions)
        return list(zip(SECTION_TITLES, texts, strict=True))


class SummaryStats(BaseModel):
    """What one summarize stage did, for the refresh report and /health."""

    made: int = 0
    reused: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: list[str] = Field(default_factory=list)


CUT = " […]"
"""What marks a field cut to its bound."""
LIMITS = {"title": 500, "abstract": 5000, "journal_ref": 1000, "comment": 1000}
"""Characters kept of each text field from upstream (arXiv's own limit on abstracts is 1,920)."""
MAX_AUTHORS, MAX_AUTHOR_NAME = 500, 300
_MORE = "… and "


def _bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` with the marker, or as it is if within it or cut already (a
    model's validators run again each time it goes into another model)."""
    if len(text) <= limit or (len(text) <= limit + len(CUT) and text.endswith(CUT)):
        return text
    return text[:limit].rstrip() + CUT


def _bounded_authors(names: list[str]) -> list[str]:
    """At most MAX_AUTHORS names, then one line saying how many more (a list so capped
    already is left as it is)."""
    capped = len(names) == MAX_AUTHORS + 1 and names[-1].startswith(_MORE)
    bounded = [_bounded(name, MAX_AUTHOR_NAME) for name in names[:MAX_AUTHORS]]
    if capped:
        bounded.append(names[-1])
    elif len(names) > MAX_AUTHORS:
        bounded.append(f"{_MORE}{len(names) - MAX_AUTHORS} more")
    return bounded


class Paper(BaseModel):
    """One arXiv paper as announced on one day, with its score once ranked.

    Every field from upstream is bounded (LIMITS, MAX_AUTHORS), cut with a marker, so a
    hostile or broken response cannot make a feed, the store or a page grow without end."""

    id: str = Field(description="arXiv id without version, e.g. 2411.17700 or hep-ph/0101001")
    version: int = 1
    title: str
    authors: list[str]
    abstract: str
    abstract_html: str | None = Field(
        default=None, description="the abstract as HTML with its math as MathML, if it has math"
    )
    categories: list[str]
    primary_category: str
    announce_type: AnnounceType
    announced: datetime = Field(description="announcement time, timezone-aware")
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    license: str | None = None
    score: Score = Field(default_factory=Score)
    summaries: dict[str, Summary] = Field(default_factory=dict, description="by language")

    @model_validator(mode="after")
    def _bound_upstream_fields(self) -> Paper:
        """Checked once the fields are read, so that pydantic reads a stored paper's JSON
        straight into the model (a `before` validator had it build a dict of every paper
        first: 1.6x the time); almost every paper is within bounds and left as it is."""
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                setattr(self, name, _bounded(value, limit))
                if name == "abstract":
                    self.abstract_html = None  # cut HTML would not be HTML: the text stands
        if self.abstract_html is not None and len(self.abstract_html) > 20 * LIMITS["abstract"]:
            self.abstract_html = None
        if len(self.authors) > MAX_AUTHORS or any(
            len(name) > MAX_AUTHOR_NAME for name in self.authors
        ):
            self.authors = _bounded_authors(self.authors)
        return self

    def summary_in(self, language: str | None) -> Summary | None:
        """The summary in `language`; with None, any summary the paper has."""
        if language is not None:
            return self.summaries.get(language)
        return next(iter(self.summaries.values()), None)

    @property
    def day(self) -> date:
        return self.announced.date()

    @property
    def abs_url(self) -> str:
        return f"{ARXIV_ABS}{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}v{self.version}"

    @property
    def html_url(self) -> str:
        return f"https://arxiv.org/html/{self.id}v{self.version}"


class FeedSpec(BaseModel):
    """What a feed holds: every filter is optional; an empty list means 'any'."""

    name: str
    title: str
    description: str = ""
    categories: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list, description="rule names; any one must match")
    min_score: float | None = None
    types: list[AnnounceType] = Field(default_factory=list)
    include_vetoed: bool = False
    days: int = 3
    limit: int = 500


DayState = Literal["complete", "recovered", "holiday", "missing"]


class DayRecord(BaseModel):
    """What arXiv announced on one weekday and what the service holds of it: `complete` (read
    from the day's announcement feed), `recovered` (read later from arXiv's catchup listing),
    `holiday` (arXiv confirmed it announced nothing), or `missing` (with why, and when the
    next try is)."""

    day: date
    state: DayState
    announced: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Per followed category: how many new, cross and replace entries arXiv listed."""
    held: int = 0
    """Papers of the day the service holds (of the announce types it keeps)."""
    reason: str = ""
    next_try: str = ""
    validators: dict[str, str] = Field(default_factory=dict)
    """The ETag and Last-Modified of the announcements answer the day was read from: a later
    refresh asks arXiv whether that answer changed before anything else."""

    def describe(self) -> str:
        """`2024-11-27 recovered: cs.LG 146 new, 1 cross, 71 replace; 147 held`."""
        counts = "; ".join(
            f"{category} " + ", ".join(f"{n} {kind}" for kind, n in kinds.items())
            for category, kinds in self.announced.items()
            if kinds
        )
        said = [counts] if counts else []
        if self.state in ("complete", "recovered"):
            said.append(f"{self.held} held")
        if self.state == "missing":
            said.append(f"{self.reason}; next try {self.next_try}".strip("; "))
        return f"{self.day} {self.state}" + (f": {'; '.join(said)}" if said else "")


Calendar = dict[date, DayRecord]


class RefreshReport(BaseModel):
    """What one refresh did, for the CLI, `/health` and the next refresh."""

    started: datetime
    finished: datetime | None = None
    status: Literal["published", "no-announcement", "upstream-error", "locked", "failed"]
    message: str
    source: str
    day: date | None = None
    fetched: int = 0
    kept: int = 0
    by_type: dict[str, int] = Field(default_factory=dict)
    repaired_characters: int = Field(
        default=0, description="XML-invalid characters removed from arXiv's answer"
    )
    feeds_rendered: int = 0
    papers_stored: int = 0
    pruned: int = 0
    summaries: SummaryStats | None = None
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    ranking: str = Field(default="", description="fingerprint of the rules and likes scored with")
    days: list[DayRecord] = Field(
        default_factory=list, description="the latest announcement days and their states"
    )


class RenderedFeed(BaseModel):
    """A feed rendered at refresh time, served as stored bytes (`gzip`: the same, compressed
    once at render time so serving a compressed feed costs no CPU)."""

    body: bytes
    gzip: bytes = b""
    media_type: str
    etag: str
    last_modified: datetime
    base_url: str = Field(default="", description="the site address its links were made with")


class Publication(BaseModel):
    """Everything one refresh writes, applied by the store in one atomic step."""

    papers: list[Paper] = Field(default_factory=list)
    days: dict[date, list[str]] = Field(default_factory=dict, description="day -> paper ids")
    feeds: dict[str, RenderedFeed] = Field(
        default_factory=dict, description="the complete set of pre-rendered feeds"
    )
    remove_days: list[date] = Field(default_factory=list)
    remove_papers: list[str] = Field(default_factory=list)
    indexes: dict[date, tuple[str, bytes]] = Field(
        default_factory=dict, description="day -> its index's key and bytes (core.query.index)"
    )
    report: RefreshReport
