"""Summarize the day's top papers: cached, bounded in concurrency, tokens and time.

Each summary is saved as soon as it is made, so a refresh cut short by its deadline keeps
its work and the next refresh does only what is left. One paper's failure leaves that paper
without a summary (tried again next refresh) and every other paper unaffected.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import httpx

from core.clock import Clock, utc_now
from core.config import Settings
from core.ingest.client import ArxivClient
from core.models import Paper, Summary, SummaryStats
from core.query.select import configured_feeds, select
from core.rank.ranker import sort_key
from core.store import Caches, Store, StoreError
from core.summarize.client import Completion, LLMClient, LLMError
from core.summarize.fulltext import FullText, fetch_full_text
from core.summarize.prompts import PROMPT_VERSION, messages

Outcome = Literal["made", "failed", "skipped", "deferred"]


def abstract_sha(paper: Paper) -> str:
    return hashlib.sha256(paper.abstract.encode()).hexdigest()[:16]


class Summarizer:
    def __init__(
        self,
        settings: Settings,
        store: Caches,
        llm: LLMClient,
        texts: Callable[[Paper], FullText],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.config = settings.summaries
        self.store = store
        self.llm = llm
        self.texts = texts
        self.clock = clock
        self._texts: dict[str, FullText] = {}
        self._guard = threading.Lock()
        self.closers: list[Callable[[], None]] = [llm.close]

    def close(self) -> None:
        for close in self.closers:
            close()

    def variant(self, language: str) -> str:
        return f"{language}|{self.config.model}|{PROMPT_VERSION}"

    def targets(self, papers: list[Paper]) -> list[Paper]:
        """The best `max_papers` of the newest day scoring at least `min_score`, plus each
        named feed's own top N."""
        if not papers:
            return []
        newest = max(paper.day for paper in papers)
        today = sorted((p for p in papers if p.day == newest), key=sort_key)
        eligible = [
            p for p in today if p.score.vetoed_by is None and p.score.total >= self.config.min_score
        ]
        chosen = {p.id: p for p in eligible[: self.config.max_papers]}
        feeds = configured_feeds(self.settings)
        for name, named in self.settings.feeds.named.items():
            if named.summaries:
                for paper in select(today, feeds[name])[: named.summaries]:
                    chosen.setdefault(paper.id, paper)
        return list(chosen.values())

    def attach(self, papers: list[Paper]) -> list[Paper]:
        """Papers with exactly the valid cached summaries of this model and prompt attached, by
        language (summaries a paper carried from another model or prompt are dropped)."""
        ids = [paper.id for paper in papers]
        cached = {
            lang: self.store.summaries(ids, self.variant(lang)) for lang in self.config.languages
        }
        attached = []
        for paper in papers:
            found = {
                lang: summary
                for lang, by_id in cached.items()
                if (summary := by_id.get(paper.id)) and self._valid(summary, paper)
            }
            attached.append(
                paper.model_copy(update={"summaries": found}) if found or paper.summaries else paper
            )
        return attached

    @staticmethod
    def _valid(summary: Summary, paper: Paper) -> bool:
        """Same version, or a new version whose abstract did not change."""
        return summary.version == paper.version or summary.abstract_sha == abstract_sha(paper)

    def run(
        self, papers: list[Paper], start_by: float, deadline: float
    ) -> tuple[list[Paper], SummaryStats]:
        """Summarize what the targets lack, then return all papers with summaries attached.
        No summary starts after `start_by`; every call ends by `deadline` (clock times)."""
        stats = SummaryStats()
        papers = self.attach(papers)
        wanted = [(p, lang) for p in self.targets(papers) for lang in self.config.languages]
        pending = [(paper, lang) for paper, lang in wanted if lang not in paper.summaries]
        stats.reused = len(wanted) - len(pending)
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            outcomes = list(
                pool.map(lambda job: self._one(job, start_by, deadline, stats), pending)
            )
        for outcome in outcomes:
            setattr(stats, outcome, getattr(stats, outcome) + 1)
        return self.attach(papers), stats

    def _text(self, paper: Paper) -> FullText:
        with self._guard:
            cached = self._texts.get(paper.id)
        if cached is None:
            cached = self.texts(paper)
            with self._guard:
                self._texts[paper.id] = cached
        return cached

    def _one(
        self, job: tuple[Paper, str], start_by: float, deadline: float, stats: SummaryStats
    ) -> Outcome:
        paper, language = job
        if self.clock.time() >= start_by:
            return "deferred"
        day = utc_now(self.clock).date().isoformat()
        if self.store.add_usage(day, 0) >= self.config.daily_token_budget:
            return "skipped"
        try:
            _, completion = self._make(paper, language, deadline, retry_until=start_by)
        except LLMError as error:
            with self._guard:
                stats.failures.append(f"{paper.id} ({language}): {error}")
            return "deferred" if self.clock.time() >= start_by else "failed"
        except StoreError:
            raise  # the store is the refresh's own failure, not this paper's
        except Exception as error:  # anything else about this paper stays with this paper
            with self._guard:
                stats.failures.append(f"{paper.id} ({language}): {type(error).__name__}: {error}")
            return "failed"
        with self._guard:
            stats.prompt_tokens += completion.prompt_tokens
            stats.completion_tokens += completion.completion_tokens
        return "made"

    def one(
        self, paper: Paper, language: str, deadline: float
    ) -> tuple[Summary, Completion | None]:
        """One paper's summary now (`arxiv-feeds summarize`): the cached one if still valid,
        else a new one, cached. The completion is None when the cache answered."""
        cached = self.store.summaries([paper.id], self.variant(language)).get(paper.id)
        if cached is not None and self._valid(cached, paper):
            return cached, None
        return self._make(paper, language, deadline)

    def _make(
        self, paper: Paper, language: str, deadline: float, retry_until: float | None = None
    ) -> tuple[Summary, Completion]:
        text = self._text(paper)
        prompt = messages(paper, text.text, language)
        completion = self.llm.summarize(prompt, deadline, retry_until)
        day = utc_now(self.clock).date().isoformat()
        self.store.add_usage(day, completion.prompt_tokens + completion.completion_tokens)
        summary = Summary(
            **completion.summary.model_dump(),
            arxiv_id=paper.id,
            version=paper.version,
            language=language,
            model=self.config.model,
            prompt_version=PROMPT_VERSION,
            abstract_sha=abstract_sha(paper),
            source=text.source,
            created=utc_now(self.clock),
        )
        self.store.put_summary(summary, self.variant(language))
        return summary, completion


FULL_TEXT_RETRY_SECONDS = 20.0  # a summary's text fetch must not run far past the deadline


def live_summarizer(
    settings: Settings,
    store: Store,
    clock: Clock,
    deadline: float,
    *,
    arxiv_transport: httpx.BaseTransport | None = None,
    llm_transport: httpx.BaseTransport | None = None,
) -> Summarizer | None:
    """A summarizer wired to arXiv (full text) and the LLM provider, or None when no key is
    configured; full-text fetches end by `deadline` (clock time), as the LLM calls do by the
    one given to `run`. The transports are for tests; `close()` releases both clients."""
    if not settings.summaries.enabled:
        return None
    arxiv = settings.arxiv.model_copy(
        update={"retry_seconds": min(settings.arxiv.retry_seconds, FULL_TEXT_RETRY_SECONDS)}
    )
    texts = ArxivClient(arxiv, store, transport=arxiv_transport, clock=clock, deadline=deadline)
    llm = LLMClient(settings.summaries, clock, transport=llm_transport)
    budget = settings.summaries.max_input_tokens
    summarizer = Summarizer(
        settings, store, llm, lambda paper: fetch_full_text(paper, texts, budget), clock
    )
    summarizer.closers.append(texts.close)
    return summarizer
