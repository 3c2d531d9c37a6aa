from __future__ import annotations

from collections import Counter

import feedparser
import pytest

from core.ingest import ArxivError
from core.ingest.api import parse_query
from core.ingest.normalize import split_authors, split_id
from core.ingest.rss import Announcements, Item, parse_announcements, read_item, rss_channel
from core.models import AnnounceType, Paper
from tests.conftest import shared_fixture
from tests.factories import RssItem, arxiv_rss

RSS = "arxiv-rss/all-archives-2024-11-28.rss.xml"


def test_split_authors_keeps_affiliations_whole() -> None:
    assert split_authors("A. Smith (MIT, USA), B. Jones, and C. Wu") == [
        "A. Smith (MIT, USA)",
        "B. Jones",
        "C. Wu",
    ]


def test_split_authors_converts_tex_accents() -> None:
    assert split_authors(r"D\'enes Berta, P\'eter Isp\'anovity") == [
        "Dénes Berta",
        "Péter Ispánovity",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oai:arXiv.org:2411.17700v2", ("2411.17700", 2)),
        ("http://arxiv.org/abs/hep-ph/0301050v1", ("hep-ph/0301050", 1)),
        ("https://arxiv.org/abs/2411.17700", ("2411.17700", 1)),
    ],
)
def test_split_id(text: str, expected: tuple[str, int]) -> None:
    assert split_id(text) == expected


def test_recorded_feed_is_read_completely() -> None:
    result = parse_announcements(shared_fixture(RSS).read_bytes())
    assert result.status == "ok"
    assert result.total == len(result.papers) == 1504
    assert Counter(p.announce_type for p in result.papers) == {
        AnnounceType.NEW: 926,
        AnnounceType.REPLACE: 569,
        AnnounceType.CROSS: 9,
    }
    assert max(len(p.authors) for p in result.papers) == 207
    assert len({p.id for p in result.papers}) == 1504
    assert sum("cs.LG" in p.categories for p in result.papers) == 218


def test_recorded_feed_fields() -> None:
    papers = {p.id: p for p in parse_announcements(shared_fixture(RSS).read_bytes()).papers}
    first = papers["2411.17700"]
    assert first.version == 1
    assert first.categories == ["cs.CY"]
    assert first.primary_category == "cs.CY"
    assert first.authors == ["Jun Cui"]
    assert first.abstract.startswith("This study investigates")
    assert "Announce Type" not in first.abstract
    assert first.license == "http://creativecommons.org/licenses/by/4.0/"
    assert str(first.announced) == "2024-11-28 00:00:00-05:00"
    cross = papers["2202.06515"]
    assert cross.announce_type == AnnounceType.CROSS
    assert cross.version == 3
    assert cross.doi == "10.1063/5.0236964"
    assert cross.journal_ref == "Physics of Fluids 36, 117158 (2024)"
    assert any("Dénes Berta" in p.authors for p in papers.values())
    assert not any("\\'" in name for p in papers.values() for name in p.authors)


def test_filters_by_category_and_type_before_normalising() -> None:
    result = parse_announcements(
        shared_fixture(RSS).read_bytes(), {"cs.LG"}, {AnnounceType.NEW, AnnounceType.CROSS}
    )
    assert result.total == 1504
    assert result.papers
    assert all("cs.LG" in p.categories for p in result.papers)
    assert {p.announce_type for p in result.papers} <= {AnnounceType.NEW, AnnounceType.CROSS}


def test_empty_feed_is_reported_not_treated_as_a_day() -> None:
    result = parse_announcements(shared_fixture("arxiv-rss/empty-archive.rss.xml").read_bytes())
    assert result.status == "empty"
    assert result.papers == []
    assert "no announcement" in result.message


def test_error_feed_says_what_arxiv_said() -> None:
    result = parse_announcements(shared_fixture("arxiv-rss/bad-archive-error.rss.xml").read_bytes())
    assert result.status == "error"
    assert result.message.startswith("arXiv said: Bad archive 'astroph'")


def test_garbage_is_an_error() -> None:
    assert parse_announcements(b"<html>oops").status == "error"


def test_own_feed_with_math_and_literal_markup() -> None:
    raw = arxiv_rss(
        [RssItem("2411.00001", title=r"$\omega$-Automata", abstract="if a < b then $x^{2n}$")]
    )
    (paper,) = parse_announcements(raw).papers
    assert paper.title == "ω-Automata"
    assert paper.abstract == "if a < b then x²ⁿ"
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]


def test_api_response_current_format() -> None:
    page = parse_query(
        shared_fixture("arxiv-api/query-testing-100.atom.xml").read_bytes(), ["cs.LG"]
    )
    assert page.total == 214881
    assert len(page.papers) == 100
    first = page.papers[0]
    assert (first.id, first.version, first.primary_category) == ("2202.12139", 1, "cs.SE")
    assert first.announce_type == AnnounceType.CROSS  # primary is not followed
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.comment
    assert first.comment.startswith("Artificial Intelligence in Software Testing")
    assert any(p.id == "hep-ph/0301050" for p in page.papers)
    assert max(p.version for p in page.papers) == 9
    names = {name for p in page.papers for name in p.authors}
    assert {"Oliver Weißl", "Lasse Møldrup"} <= names
    assert any(p.title.startswith("ωTest") for p in page.papers)


def test_api_response_legacy_format() -> None:
    raw = shared_fixture("arxiv-api/legacy-2016-id_list-1111.2011v2.xml").read_bytes()
    (paper,) = parse_query(raw, ["cond-mat.str-el"]).papers
    assert (paper.id, paper.version) == ("1111.2011", 2)
    assert paper.primary_category == "cond-mat.str-el"
    assert paper.announce_type == AnnounceType.NEW
    assert (
        paper.title == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large "
        "Connectivity Limit"
    )


def test_api_error_entry_raises() -> None:
    raw = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <title>arXiv Query: search_query=&amp;id_list=1234.12345</title>
  <id>https://arxiv.org/api/abc</id>
  <updated>2026-04-12T00:00:00-04:00</updated>
  <opensearch:totalResults>1</opensearch:totalResults>
  <entry>
    <id>https://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
    <updated>2026-04-12T00:00:00-04:00</updated>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>"""
    with pytest.raises(ArxivError, match=r"incorrect id format for 1234\.12345"):
        parse_query(raw, ["cs.LG"])


def test_a_description_is_text_every_character_kept() -> None:
    raw = arxiv_rss(
        [
            RssItem(
                "2411.00001",
                abstract="We show $a<b$ and c>d, x<y; Tom & Jerry; <img src=x>; &amp;.",
            )
        ]
    )
    paper = parse_announcements(raw, ["cs.LG"], [AnnounceType.NEW]).papers[0]
    assert paper.abstract == "We show a<b and c>d, x<y; Tom & Jerry; <img src=x>; &amp;."


def test_recorded_abstracts_with_markup_characters_keep_them() -> None:
    """Against the description text read with lxml, independently of feedparser: every
    abstract without TeX is kept to the character (whitespace aside)."""
    from lxml import etree

    raw = shared_fixture("arxiv-rss/all-archives-2024-11-28.rss.xml").read_bytes()
    expected = {}
    for item in etree.fromstring(raw).iter("item"):
        text = (item.findtext("description") or "").partition("Abstract:")[2]
        if "$" not in text and "\\" not in text:
            expected[(item.findtext("link") or "").rsplit("/", 1)[1]] = " ".join(text.split())
    papers = parse_announcements(raw, None, None).papers
    checked = [p for p in papers if p.id in expected]
    with_markup = [p for p in checked if "<" in expected[p.id] or "&" in expected[p.id]]
    assert len(with_markup) >= 10
    assert [p.id for p in checked if p.abstract != expected[p.id]] == []


def test_every_item_belongs_to_the_channels_announcement_day() -> None:
    """An item dated otherwise (a stray pubDate) must not split the day."""
    raw = arxiv_rss([RssItem(f"2411.0000{n}") for n in range(1, 5)]).replace(
        b"<pubDate>Thu, 28 Nov 2024 00:00:00 -0500</pubDate>\n      <arxiv:announce_type>",
        b"<pubDate>Mon, 01 Jan 2001 00:00:00 -0500</pubDate>\n      <arxiv:announce_type>",
        1,
    )
    assert b"2001" in raw
    announcements = parse_announcements(raw)
    assert {paper.day.isoformat() for paper in announcements.papers} == {"2024-11-28"}


def test_every_upstream_field_is_bounded_with_a_marker() -> None:
    from core.models import CUT, LIMITS, MAX_AUTHORS

    creators = ", ".join(f"Author {n}" for n in range(MAX_AUTHORS + 250))
    title = "word " * 2_000  # cut where a space is: the cut text is shorter than its bound
    raw = arxiv_rss(
        [RssItem("2411.00001", title=title, abstract="A" * 1_000_000, creators=creators)]
    )
    (paper,) = parse_announcements(raw).papers
    assert len(paper.title) <= LIMITS["title"] + len(CUT) and paper.title.endswith(CUT)
    assert len(paper.abstract) == LIMITS["abstract"] + len(CUT)
    assert paper.abstract.endswith(CUT)
    assert len(paper.authors) == MAX_AUTHORS + 1
    assert paper.authors[-1] == "… and 250 more"
    # read back or put in another model (which validates it again), it stays as it is
    assert Paper.model_validate_json(paper.model_dump_json()) == paper
    assert Announcements(status="ok", message="", papers=[paper]).papers == [paper]


def _read_by_feedparser(raw: bytes) -> list[Item]:
    """Every item's fields as feedparser reads them: the independent reading."""
    document = feedparser.parse(raw, sanitize_html=False, resolve_relative_uris=False)
    assert not document.bozo, document.get("bozo_exception")
    return [
        Item(
            guid=entry.get("id", ""),
            link=entry.get("link", ""),
            title=entry.get("title", ""),
            description=entry.get("summary", ""),
            categories=[tag["term"] for tag in entry.get("tags", [])],
            announce_type=entry.get("arxiv_announce_type", "new").strip(),
            creators=entry.get("author", ""),
            rights=entry.get("rights", ""),
            doi=entry.get("arxiv_doi", ""),
            journal_ref=entry.get("arxiv_journal_reference", ""),
        )
        for entry in document.entries
    ]


def _read_here(raw: bytes) -> list[Item]:
    return [read_item(item) for item in rss_channel(raw).iterfind("item")]


@pytest.mark.parametrize(
    "name",
    ["all-archives-2024-11-28.rss.xml", "empty-archive.rss.xml", "bad-archive-error.rss.xml"],
)
def test_every_recorded_field_is_read_as_feedparser_reads_it(name: str) -> None:
    raw = shared_fixture(f"arxiv-rss/{name}").read_bytes()
    assert _read_here(raw) == _read_by_feedparser(raw)


def test_hostile_fields_are_read_as_feedparser_reads_them() -> None:
    from tests.factories import HOSTILE

    raw = arxiv_rss(
        [
            RssItem("2411.00001", title=HOSTILE, abstract=f"{HOSTILE} $a<b$ &amp; <![CDATA[x]]>"),
            RssItem("2411.00002", title="  spaced\n title ", creators=f"A. B ({HOSTILE}), C. D"),
        ]
    )
    assert _read_here(raw) == _read_by_feedparser(raw)


def test_a_maintenance_page_is_named_so_even_when_it_is_not_well_formed() -> None:
    page = b"<!DOCTYPE html>\n<HTML><body><p>arXiv is down for maintenance<br></body></HTML>"
    result = parse_announcements(page)
    assert result.status == "error"
    assert "maintenance page" in result.message


def test_entities_declared_by_the_response_are_not_expanded() -> None:
    """A response is data: an entity it declares is not expanded, and a billion laughs is
    refused, saying why."""
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10 if n else "lol"}">' for n in range(10))
    feed = arxiv_rss([RssItem("2411.00001", title="Title")])
    declared = feed.replace(b"<rss ", b'<!DOCTYPE rss [<!ENTITY x "expanded">]>\n<rss ', 1)
    result = parse_announcements(declared.replace(b"<title>Title", b"<title>Title &x;", 1))
    assert result.status == "ok" and "expanded" not in result.papers[0].title
    bomb = feed.replace(b"<rss ", f"<!DOCTYPE rss [{laughs}]>\n<rss ".encode(), 1)
    result = parse_announcements(bomb.replace(b"<title>Title", b"<title>Title &l9;", 1))
    assert result.status == "error" and "entity" in result.message


def test_arxivs_elements_are_read_in_whatever_namespace_it_declares() -> None:
    raw = arxiv_rss([RssItem("2411.00001", announce_type="cross")])
    moved = raw.replace(b"http://arxiv.org/schemas/atom", b"http://arxiv.org/schemas/rss")
    assert moved != raw
    (paper,) = parse_announcements(moved).papers
    assert paper.announce_type == AnnounceType.CROSS
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]


@pytest.mark.parametrize(
    "bad",
    [b"\x01", b"\x1f", b"\x0b", b"\xef\xbf\xbe", b"&#1;", b"&#x1F;", b"&#0011;", b"&#65535;"],
)
def test_xml_invalid_characters_are_removed_and_counted_not_fatal(bad: bytes) -> None:
    raw = arxiv_rss(
        [
            RssItem("2411.00001", title="Caf\u00e9 \u03c9 kernels", abstract="Before after."),
            RssItem("2411.00002"),
        ]
    ).replace(b"Before", b"Be" + bad + b"fore")
    result = parse_announcements(raw)
    assert result.status == "ok" and result.repaired == 1
    assert [paper.id for paper in result.papers] == ["2411.00001", "2411.00002"]
    assert result.papers[0].abstract == "Before after."
    assert result.papers[0].title == "Caf\u00e9 \u03c9 kernels"


def test_allowed_characters_and_references_are_kept() -> None:
    raw = arxiv_rss([RssItem("2411.00001", abstract="tab\there")]).replace(
        b"tab", b"&#9;&#xA;&#13;&#x20;&amp;#1;"
    )
    result = parse_announcements(raw)
    assert result.repaired == 0
    assert result.papers[0].abstract == "&#1; here"


def test_a_response_cut_short_is_still_refused_after_repair() -> None:
    raw = arxiv_rss([RssItem("2411.00001"), RssItem("2411.00002")])
    result = parse_announcements(raw[: raw.index(b"</item>") + 7] + b"\x01")
    assert result.status == "error" and "cut short" in result.message


def test_invisible_controls_are_removed_from_titles_authors_and_abstracts() -> None:
    """A right-to-left override makes "KV cache \u202egnp.exe" read "KV cache exe.png"."""
    raw = arxiv_rss(
        [
            RssItem(
                "2411.00001",
                title="KV cache \u202egnp.exe\u202c",
                creators="Ada\u200b Lovelace, Alan \u009bTuring\u2066",
                abstract="Zero\u200bwidth and \u00adsoft, but Persian \u0645\u200c\u06cc kept.",
            )
        ]
    )
    paper = parse_announcements(raw).papers[0]
    assert paper.title == "KV cache gnp.exe"
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert paper.abstract == "Zerowidth and soft, but Persian \u0645\u200c\u06cc kept."
