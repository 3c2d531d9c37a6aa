from __future__ import annotations

import lxml.html
import pytest

from core.ingest.tex import tex_to_html, tex_to_unicode


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"D\'enes", "Dénes"),
        (r"M\"uller and Schr\"{o}dinger", "Müller and Schrödinger"),
        (r"{\"o}ffentlich", "öffentlich"),
        (r"$\omega$-regular languages", "ω-regular languages"),
        (r"$\mathcal{O}(n\log n)$ time", "𝒪(n log n) time"),
        (r"an \textit{emphasised} word", "an emphasised word"),
        (r"costs \$5", "costs $5"),
        ("plain text stays", "plain text stays"),
    ],
)
def test_converts_tex_to_readable_unicode(tex: str, expected: str) -> None:
    assert tex_to_unicode(tex) == expected


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"$H^3$ and CO$_2$", "H³ and CO₂"),
        (r"$\sqrt{T}$ regret", "√(T) regret"),
        (r"$x^{2n+1}$", "x²ⁿ⁺¹"),
        (r"$\frac{a+b}{c}$ and $\frac{1}{2}$", "(a+b)/c and 1/2"),
        (r"$\mathcal{O}\left(\log_{2}L\right)$", "𝒪(log₂L)"),
        (r"$b \in \left\{2,3\right\}$", "b ∈ {2,3}"),
        (r"\(\alpha\)-divergence", "α-divergence"),
        (r"\textbf{Hi}gh \emph{stakes} in \texttt{code}", "High stakes in code"),
        (r"code at \href{https://x.org/a}{here}.", "code at here (https://x.org/a)."),
        (r"prior work~\cite{a,b}.", "prior work."),
        (r"Kadıo\u{g}lu, K. Sel\c{c}uk, \v{S}imon", "Kadıoğlu, K. Selçuk, Šimon"),
    ],
)
def test_math_and_text_macros_read_as_unicode(tex: str, expected: str) -> None:
    assert tex_to_unicode(tex) == expected


@pytest.mark.parametrize("tex", [r"$$E = mc^2$$", r"$\unknownmacro{x}$"])
def test_what_unicode_cannot_render_stays_as_written(tex: str) -> None:
    assert tex_to_unicode(f"before {tex} after") == f"before {tex} after"


def test_inline_math_becomes_mathml_with_the_tex_as_alttext() -> None:
    html = tex_to_html(r"a & <b> with $x^2$ and $\mathcal{O}(n)$")
    assert html is not None
    root = lxml.html.fromstring(f"<div>{html}</div>")
    maths = root.xpath("//*[local-name()='math']")
    assert [m.get("alttext") for m in maths] == ["x^2", r"\mathcal{O}(n)"]
    assert html.startswith("a &amp; &lt;b&gt; with ")
    assert tex_to_html("no math here") is None


def test_mathml_holds_nothing_but_mathml() -> None:
    html = tex_to_html(r"see $\text{<script>alert(1)</script>}$ now")
    assert html is not None
    root = lxml.html.fromstring(f"<div>{html}</div>")
    assert not root.xpath("//script") and "alert(1)" in root.text_content()


def test_plain_characters_that_are_tex_syntax_are_kept() -> None:
    text = r"50% of ~10x speed & more, with \'e"
    assert tex_to_unicode(text) == "50% of ~10x speed & more, with é"


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"costs \$5 to \$10 at $n^2$", "costs $5 to $10 at n²"),
        (r"a \$$x$$ b", "a $x$ b"),
    ],
)
def test_an_escaped_dollar_is_a_dollar_and_opens_no_math(tex: str, expected: str) -> None:
    assert tex_to_unicode(tex) == expected
    html = tex_to_html(tex)
    assert html is not None and html.count("<math") == 1


def test_malformed_tex_is_returned_unchanged() -> None:
    assert tex_to_unicode(r"broken \textbf{unclosed") == r"broken \textbf{unclosed"


def test_no_recorded_author_name_shows_tex() -> None:
    from core.ingest.rss import parse_announcements
    from tests.conftest import shared_fixture

    raw = shared_fixture("arxiv-rss/all-archives-2024-11-28.rss.xml").read_bytes()
    names = [
        name for paper in parse_announcements(raw, None, None).papers for name in paper.authors
    ]
    assert len(names) > 5000
    assert [name for name in names if "\\" in name or "{" in name or "$" in name] == []
