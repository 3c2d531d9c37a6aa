"""Full text for summaries: LaTeXML pages, the recorded PDF, the fallbacks, the token budget."""

from __future__ import annotations

import httpx
import pytest

from core.config import ArxivConfig
from core.ingest.client import ArxivClient
from core.store.sqlite import SQLiteStore
from core.summarize.fulltext import Section, fetch_full_text, fit, html_sections, pdf_text
from tests.conftest import FakeClock, shared_fixture
from tests.factories import Drip, latexml_page, make_paper

PAGE = latexml_page(
    "Fast Sorting",
    [
        ("Introduction", "Sorting matters."),
        ("Related Work", "Others sorted before."),
        ("Method", 'We use <math alttext="\\alpha"><mi>α</mi></math>-merging.'),
        ("Experiments", "It is 2x faster."),
        ("Conclusion", "Sort faster."),
    ],
    appendix="Long proofs.",
)


def test_latexml_sections_without_navigation_footnotes_or_bibliography() -> None:
    sections = html_sections(PAGE)
    assert [s.title for s in sections] == [
        "Abstract",
        "1 Introduction",
        "2 Related Work",
        "3 Method",
        "4 Experiments",
        "5 Conclusion",
        "Appendix A Proofs",
    ]
    text = "\n".join(s.text for s in sections)
    assert "O(n\\log n)" in sections[0].text
    assert "\\alpha" in sections[3].text
    for dropped in (
        "navigation to drop",
        "a footnote to drop",
        "A cited paper to drop",
        "footer to drop",
        "Ada Lovelace",
    ):
        assert dropped not in text
    assert sections[-1].appendix


def test_fit_keeps_core_sections_before_related_work_and_appendix() -> None:
    sections = html_sections(PAGE)
    everything = fit(sections, 10_000)
    assert (
        everything.index("Introduction") < everything.index("Method") < everything.index("Proofs")
    )
    tight = fit(sections, 40)  # ~160 characters
    assert "Sorting matters." in tight
    assert "Related Work" not in tight
    assert "Proofs" not in tight
    assert len(fit([Section(title="", text="x" * 10_000)], 100)) == 400


def test_recorded_pdf_extracts_title_and_sections() -> None:
    text = pdf_text(shared_fixture("papers/1111.2011v2.pdf").read_bytes())
    assert "Quantum Criticality for Extended Nodes on a Bethe Lattice" in text
    assert "I. INTRODUCTION" in text
    assert "V. DISCUSSION" in text
    assert len(text) > 30_000


def _client(routes: dict[str, httpx.Response], store: SQLiteStore) -> ArxivClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return routes.get(str(request.url), httpx.Response(404))

    config = ArxivConfig(retry_seconds=0)
    return ArxivClient(config, store, transport=httpx.MockTransport(handler), clock=FakeClock())


def test_html_then_pdf_then_abstract(sqlite_store: SQLiteStore) -> None:
    paper = make_paper("2411.00001", abstract="Only the abstract.")
    html = httpx.Response(200, content=PAGE, headers={"content-type": "text/html; charset=utf-8"})
    pdf = httpx.Response(
        200,
        content=shared_fixture("papers/1111.2011v2.pdf").read_bytes(),
        headers={"content-type": "application/pdf"},
    )
    both = _client({paper.html_url: html, paper.pdf_url: pdf}, sqlite_store)
    assert fetch_full_text(paper, both, 5000).source == "html"
    pdf_only = _client({paper.pdf_url: pdf}, sqlite_store)
    from_pdf = fetch_full_text(paper, pdf_only, 5000)
    assert from_pdf.source == "pdf"
    assert "Bethe Lattice" in from_pdf.text
    assert len(from_pdf.text) <= 5000 * 4
    neither = fetch_full_text(paper, _client({}, sqlite_store), 5000)
    assert (neither.source, neither.text) == ("abstract", "## Abstract\nOnly the abstract.")
    broken = _client(
        {paper.pdf_url: httpx.Response(200, content=b"%PDF-1.4 garbage")}, sqlite_store
    )
    assert fetch_full_text(paper, broken, 5000).source == "abstract"


@pytest.mark.parametrize(
    "page", [b"", b"<html", b"\x00\xff garbage", b"<html><body></body></html>"]
)
def test_an_unreadable_html_page_falls_back_without_failing(
    sqlite_store: SQLiteStore, page: bytes
) -> None:
    paper = make_paper("2411.00001", abstract="Only the abstract.")
    html = httpx.Response(200, content=page, headers={"content-type": "text/html"})
    text = fetch_full_text(paper, _client({paper.html_url: html}, sqlite_store), 5000)
    assert (text.source, text.text) == ("abstract", "## Abstract\nOnly the abstract.")


def test_a_dripping_page_falls_back_to_the_abstract_by_the_deadline(
    sqlite_store: SQLiteStore,
) -> None:
    paper = make_paper("2411.00001", abstract="Only the abstract.")
    client = _client({}, sqlite_store)
    clock = client.clock
    assert isinstance(clock, FakeClock)
    client.deadline = clock.now + 30.0
    page = httpx.Response(
        200, headers={"content-type": "text/html"}, stream=Drip(clock.sleep, PAGE)
    )
    client.http = httpx.Client(transport=httpx.MockTransport(lambda request: page))
    start = clock.now
    text = fetch_full_text(paper, client, 5000)
    assert text.source == "abstract"
    assert clock.now - start <= 31.0  # the PDF is not even asked for: no time is left
