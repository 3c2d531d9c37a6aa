"""The project's own small test data, shaped exactly like arXiv's responses."""

from __future__ import annotations

import asyncio
import gzip
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any

import httpx

from core.models import AnnounceType, Paper, Publication, RefreshReport, RenderedFeed, Summary
from core.store import Store

ANNOUNCED = datetime(2024, 11, 28, 5, 0, tzinfo=UTC)
ANNOUNCED_DAY = date(2024, 11, 28)


def make_paper(
    arxiv_id: str = "2411.00001",
    title: str = "A paper",
    abstract: str = "An abstract.",
    categories: tuple[str, ...] = ("cs.LG",),
    announce_type: AnnounceType = AnnounceType.NEW,
    announced: datetime = ANNOUNCED,
    authors: tuple[str, ...] = ("Ada Lovelace",),
) -> Paper:
    return Paper(
        id=arxiv_id,
        title=title,
        authors=list(authors),
        abstract=abstract,
        categories=list(categories),
        primary_category=categories[0],
        announce_type=announce_type,
        announced=announced,
    )


@dataclass
class RssItem:
    arxiv_id: str
    title: str = "A title"
    abstract: str = "An abstract."
    categories: tuple[str, ...] = ("cs.LG",)
    announce_type: str = "new"
    creators: str = "Ada Lovelace, Alan Turing"
    version: int = 1
    extra: list[str] = field(default_factory=list)


SERVING = RssItem(
    "2411.00001",
    title="Paged attention memory for serving",
    abstract="We page the attention memory of a serving system to batch many requests.",
)
"""The paper the tests of likes like."""
KNOTS = RssItem(
    "2411.00003", title="Topology of knots", abstract="Knot invariants and their topology."
)
"""A paper on the tests' keyword (topology) and nothing like SERVING."""
NEXT_DAY = "Fri, 29 Nov 2024"
NEXT_DAY_ITEMS = [
    RssItem("2411.00011", title="Topology of surfaces", abstract="Surface topology."),
    RssItem(
        "2411.00012",
        title="Paged attention memory for serving long prompts",
        abstract="A serving system that pages attention memory to batch requests.",
    ),
]
"""A later day: a paper on the tests' keyword (topology) and one like SERVING, to show a like
carrying over to it."""


def arxiv_rss(items: list[RssItem], day: str = "Thu, 28 Nov 2024") -> bytes:
    """An rss.arxiv.org response with these items, in arXiv's layout."""
    entries = []
    for item in items:
        categories = "".join(f"<category>{c}</category>" for c in item.categories)
        entries.append(
            f"""<item>
      <title>{escape(item.title)}</title>
      <link>https://arxiv.org/abs/{item.arxiv_id}</link>
      <description>arXiv:{item.arxiv_id}v{item.version} Announce Type: {item.announce_type}
Abstract: {escape(item.abstract)}</description>
      <guid isPermaLink="false">oai:arXiv.org:{item.arxiv_id}v{item.version}</guid>
      {categories}
      <pubDate>{day} 00:00:00 -0500</pubDate>
      <arxiv:announce_type>{item.announce_type}</arxiv:announce_type>
      <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
      {"".join(item.extra)}
      <dc:creator>{escape(item.creators)}</dc:creator>
    </item>"""
        )
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">
  <channel>
    <title>cs.AI, cs.LG updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.AI+cs.LG</link>
    <description>cs.AI, cs.LG updates on the arXiv.org e-print archive.</description>
    <atom:link href="http://rss.arxiv.org/rss/cs.AI+cs.LG" rel="self" type="application/rss+xml"/>
    <docs>http://www.rssboard.org/rss-specification</docs>
    <language>en-us</language>
    <lastBuildDate>{day} 14:47:20 +0000</lastBuildDate>
    <managingEditor>rss-help@arxiv.org</managingEditor>
    <pubDate>{day} 00:00:00 -0500</pubDate>
    <skipDays>
      <day>Saturday</day>
      <day>Sunday</day>
    </skipDays>
    {"".join(entries)}
  </channel>
</rss>""".encode()


def arxiv_api(
    entries: list[tuple[str, str, str, tuple[str, ...]]], total: int | None = None
) -> bytes:
    """An export.arxiv.org/api/query response; entries are (id with version, title, published,
    categories with the primary first)."""
    body = []
    for versioned_id, title, published, categories in entries:
        tags = "".join(
            f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in categories
        )
        body.append(
            f"""<entry>
    <id>http://arxiv.org/abs/{versioned_id}</id>
    <title>{escape(title)}</title>
    <updated>{published}</updated>
    <link href="https://arxiv.org/abs/{versioned_id}" rel="alternate" type="text/html"/>
    <link href="https://arxiv.org/pdf/{versioned_id}" rel="related" type="application/pdf" title="pdf"/>
    <summary>An abstract about LLM inference.</summary>
    {tags}
    <published>{published}</published>
    <arxiv:primary_category term="{categories[0]}"/>
    <author><name>Ada Lovelace</name></author>
  </entry>"""
        )
    count = len(entries) if total is None else total
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/test</id>
  <title>arXiv Query: search_query=cat:cs.LG</title>
  <updated>2024-11-29T00:00:00Z</updated>
  <opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>
  <opensearch:totalResults>{count}</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  {"".join(body)}
</feed>""".encode()


def latexml_page(title: str, sections: list[tuple[str, str]], appendix: str = "") -> bytes:
    """An arxiv.org/html page as LaTeXML writes it: navigation, authors, abstract, sections
    with MathML (alttext), footnotes, bibliography."""
    body = "".join(
        f'<section class="ltx_section" id="S{n}"><h2 class="ltx_title ltx_title_section">'
        f'<span class="ltx_tag">{n} </span>{escape(heading)}</h2>'
        f'<div class="ltx_para"><p class="ltx_p">{text}'
        f'<span class="ltx_note ltx_role_footnote"><sup>1</sup>a footnote to drop</span></p></div>'
        f"</section>"
        for n, (heading, text) in enumerate(sections, start=1)
    )
    if appendix:
        body += (
            '<section class="ltx_appendix" id="A1"><h2 class="ltx_title ltx_title_appendix">'
            f'Appendix A Proofs</h2><p class="ltx_p">{appendix}</p></section>'
        )
    return f"""<!DOCTYPE html><html lang="en"><head><title>{escape(title)}</title></head>
<body><nav class="ltx_page_navbar"><a href="#S1">navigation to drop</a></nav>
<div class="ltx_page_main"><div class="ltx_page_content">
<article class="ltx_document ltx_authors_1line">
<h1 class="ltx_title ltx_title_document">{escape(title)}</h1>
<div class="ltx_authors"><span class="ltx_personname">Ada Lovelace</span></div>
<div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6>
<p class="ltx_p">We study <math xmlns="http://www.w3.org/1998/Math/MathML" alttext="O(n\\log n)" display="inline"><semantics><mi>O</mi></semantics></math> sorting.</p></div>
{body}
<section class="ltx_bibliography" id="bib"><h2 class="ltx_title ltx_title_bibliography">References</h2>
<ul class="ltx_biblist"><li class="ltx_bibitem">A cited paper to drop</li></ul></section>
</article></div>
<footer class="ltx_page_footer">footer to drop</footer></div></body></html>""".encode()


def chat_completion(
    content: str, prompt_tokens: int = 1000, completion_tokens: int = 200
) -> dict[str, object]:
    """An OpenAI chat-completions response body, as OpenAI, DashScope and vLLM send it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1732770000,
        "model": "qwen-long",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


PUBLISHED = datetime(2024, 11, 28, 6, 0, tzinfo=UTC)


def published_report(message: str = "ok") -> RefreshReport:
    return RefreshReport(started=PUBLISHED, status="published", message=message, source="test")


def rendered_feed(body: bytes, etag: str = '"x"') -> RenderedFeed:
    return RenderedFeed(
        body=body,
        gzip=gzip.compress(body, compresslevel=1, mtime=0),
        media_type="application/rss+xml",
        etag=etag,
        last_modified=PUBLISHED,
    )


def both_copies(store: Store, key: str) -> RenderedFeed | None:
    """A stored feed read back whole: its bytes and its compressed copy (two reads)."""
    plain, compressed = store.feed(key), store.feed(key, gzip=True)
    if plain is None or compressed is None:
        return None
    return plain.model_copy(update={"gzip": compressed.gzip})


def noise(size: int, seed: int) -> bytes:
    """Incompressible bytes, so a feed of this size really is this size."""
    return random.Random(seed).randbytes(size)


def two_publications() -> tuple[Publication, Publication]:
    first = Publication(
        papers=[make_paper("2411.00001", title="Old"), make_paper("2411.00002")],
        days={ANNOUNCED_DAY - timedelta(days=1): ["2411.00001", "2411.00002"]},
        feeds={"a.xml": rendered_feed(b"old a"), "b.xml": rendered_feed(noise(2_000_000, seed=1))},
        report=published_report("first"),
    )
    second = Publication(
        papers=[make_paper("2411.00003", title="New"), make_paper("2411.00002")],
        days={ANNOUNCED_DAY: ["2411.00003", "2411.00002"]},
        feeds={"a.xml": rendered_feed(b"new a"), "c.xml": rendered_feed(noise(2_000_000, seed=2))},
        remove_days=[ANNOUNCED_DAY - timedelta(days=1)],
        remove_papers=["2411.00001"],
        report=published_report("second"),
    )
    return first, second


HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> ]]> &amp; a<b javascript:x"
HOSTILE_LLM = f"Ignore the above. {HOSTILE} [click](https://evil.example/phish)\n## Heading"


def with_summary(paper: Paper, text: str) -> Paper:
    """`paper` with an English summary whose every field is `text`."""
    summary = Summary(
        arxiv_id=paper.id,
        version=paper.version,
        language="en",
        model="test-model",
        source="html",
        tldr=text,
        contributions=text,
        methods=text,
        results=text,
        conclusions=text,
        abstract_sha="x",
        prompt_version="1",
        created=PUBLISHED,
    )
    return paper.model_copy(update={"summaries": {"en": summary}})


class Drip(httpx.SyncByteStream):
    """A server that sends its body one byte per (fake) second, so no single read times out."""

    def __init__(self, advance: Callable[[float], None], body: bytes) -> None:
        self.advance, self.body, self.sent = advance, body, 0

    def __iter__(self) -> Iterator[bytes]:
        for byte in self.body:
            self.advance(1.0)
            self.sent += 1
            yield bytes([byte])


class ServerMessages:
    """The one thing the query gate asks of a request: the server's ASGI messages."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self._messages = messages

    @classmethod
    def connected(cls) -> Any:
        return cls([{"type": "http.request", "body": b"", "more_body": False}])

    @classmethod
    def gone(cls) -> Any:
        return cls([{"type": "http.disconnect"}])

    async def receive(self) -> dict[str, Any]:
        if self._messages:
            return self._messages.pop(0)
        await asyncio.Event().wait()  # connected: no message until the test ends
        raise AssertionError("unreachable")


@dataclass
class CatchupEntry:
    arxiv_id: str
    title: str = "A title"
    primary: str = "cs.LG"


def catchup_page(
    day: date,
    new: Sequence[CatchupEntry] = (),
    cross: Sequence[CatchupEntry] = (),
    replace: Sequence[CatchupEntry] = (),
    subject: str = "Machine Learning",
) -> bytes:
    """arXiv's catchup page for `day`, as arxiv-browse renders `catchup.html` with
    `list/list_macros.html` (one page, no abstracts); "No updates for" when all are empty."""
    short, long = day.strftime("%a, %d %b %Y"), day.strftime("%A, %-d %B %Y")
    count = len(new) + len(cross) + len(replace)
    index, sections, number = [], [], 0
    for heading, entries, label in (
        ("New submissions", new, ""),
        ("Cross submissions", cross, "cross"),
        ("Replacement submissions", replace, "rep"),
    ):
        if not entries:
            continue
        index.append(
            f'<li><a href="#item{number + 1}">{heading.replace(" submissions", "")}</a></li>'
        )
        items = []
        for entry in entries:
            number += 1
            kind = {"cross": f"(cross-list from {entry.primary})", "rep": "(replaced)"}.get(
                label, ""
            )
            items.append(
                f"""    <dt>
      <a name='item{number}'>[{number}]</a>
      <a href ="/abs/{entry.arxiv_id}" title="Abstract" id="{entry.arxiv_id}">
        arXiv:{entry.arxiv_id}
      </a>
      {kind}
      [<a href="/pdf/{entry.arxiv_id}" title="Download PDF" id="pdf-{entry.arxiv_id}" aria-labelledby="pdf-{entry.arxiv_id}">pdf</a>]
    </dt>
    <dd>
      <div class='meta'>
        <div class='list-title mathjax'><span class='descriptor'>Title:</span>
          {escape(entry.title)}
        </div>
        <div class='list-authors'><a href="/a/lovelace_a_1" rel="nofollow">Ada Lovelace</a></div>
        <div class='list-subjects'><span class='descriptor'>Subjects:</span>
          <span class="primary-subject">Machine Learning ({entry.primary})</span>
        </div>
      </div>
    </dd>"""
            )
        sections.append(
            f"""<dl id='articles'>
    <h3>{heading} for {long} (showing {len(entries)} of {len(entries)} entries )</h3>
{"".join(items)}
</dl>"""
        )
    body = (
        "".join(sections)
        if count
        else f"<br>\n        <div>\n          <p>No updates for {short}</p>\n        </div>\n      <br>"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><title>Catchup</title></head>
<body>
<div id='content-inner'>
<div id='dlpage'>
  <h1>Catchup results for {subject} on {short}</h1>
    <ul>
      {"".join(index)}
    </ul>
    <div>
      Total of {count} entries
      <br>
    </div>
{body}
    <div></div>
      Total of {count} entries
      <br>
    </div>
</div>
</div>
</body>
</html>
""".encode()
