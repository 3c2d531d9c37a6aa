from __future__ import annotations

import pytest

from core.ingest.tex import tex_to_unicode


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
    "tex",
    [
        r"$x^{2n+1}$",
        r"$\frac{a+b}{c}$",
        r"$\langle(\Delta u_L)^{2n+1}\rangle$",
        r"$$E = mc^2$$",
    ],
)
def test_structured_math_stays_as_written(tex: str) -> None:
    assert tex_to_unicode(f"before {tex} after") == f"before {tex} after"


def test_plain_characters_that_are_tex_syntax_are_kept() -> None:
    text = r"50% of ~10x speed & more, with \'e"
    assert tex_to_unicode(text) == "50% of ~10x speed & more, with é"


def test_malformed_tex_is_returned_unchanged() -> None:
    assert tex_to_unicode(r"broken \textbf{unclosed") == r"broken \textbf{unclosed"
