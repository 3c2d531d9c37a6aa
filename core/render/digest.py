"""A Markdown digest of one announcement day: statistics, then the ranked papers."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from html import escape

from core.models import Paper

ABSTRACT_LIMIT = 1200


_INLINE_MARKUP = re.compile(r"([\\`*_\[\]<~]|&(?=#?[0-9A-Za-z]+;))")
"""What can start markup inside a line: escapes, code, emphasis, links and images, HTML and
autolinks, strikethrough (GFM), character references. Other punctuation stays as written."""
_BLOCK_START = re.compile(r"([#>+=-]|\d+(?=[.)](?:\s|$)))")
"""What makes a line a heading, quote, list or rule when the text opens it."""


def _escape(text: str) -> str:
    """Text from arXiv or an LLM as one line of Markdown that is only text, readable as it
    is in a terminal: line breaks folded, and only the characters that could make a link,
    emphasis, code, HTML or (at the start) a heading, quote or list escaped."""
    line = _INLINE_MARKUP.sub(r"\\\1", " ".join(text.split()))
    opening = _BLOCK_START.match(line)
    if opening is None:
        return line
    if opening.group(1).isdigit():  # `1. ` or `1) `: the mark after the number
        end = opening.end()
        return f"{line[:end]}\\{line[end:]}"
    return "\\" + line


def _escape_html(text: str) -> str:
    """The same for the one line that is HTML (<details><summary>), where Markdown is off."""
    return escape(" ".join(text.split()))


def render_digest(
    papers: list[Paper],
    day: date | None,
    categories: list[str],
    updated: datetime | None,
    limit: int = 100,
) -> str:
    """Statistics over all of `papers` (rank order, best first), then the first `limit`."""
    if day is None:
        return "# arXiv digest\n\nNo papers yet: run `arxiv-feeds refresh` first.\n"
    by_type = Counter(paper.announce_type.value for paper in papers)
    by_category = Counter(c for paper in papers for c in paper.categories if c in categories)
    lines = [
        f"# arXiv digest for {day.isoformat()}",
        "",
        f"- Last update: {updated:%Y-%m-%d %H:%M} UTC" if updated else "- Last update: unknown",
        f"- Papers: {len(papers)} ({', '.join(f'{n} {t}' for t, n in by_type.most_common())})",
        f"- Categories monitored: {', '.join(f'{c} ({by_category[c]})' for c in categories)}",
        f"- Matching at least one keyword: {sum(1 for p in papers if p.score.rules)}",
        "",
    ]
    for rank, paper in enumerate(papers[:limit], start=1):
        abstract = paper.abstract
        if len(abstract) > ABSTRACT_LIMIT:
            abstract = abstract[:ABSTRACT_LIMIT].rsplit(" ", 1)[0] + " …"
        summary = paper.summary_in(None)
        tldr = [f"**TL;DR:** {_escape(summary.tldr)}", ""] if summary else []
        lines += [
            f"## {rank}. [{_escape(paper.title)}]({paper.abs_url})",
            "",
            _escape(paper.score.why()),
            "",
            f"- **Authors:** {_escape(', '.join(paper.authors))}",
            f"- **Category:** {paper.primary_category} · **Type:** {paper.announce_type.value}"
            f" · **arXiv:** {paper.id}v{paper.version} · [PDF]({paper.pdf_url})",
            f"- **Score:** {_escape(paper.score.explain())}",
            "",
            *tldr,
            f"> {_escape(abstract)}",
            "",
        ]
        lines += _summary_lines(paper)
    return "\n".join(lines)


def _summary_lines(paper: Paper) -> list[str]:
    """The first summary as a collapsible block (GitHub renders <details>)."""
    summary = paper.summary_in(None)
    if summary is None:
        return []
    lines = [
        f"<details><summary>Summary ({_escape_html(summary.language)}, "
        f"{_escape_html(summary.model)}): {_escape_html(summary.tldr)}</summary>",
        "",
    ]
    for title, text in summary.sections():
        lines += [f"**{title}.** {_escape(text)}", ""]
    return [*lines, "</details>", ""]
