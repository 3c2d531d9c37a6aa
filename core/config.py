"""Settings: `arxiv-feeds.toml` plus environment overrides, validated with pydantic.

The defaults below are the ones `arxiv-feeds.toml` ships (a test keeps the two equal), so a
deployment without the file behaves like a fresh clone.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from core.arxiv import check_arxiv_id, check_category
from core.models import AnnounceType
from core.rank.profile import DEFAULT_ALIASES, DEFAULT_INTERESTS, DEFAULT_KEYWORDS
from core.text import redact, slugify

DEFAULT_CONFIG_PATH = Path("arxiv-feeds.toml")
DEFAULT_STORE_URL = "sqlite:///./data/arxiv-feeds.db"
RESERVED_FEED_NAMES = frozenset({"all", "keyword", "k"})
Format = Literal["xml", "atom", "json"]
FORMATS: tuple[Format, ...] = ("xml", "atom", "json")

FEED_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class ConfigError(Exception):
    """A configuration problem, worded for the person who has to fix it."""


Category = Annotated[str, AfterValidator(check_category)]
"""A category (`cs.LG`) or a whole archive (`cs`, `math`, `astro-ph`, `hep-th`)."""


ArxivId = Annotated[str, AfterValidator(check_arxiv_id)]
"""An arXiv id as given (a version is accepted and dropped)."""
ArxivIdList = TypeAdapter(list[ArxivId])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    """A keyword rule: the term, its aliases (any may match) and what a match is worth.

    A term is matched case-insensitively as whole words; a trailing `*` makes its last word a
    prefix (`decod*`), and the last word may take a plural `s`/`es`.
    """

    term: Annotated[str, Field(min_length=1, max_length=100)]
    aliases: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    weight: float = Field(default=1.0, ge=-100, le=100)

    @property
    def slug(self) -> str:
        return slugify(self.term)

    @field_validator("term", "aliases")
    @classmethod
    def _has_a_word(cls, value: Any) -> Any:
        for text in value if isinstance(value, list) else [value]:
            if not slugify(text):
                raise ValueError(f"expected a term with letters or digits, got {text!r}")
        return value


def _as_rules(value: Any) -> Any:
    """Accept `"MoE"` or `{term = "MoE", ...}`; merge terms that differ only by case."""
    if not isinstance(value, list):
        return value
    merged: dict[str, dict[str, Any]] = {}
    for item in value:
        entry = {"term": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or "term" not in entry:
            return value  # let pydantic report the malformed entry
        key = str(entry["term"]).casefold()
        if key in merged:
            kept = merged[key]
            kept["aliases"] = list(kept.get("aliases", [])) + list(entry.get("aliases", []))
        else:
            merged[key] = dict(entry)
    return list(merged.values())


class ArxivConfig(_Strict):
    categories: list[Category] = Field(
        default_factory=lambda: ["cs.AI", "cs.CL", "cs.DC", "cs.LG"], min_length=1, max_length=50
    )
    announce_types: list[AnnounceType] = Field(
        default_factory=lambda: [AnnounceType.NEW, AnnounceType.CROSS], min_length=1
    )
    contact: str = Field(
        default="",
        pattern=r"^$|^[^\s@<>\"(),;]+@[^\s@<>\"(),;]+\.[^\s@<>\"(),;]+$",
        description="an e-mail address for arXiv's logs, sent in the User-Agent",
    )
    rss_url: str = Field(
        default="https://rss.arxiv.org/rss/",
        pattern=r"^https?://[^\s/]+/\S*/$",
        description="categories joined by + are appended, so it ends with /",
    )
    api_url: str = Field(
        default="https://export.arxiv.org/api/query", pattern=r"^https?://[^\s/]+/\S*$"
    )
    min_interval_seconds: float = Field(default=3.0, ge=3.0, le=60)
    retry_seconds: float = Field(default=120.0, ge=0, le=280)
    timeout_seconds: float = Field(default=30.0, gt=0, le=120)

    @field_validator("categories")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class RankConfig(_Strict):
    min_score: float = Field(default=1.0, ge=0, le=1000)
    title_weight: float = Field(default=1.5, ge=0, le=100)
    abstract_weight: float = Field(default=1.0, ge=0, le=100)
    keywords: Annotated[list[Rule], Field(max_length=500)] = Field(
        default_factory=lambda: [
            Rule(term=term, aliases=list(DEFAULT_ALIASES.get(term, ())))
            for term in DEFAULT_KEYWORDS
        ]
    )
    exclude: Annotated[list[Rule], Field(max_length=200)] = Field(
        default_factory=lambda: [Rule(term=t) for t in ("survey", "review", "tutorial")]
    )
    exclude_weight: float = Field(
        default=0.0, le=0, ge=-100, description="0 vetoes a paper; a negative number subtracts"
    )
    authors: list[Annotated[str, Field(min_length=2, max_length=200)]] = Field(
        default_factory=list, max_length=500
    )
    author_weight: float = Field(default=3.0, ge=-100, le=100)
    category_weights: dict[Category, Annotated[float, Field(ge=-100, le=100)]] = Field(
        default_factory=dict
    )
    specificity: bool = Field(
        default=True,
        description="weigh each keyword by how rare it is among the papers ranked together",
    )
    like: list[ArxivId] = Field(
        default_factory=list, max_length=500, description="arXiv ids of papers you care about"
    )
    dislike: list[ArxivId] = Field(default_factory=list, max_length=500)
    interests: str = Field(
        default="", max_length=2000, description="a few sentences on what you want to read"
    )
    like_weight: float = Field(
        default=12.0,
        ge=0,
        le=100,
        description="how much a paper as like a liked one as can be gains, in the day's scale "
        "(the spread of its scores, at least a point)",
    )
    interests_weight: float = Field(
        default=10.0,
        ge=0,
        le=100,
        description="points for a paper as like your interests as can be",
    )
    meaning_weight: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="how much similarity by meaning to your interests counts (0: not at all)",
    )
    embeddings: bool = Field(
        default=False,
        description="similarity to likes by embeddings from the summaries' provider (its key)",
    )
    embedding_model: str = Field(
        default="text-embedding-3-small", min_length=1, max_length=200, pattern=r"^[^|\s]+$"
    )
    embedding_dimensions: int | None = Field(
        default=None, ge=16, le=4096, description="ask for shorter vectors (OpenAI's text-3)"
    )

    @field_validator("keywords", "exclude", mode="before")
    @classmethod
    def _rules_from_strings(cls, value: Any) -> Any:
        return _as_rules(value)

    @model_validator(mode="before")
    @classmethod
    def _default_profile_interests(cls, data: Any) -> Any:
        """The default keywords come with the default interests; your own keywords do not."""
        if isinstance(data, dict) and "keywords" not in data and "interests" not in data:
            return {**data, "interests": DEFAULT_INTERESTS}
        return data

    @model_validator(mode="after")
    def _unique_slugs(self) -> RankConfig:
        seen: dict[str, str] = {}
        for rule in self.keywords:
            if rule.slug in seen:
                raise ValueError(
                    f"keywords {seen[rule.slug]!r} and {rule.term!r} share the feed URL "
                    f"/feeds/keyword/{rule.slug}; rename one"
                )
            seen[rule.slug] = rule.term
        return self


class NamedFeed(_Strict):
    """A `[feeds.NAME]` table: a feed of its own at `/feeds/NAME.xml`."""

    title: str = ""
    categories: list[Category] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list, description="terms of configured keywords")
    min_score: float | None = Field(default=None, ge=0, le=1000)
    types: list[AnnounceType] = Field(default_factory=list)
    days: int | None = Field(default=None, ge=1, le=30)
    limit: int | None = Field(default=None, ge=1, le=2000)
    summaries: int = Field(default=0, ge=0, le=100, description="summarize this feed's top N")


class FeedsConfig(_Strict):
    days: int = Field(default=3, ge=1, le=30, description="announcement days a feed holds")
    max_items: int = Field(default=500, ge=1, le=2000)
    ttl_minutes: int = Field(default=360, ge=1, le=1440)
    named: dict[str, NamedFeed] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _tables_are_named_feeds(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "named" in data:
            return data
        named = {k: v for k, v in data.items() if isinstance(v, dict)}
        rest = {k: v for k, v in data.items() if not isinstance(v, dict)}
        return {**rest, "named": named}


class StoreConfig(_Strict):
    url: str = DEFAULT_STORE_URL
    retention_days: int = Field(default=30, ge=1, le=3650)
    redis_prefix: str = Field(default="arxiv-feeds:", min_length=1, max_length=64)
    redis_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "redis://", "rediss://")):
            quoted = " (remove the quotes around it)" if value[:1] in "'\"" else ""
            raise ValueError(
                f"expected sqlite:///PATH, redis://HOST:PORT/DB or rediss://...{quoted}"
            )
        return value


class SiteConfig(_Strict):
    base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^\s/]+(/\S*)?$")
    title: str = "arxiv-feeds"


DASHSCOPE_BASE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"
OPENAI_BASE_URL = "https://api.openai.com/v1"


class SummariesConfig(_Strict):
    """LLM summaries of the top papers. Off unless an API key is in the environment."""

    max_papers: int = Field(default=15, ge=0, le=100)
    min_score: float = Field(default=1.0, ge=0, le=1000)
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")]] = Field(
        default_factory=lambda: ["en"], min_length=1, max_length=5
    )
    base_url: str = Field(default="", description="OpenAI-compatible endpoint; LLM_BASE_URL")
    model: str = Field(default="", description="LLM_MODEL; default qwen-long or gpt-4o-mini")
    response_format: Literal["json_schema", "json_object", "none"] = "json_object"
    concurrency: int = Field(default=5, ge=1, le=20)
    deadline_seconds: float = Field(default=240.0, ge=5, le=3600)
    request_timeout_seconds: float = Field(default=120.0, gt=0, le=600)
    max_input_tokens: int = Field(default=30_000, ge=500, le=1_000_000)
    daily_token_budget: int = Field(default=3_000_000, ge=0, le=1_000_000_000)
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)

    @field_validator("languages")
    @classmethod
    def _unique_languages(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @property
    def enabled(self) -> bool:
        return self.api_key is not None and self.max_papers > 0

    @property
    def status(self) -> str:
        """Whether summaries are on, and why not."""
        if self.api_key is None:
            return "off: no LLM_API_KEY, DASHSCOPE_API_KEY or OPENAI_API_KEY in the environment"
        if self.max_papers == 0:
            return "off: summaries.max_papers is 0"
        return f"on: {self.model} at {self.base_url}, languages {', '.join(self.languages)}"


class RefreshConfig(_Strict):
    time_budget_seconds: float = Field(
        default=270.0,
        ge=10,
        le=3600,
        description="every upstream call (arXiv, full text, LLM) of a refresh ends by then",
    )


class Settings(_Strict):
    site: SiteConfig = Field(default_factory=SiteConfig)
    arxiv: ArxivConfig = Field(default_factory=ArxivConfig)
    rank: RankConfig = Field(default_factory=RankConfig)
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    summaries: SummariesConfig = Field(default_factory=SummariesConfig)
    refresh: RefreshConfig = Field(default_factory=RefreshConfig)

    @property
    def likes_status(self) -> str:
        """How similarity to likes and interests is measured here, and why."""
        if not self.rank.embeddings:
            return "by shared words (rank.embeddings is off)"
        if self.summaries.api_key is None:
            return "by shared words: rank.embeddings needs LLM_API_KEY (or a provider's key)"
        return f"by embeddings: {self.rank.embedding_model} at {self.summaries.base_url}"

    @property
    def meaning_status(self) -> str:
        """Whether papers are also ranked by meaning, and against what."""
        if self.rank.meaning_weight == 0:
            return "off (rank.meaning_weight is 0)"
        from core.rank.meaning import compared_with  # the module that decides, imported late

        text, against = compared_with(self.rank)
        if not text:
            return "off (no interests or keywords to compare with)"
        return f"on: similarity to {against}, weight {self.rank.meaning_weight:g}, offline model"

    source: str = Field(default="built-in defaults", exclude=True)

    @model_validator(mode="after")
    def _named_feeds_fit(self) -> Settings:
        terms = {rule.term.casefold() for rule in self.rank.keywords}
        taken = RESERVED_FEED_NAMES | {c.casefold() for c in self.arxiv.categories}
        for name, feed in self.feeds.named.items():
            where = f"feeds.{name}"
            if name.casefold() in taken:
                raise ValueError(
                    f"{where}: the name {name!r} collides with a built-in route or category feed"
                )
            if not FEED_NAME_PATTERN.fullmatch(name):
                raise ValueError(f"{where}: a feed name is lowercase letters, digits, - and _")
            for term in feed.keywords:
                if term.casefold() not in terms:
                    raise ValueError(f"{where}.keywords: {term!r} is not one of rank.keywords")
            for category in feed.categories:
                if category not in self.arxiv.categories:
                    raise ValueError(f"{where}.categories: {category!r} is not in arxiv.categories")
        return self


def describe_validation_error(
    error: ValidationError, from_env: dict[str, str] | None = None, source: str = ""
) -> str:
    """One line per problem: where the value came from (`source`'s key, or the environment
    variable in `from_env` that set it), the value given, and what is expected."""
    lines = []
    for problem in error.errors():
        location = [str(part) for part in problem["loc"]]
        if location[:2] == ["feeds", "named"]:
            location.pop(1)  # `[feeds.NAME]` tables are stored under feeds.named
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against the README)"
        key = ".".join(location)
        shown = problem.get("input")
        private = key == "store.url"  # its address and credentials are never shown
        given = "" if private or isinstance(shown, dict | list) else f" (got {shown!r})"
        variable = next(
            (v for k, v in (from_env or {}).items() if f"{key}.".startswith(f"{k}.")), ""
        )
        where = f"{variable} (sets {key})" if variable else f"{source}: {key}" if source else key
        lines.append(f"{where}: {message}{given}" if location else message)
    return redact("\n".join(lines))


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (ARXIV_FEEDS_CONFIG, else ./arxiv-feeds.toml if present), apply the
    environment, validate. Raises ConfigError with a readable message."""
    from core.environment import clean_environment, environment_overrides  # builds on this

    env = clean_environment(dict(os.environ) if env is None else env)
    explicit = path or (Path(env["ARXIV_FEEDS_CONFIG"]) if env.get("ARXIV_FEEDS_CONFIG") else None)
    chosen = explicit or DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    if chosen.is_file():
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{chosen}: not valid TOML: {error}") from error
        except RecursionError as error:
            raise ConfigError(f"{chosen}: nested too deeply to be a configuration") from error
        except OSError as error:
            raise ConfigError(f"{chosen}: cannot be read: {error.strerror}") from error
    elif explicit is not None:
        raise ConfigError(f"{chosen}: no such config file (set by ARXIV_FEEDS_CONFIG or --config)")
    source = str(chosen) if chosen.is_file() else "built-in defaults"
    merged, from_env = environment_overrides(data, env)
    try:
        return Settings.model_validate({**merged, "source": source})
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, from_env, source)) from error
