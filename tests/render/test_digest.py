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


def test_plain_punctuation_reads_as_written_in_a_terminal() -> None:
    """Only what could become markup is escaped: commas, colons, dots, parentheses and
    hyphens stay as they are."""
    paper = make_paper(
        "2411.00001",
        title="Sparse-K: 2.5x faster (and smaller) attention",
        abstract="We reach 13.26% on GSM8K, i.e. a +1.5 gain; see https://x.org/a-b.",
        authors=("Akshat Sharma", "Ada Lovelace"),
    )
    markdown = render_digest([paper], date(2024, 11, 28), ["cs.LG"], None)
    assert "[Sparse-K: 2.5x faster (and smaller) attention](" in markdown
    assert "- **Authors:** Akshat Sharma, Ada Lovelace" in markdown
    assert "> We reach 13.26% on GSM8K, i.e. a +1.5 gain; see https://x.org/a-b." in markdown


def test_text_opening_like_a_block_stays_in_its_quote() -> None:
    openings = ["- a list", "+ a list", "1. a list", "2) a list", "# a heading", "> a quote"]
    papers = [
        make_paper(f"2411.0000{n}", title=f"Paper {n}", abstract=f"{opening} and more")
        for n, opening in enumerate(openings, start=1)
    ]
    markdown = render_digest(papers, date(2024, 11, 28), ["cs.LG"], None)
    document = lxml.html.fromstring(f"<div>{MarkdownIt('commonmark').render(markdown)}</div>")
    quotes = document.xpath("//blockquote")
    assert [quote.text_content().strip() for quote in quotes] == [
        f"{opening} and more" for opening in openings
    ]
    assert not document.xpath("//blockquote//*[not(self::p)]")


def test_a_number_that_opens_no_list_is_written_as_it_is() -> None:
    paper = make_paper(abstract="18.11 points, 2.5x faster; 3.")
    markdown = render_digest([paper], date(2024, 11, 28), ["cs.LG"], None)
    assert "> 18.11 points, 2.5x faster; 3." in markdown
