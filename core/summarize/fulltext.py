"""A paper's full text for the LLM: arXiv's HTML (LaTeXML) page, else its PDF, else the abstract.

The text is used for one prompt and never stored or served (arXiv's terms). It is fitted into
a token budget keeping the introduction, method, experiments and conclusion before the rest.
"""

from __future__ import annotations

import io
import re
from typing import Literal

import lxml.html
from pydantic import BaseModel

from core.ingest.client import ArxivClient
from core.models import Paper

CHARS_PER_TOKEN = 4  # a conservative average for English technical prose
_DROP = (
    "//nav | //header | //footer | //script | //style | //img | //svg"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_bibliography ')]"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_note ')]"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_page_navbar ')]"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_page_header ')]"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_page_footer ')]"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_authors ')]"
)
_PRIORITY = (
    ("abstract", 0),
    ("introduction", 1),
    ("method", 2),
    ("approach", 2),
    ("model", 2),
    ("design", 2),
    ("system", 2),
    ("framework", 2),
    ("experiment", 3),
    ("evaluation", 3),
    ("result", 3),
    ("setup", 3),
    ("conclusion", 4),
    ("discussion", 4),
    ("limitation", 4),
    ("future", 4),
    ("related", 6),
    ("background", 6),
    ("appendix", 8),
    ("supplementary", 8),
)
_REFERENCES_HEADING = re.compile(r"^\s*(references|bibliography)\s*$", re.IGNORECASE | re.MULTILINE)
_WHITESPACE = re.compile(r"[ \t\r\f\v]+")


class Section(BaseModel):
    title: str
    text: str
    appendix: bool = False


class FullText(BaseModel):
    source: Literal["html", "pdf", "abstract"]
    text: str


def _classes(element: lxml.html.HtmlElement) -> set[str]:
    return set((element.get("class") or "").split())


def _text(element: lxml.html.HtmlElement) -> str:
    lines = (_WHITESPACE.sub(" ", line).strip() for line in "".join(element.itertext()).split("\n"))
    return "\n".join(line for line in lines if line)


def html_sections(html: bytes) -> list[Section]:
    """Sections of a LaTeXML page: navigation, bibliography and footnotes dropped, math read
    from its `alttext`."""
    root = lxml.html.fromstring(html)
    for element in root.xpath(_DROP):
        parent = element.getparent()
        if parent is not None:
            if element.tail:
                previous = element.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + element.tail
                else:
                    parent.text = (parent.text or "") + element.tail
            parent.remove(element)
    for math in root.iter("math"):
        alt, tail = math.get("alttext", ""), math.tail
        math.clear()
        math.text, math.tail = f" {alt} ", tail
    sections: list[Section] = []
    for abstract in root.xpath("//*[contains(@class, 'ltx_abstract')]"):
        sections.append(Section(title="Abstract", text=_text(abstract)))
    for section in root.xpath(
        "//section[contains(@class, 'ltx_section') or contains(@class, 'ltx_appendix')]"
    ):
        heading = section.find(".//h2")
        title = _text(heading) if heading is not None else ""
        if heading is not None:
            heading.getparent().remove(heading)
        sections.append(
            Section(title=title, text=_text(section), appendix="ltx_appendix" in _classes(section))
        )
    return [section for section in sections if section.text]


def pdf_text(pdf: bytes) -> str:
    """The PDF's text (pypdf), cut at the references heading."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    headings = list(_REFERENCES_HEADING.finditer(text))
    return text[: headings[-1].start()] if headings else text


def _priority(section: Section) -> int:
    if section.appendix:
        return 8
    title = section.title.casefold()
    return min((rank for word, rank in _PRIORITY if word in title), default=5)


def fit(sections: list[Section], max_tokens: int) -> str:
    """The sections that fit in `max_tokens`, chosen by importance, printed in paper order."""
    budget = max_tokens * CHARS_PER_TOKEN
    chosen: dict[int, str] = {}
    for index in sorted(range(len(sections)), key=lambda i: (_priority(sections[i]), i)):
        section = sections[index]
        block = f"## {section.title}\n{section.text}" if section.title else section.text
        if budget <= 0:
            break
        chosen[index] = block[:budget]
        budget -= len(chosen[index]) + 2
    return "\n\n".join(chosen[index] for index in sorted(chosen))


def abstract_only(paper: Paper) -> FullText:
    return FullText(source="abstract", text=f"## Abstract\n{paper.abstract}")


def _html_text(paper: Paper, client: ArxivClient, max_tokens: int) -> str | None:
    response = client.get_response(paper.html_url)
    if response.status_code == 200 and "html" in response.headers.get("content-type", ""):
        sections = html_sections(response.content)
        if len(sections) > 1:
            return fit(sections, max_tokens)
    return None


def _pdf_text(paper: Paper, client: ArxivClient, max_tokens: int) -> str | None:
    response = client.get_response(paper.pdf_url)
    if response.status_code == 200 and response.content.startswith(b"%PDF"):
        text = pdf_text(response.content)
        if text.strip():
            return fit([Section(title="", text=text)], max_tokens)
    return None


def fetch_full_text(paper: Paper, client: ArxivClient, max_tokens: int) -> FullText:
    """The HTML version if arXiv has one, else the PDF, else the abstract: a source that
    fails in any way (arXiv, an empty or broken page, a PDF no parser reads) is skipped."""
    readers = (("html", _html_text), ("pdf", _pdf_text))
    for source, reader in readers:
        try:
            text = reader(paper, client, max_tokens)
        except Exception:  # parsers of untrusted HTML and PDF raise many kinds
            continue
        if text:
            return FullText(source=source, text=text)  # type: ignore[arg-type]
    return abstract_only(paper)
