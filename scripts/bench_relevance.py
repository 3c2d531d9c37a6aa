"""How well the ranking puts what a researcher wants first, on hand-graded days.

Reads `../shared/relevance/labels-*.json` (graded 0-3 for the default profile; see its
README) and the recorded arXiv day each grades, ranks that day's papers several ways, and
prints NDCG@15, NDCG@30, P@15 (rel >= 2), R@30 (rel = 3) and rel-0 papers in the top 15,
computed by the labels' own evaluator (`relevance_eval.py`, beside them):

- substring: the tool this service replaced (+1 per keyword found anywhere, +0.5 more in
  the title, plain case-insensitive substrings);
- rules: the keyword rules of `arxiv-feeds.toml` (stemmed words), every keyword at its weight;
- rules+specificity: the same, each keyword weighed by how rare it is that day (the default).

It also times ranking every paper of the recorded day (all categories), median of 5 runs.

    uv run python scripts/bench_relevance.py   (needs ../shared)
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from core.config import DEFAULT_KEYWORDS, Settings
from core.ingest.rss import parse_announcements
from core.models import Paper
from core.rank import Ranker

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RELEVANCE = SHARED / "relevance"
FIXTURES = SHARED / "fixtures" / "arxiv-rss"

Ranking = Callable[[list[Paper]], list[str]]


def _evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("relevance_eval", RELEVANCE / "relevance_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def day_papers(labels_file: Path, settings: Settings) -> list[Paper]:
    """The graded day's papers in arXiv's order, as the service ingests them."""
    day = labels_file.stem.removeprefix("labels-")
    raw = (FIXTURES / f"all-archives-{day}.rss.xml").read_bytes()
    announcements = parse_announcements(
        raw, settings.arxiv.categories, settings.arxiv.announce_types
    )
    return announcements.papers


def substring_scores(papers: list[Paper]) -> list[str]:
    def score(paper: Paper) -> float:
        title, text = paper.title.casefold(), f"{paper.title} {paper.abstract}".casefold()
        points = 0.0
        for keyword in DEFAULT_KEYWORDS:
            word = keyword.casefold()
            if word in text:
                points += 1.0 + (0.5 if word in title else 0.0)
        return points

    return _ordered(papers, score)


def rules_scores(settings: Settings, specificity: bool) -> Ranking:
    config = settings.rank.model_copy(update={"specificity": specificity})

    def rank(papers: list[Paper]) -> list[str]:
        return [paper.id for paper in Ranker.from_config(config).rank(papers)]

    return rank


def ranking_milliseconds(settings: Settings) -> tuple[int, float]:
    """Papers of the whole recorded day, and the median time to rank them all."""
    raw = (FIXTURES / "all-archives-2024-11-28.rss.xml").read_bytes()
    papers = parse_announcements(raw, None, None).papers
    ranker = Ranker.from_config(settings.rank)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        ranker.rank(papers)
        times.append((time.perf_counter() - started) * 1000)
    return len(papers), statistics.median(times)


def _ordered(papers: list[Paper], score: Callable[[Paper], float]) -> list[str]:
    """Best first; ties keep arXiv's order (Python's sort is stable)."""
    return [paper.id for paper in sorted(papers, key=lambda paper: -score(paper))]


def evaluate(evaluator: ModuleType, labels: dict[str, dict[str, object]], ids: list[str]) -> str:
    scores = {paper_id: float(len(ids) - n) for n, paper_id in enumerate(ids)}
    ranking, _, _ = evaluator.rank_ids(labels, scores)
    found = evaluator.metrics(labels, ranking)
    return "  ".join(f"{name} {value:5.3f}" for name, value in found.items())


def main() -> int:
    if not RELEVANCE.is_dir():
        print(f"no graded days: {RELEVANCE} is missing", file=sys.stderr)
        return 2
    evaluator = _evaluator()
    settings = Settings()
    rankings: dict[str, Ranking] = {
        "substring": substring_scores,
        "rules": rules_scores(settings, specificity=False),
        "rules+specificity": rules_scores(settings, specificity=True),
    }
    for labels_file in sorted(RELEVANCE.glob("labels-*.json")):
        labels = json.loads(labels_file.read_text())
        papers = [paper for paper in day_papers(labels_file, settings) if paper.id in labels]
        print(f"{labels_file.name}: {len(papers)} of {len(labels)} graded papers ingested")
        for name, ranking in rankings.items():
            print(f"  {name:<18} {evaluate(evaluator, labels, ranking(papers))}")
    count, milliseconds = ranking_milliseconds(settings)
    print(f"ranking all {count} papers of the recorded day: {milliseconds:.0f} ms (median of 5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
