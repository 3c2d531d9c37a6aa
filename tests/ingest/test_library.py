"""`arxiv-feeds like --from FILE | --zotero`: a reader's library as liked papers, from the
exports reference managers write (shaped as arXiv, Zotero and JabRef write them) and from
Zotero's web API (shaped as its documentation describes)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from core.cli import EXIT_UPSTREAM, EXIT_USAGE, main
from core.config import load_settings
from core.ingest.library import read_bibtex, read_csl_json, read_ris, zotero_entries, zotero_pages
from core.store import open_store

BIBTEX = """% Exported by arXiv ("Export BibTeX citation"), Zotero and JabRef
@misc{vaswani2023attention,
      title={Attention Is All You Need},
      author={Ashish Vaswani and Noam Shazeer},
      year={2023},
      eprint={1706.03762},
      archivePrefix={arXiv},
      primaryClass={cs.CL},
      url={https://arxiv.org/abs/1706.03762},
}

@misc{liu_minikv_2024,
\ttitle = {{MiniKV}: 2-bit {KV} cache (a study) for {LLM} inference},
\turl = {http://arxiv.org/abs/2411.18077},
\tdoi = {10.48550/arXiv.2411.18077},
\tnote = {arXiv:2411.18077 [cs]},
}

@article{maldacena1999,
  author = "Maldacena, Juan",
  title = "The Large N limit of superconformal field theories and supergravity",
  eprint = "hep-th/9711200",
  archivePrefix = "arXiv",
  journal = "Int. J. Theor. Phys.",
}

@inproceedings{paged,
  title = {Efficient Memory Management for LLM Serving with PagedAttention},
  url = {https://arxiv.org/pdf/2309.06180v1.pdf},
}

@article{dao2022, doi = {10.48550/ARXIV.2205.14135}, title = {FlashAttention}}

@book{knuth1984,
  title = {The TeXbook},
  publisher = {Addison-Wesley},
}
"""

RIS = """TY  - GEN
TI  - Attention Is All You Need
AU  - Vaswani, Ashish
DO  - 10.48550/arXiv.1706.03762
UR  - http://arxiv.org/abs/1706.03762
N1  - arXiv:1706.03762 [cs]
PY  - 2023
ER  -\x20

TY  - JOUR
TI  - A paper without a preprint
AU  - Lovelace, Ada
JO  - Journal of Examples
ER  -\x20
"""

CSL_JSON = [
    {
        "id": "http://zotero.org/users/475425/items/X42A7DEE",
        "type": "article",
        "title": "Speculative decoding",
        "URL": "http://arxiv.org/abs/2211.17192",
        "number": "arXiv:2211.17192",
        "publisher": "arXiv",
    },
    {"id": "knuth", "type": "book", "title": "The TeXbook"},
    {"id": "doi-only", "type": "article", "DOI": "10.48550/arXiv.2309.06180"},
]


def _zotero_item(key: str, **data: str) -> dict[str, object]:
    """One item as Zotero's web API returns it (`format=json`)."""
    return {
        "key": key,
        "version": 12,
        "library": {"type": "user", "id": 475425, "name": "reader"},
        "links": {"self": {"href": f"https://api.zotero.org/users/475425/items/{key}"}},
        "meta": {"numChildren": 0},
        "data": {"key": key, "version": 12, "itemType": "preprint", **data},
    }


def test_bibtex_ids_are_read_however_they_are_written() -> None:
    library = read_bibtex(BIBTEX)
    assert library.ids == ["1706.03762", "2411.18077", "hep-th/9711200", "2309.06180", "2205.14135"]
    assert library.without_id == ["knuth1984"]


def test_ris_and_csl_json_ids_are_read_and_entries_without_one_counted() -> None:
    ris = read_ris(RIS)
    assert (ris.ids, ris.without_id) == (["1706.03762"], ["A paper without a preprint"])
    csl = read_csl_json(json.dumps(CSL_JSON, indent=2))
    assert (csl.ids, csl.without_id) == (["2211.17192", "2309.06180"], ["knuth"])


@pytest.mark.parametrize(
    ("reader", "text", "line"),
    [
        (read_bibtex, "@misc{ok, eprint={2411.18077}}\n\n@article{broken,\n  title = {Open\n", 3),
        (read_bibtex, "@misc{, title = {No key}}", 1),
        (read_ris, "TY  - GEN\nTI  - Fine\nthis line is no RIS\nER  - \n", 3),
        (read_ris, "TY  - GEN\nTI  - Never ended\n", 2),
        (read_csl_json, '[\n  {"id": "a"},\n  {"id": \n]', 4),
        (read_csl_json, '{"not": "a list"}', 1),
    ],
)
def test_a_file_that_is_not_what_it_claims_names_its_wrong_line(
    reader: object, text: str, line: int
) -> None:
    from core.ingest.library import LibraryError

    with pytest.raises(LibraryError, match=f"^line {line}: "):
        reader(text)  # type: ignore[operator]


def test_zotero_web_api_pages_are_read_and_attachments_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import core.ingest.library

    monkeypatch.setattr(core.ingest.library, "ZOTERO_PAGE", 3)
    items = [
        _zotero_item("A1", title="MiniKV", url="http://arxiv.org/abs/2411.18077", DOI=""),
        _zotero_item(
            "A2",
            title="Attached PDF",
            itemType="attachment",
            url="https://arxiv.org/pdf/1706.03762",
        ),
        _zotero_item("A3", title="Archived", archiveID="arXiv:2309.06180"),
        _zotero_item("A4", title="Extra", extra="arXiv: 2205.14135"),
        _zotero_item("A5", title="A book"),
    ]
    asked: list[httpx.URL] = []

    def zotero(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        assert request.headers["Zotero-API-Key"] == "read-only-key"
        start = int(request.url.params["start"])
        page = items[start : start + 100] if start == 0 else []
        return httpx.Response(
            200, json=page[:3] if start == 0 else items[3:], headers={"Total-Results": "5"}
        )

    library = zotero_entries(zotero_pages("475425", "read-only-key", httpx.MockTransport(zotero)))
    assert library.ids == ["2411.18077", "2309.06180", "2205.14135"]
    assert library.without_id == ["A book"]
    assert [url.params["start"] for url in asked] == ["0", "3"]
    assert asked[0].path == "/users/475425/items" and asked[0].params["format"] == "json"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "arxiv-feeds.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/lib.db"\n')
    return path


def _likes(config: Path) -> dict[str, str]:
    store = open_store(load_settings(config, env={}).store)
    try:
        return dict(store.likes())
    finally:
        store.close()


def test_like_from_a_file_records_every_arxiv_paper_and_names_the_rest(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    references = tmp_path / "references.bib"
    references.write_text(BIBTEX)
    assert main(["--config", str(config), "like", "--from", str(references)]) == 0
    out = capsys.readouterr().out
    assert "liked 5 arXiv papers from references.bib" in out
    assert "1 entries have no arXiv id and were left out: knuth1984" in out
    assert set(_likes(config)) == {
        "1706.03762",
        "2411.18077",
        "hep-th/9711200",
        "2309.06180",
        "2205.14135",
    }


def test_a_malformed_file_records_nothing_and_says_which_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.ris"
    broken.write_text(RIS.replace("PY  - 2023", "2023"))
    assert main(["--config", str(config), "like", "--from", str(broken)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == (
        f"arxiv-feeds: {broken}: line 7: not an RIS line ('XY  - value'): '2023'; "
        "nothing recorded\n"
    )
    assert _likes(config) == {}


def test_like_from_zotero_needs_its_variables_and_says_when_zotero_refuses(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZOTERO_USER_ID", raising=False)
    assert main(["--config", str(config), "like", "--zotero"]) == EXIT_USAGE
    assert "set ZOTERO_USER_ID (a number) and ZOTERO_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("ZOTERO_USER_ID", "475425")
    monkeypatch.setenv("ZOTERO_API_KEY", "wrong")
    import core.ingest.library

    refusing = httpx.MockTransport(lambda request: httpx.Response(403, text="Forbidden"))
    real = core.ingest.library.zotero_pages
    monkeypatch.setattr(core.ingest.library, "zotero_pages", lambda u, k: real(u, k, refusing))
    assert main(["--config", str(config), "like", "--zotero"]) == EXIT_UPSTREAM
    err = capsys.readouterr().err
    assert "Zotero answered HTTP 403: check ZOTERO_USER_ID" in err and "wrong" not in err
