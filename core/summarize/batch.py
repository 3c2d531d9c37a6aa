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

from core.clock import Clock, utc_now
from core.config import Settings
from core.models import Paper, Summary, SummaryStats
from core.rank import sort_key
from core.select import configured_feeds, select
from core.store import Store
from core.summarize.fulltext import FullText
from core.summarize.llm import LLMClient, LLMError
from core.summarize.prompts import PROMPT_VERSION, messages

Outcome = Literal["made", "failed", "skipped", "deferred"]


def abstract_sha(paper: Paper) -> str:
    return hashlib.sha256(paper.abstract.encode()).hexdigest()[:16]


class Summarizer:
    def __init__(
        self,
        settings: Settings,
        store: Store,
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

    def run(self, papers: list[Paper], deadline: float) -> tuple[list[Paper], SummaryStats]:
        """Summarize what the targets lack, then return all papers with summaries attached."""
        stats = SummaryStats()
        papers = self.attach(papers)
        wanted = [(p, lang) for p in self.targets(papers) for lang in self.config.languages]
        pending = [(paper, lang) for paper, lang in wanted if lang not in paper.summaries]
        stats.reused = len(wanted) - len(pending)
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            outcomes = list(
                pool.map(lambda job: self._one(job[0], job[1], deadline, stats), pending)
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

    def _one(self, paper: Paper, language: str, deadline: float, stats: SummaryStats) -> Outcome:
        if self.clock.time() >= deadline:
            return "deferred"
        day = utc_now(self.clock).date().isoformat()
        if self.store.add_usage(day, 0) >= self.config.daily_token_budget:
            return "skipped"
        try:
            text = self._text(paper)
            completion = self.llm.summarize(messages(paper, text.text, language), deadline)
        except LLMError as error:
            with self._guard:
                stats.failures.append(f"{paper.id} ({language}): {error}")
            return "deferred" if self.clock.time() >= deadline else "failed"
        with self._guard:
            stats.prompt_tokens += completion.prompt_tokens
            stats.completion_tokens += completion.completion_tokens
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
        return "made"
