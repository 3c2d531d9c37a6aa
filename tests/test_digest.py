"""The Markdown digest read by a CommonMark parser (markdown-it-py): arXiv text and LLM output
stay text, whatever Markdown or HTML they hold."""

from __future__ import annotations

from datetime import UTC, date, datetime

import lxml.html
from markdown_it import MarkdownIt

from core.render.digest import render_digest
from tests.factories import HOSTILE, HOSTILE_LLM, make_paper, with_summary

INJECTED_TITLE = "X](https://evil.example/phish) ([ # not a heading _or_ *emphasis*"


def test_arxiv_text_and_llm_output_cannot_become_markup() -> None:
    papers = [
        with_summary(
            make_paper("2411.00001", title=INJECTED_TITLE, abstract=f"{HOSTILE}\n# Heading"),
            HOSTILE_LLM,
        ),
        make_paper("2411.00002", title="Plain", authors=("A. [Evil](https://evil.example)",)),
    ]
    markdown = render_digest(
        papers, date(2024, 11, 28), ["cs.LG"], datetime(2024, 11, 28, 6, tzinfo=UTC)
    )
    html = MarkdownIt("commonmark").render(markdown)
    document = lxml.html.fromstring(f"<div>{html}</div>")

    links = [a.get("href") for a in document.iter("a")]
    assert "https://evil.example/phish" not in links and "https://evil.example" not in links
    paper_links = list(document.xpath("//h2/a"))
    assert [a.get("href") for a in paper_links] == [p.abs_url for p in papers]
    assert paper_links[0].text_content() == INJECTED_TITLE
    assert [h.tag for h in document.xpath("//h1 | //h2 | //h3")] == ["h1", "h2", "h2"]
    assert not document.xpath("//script | //img | //em")
    assert "Ignore the above." in document.text_content()
