"""TeX in titles, abstracts and names: readable Unicode for text, MathML for HTML.

- Text outside math (pylatexenc): accents and formatting macros are converted
  (`D\\'enes` -> `Dénes`, `\\textbf{Hi}gh` -> `High`, `\\href{url}{here}` -> `here (url)`,
  citations dropped), while characters that mean something else in plain abstracts
  (`%`, `~`, `&`) are kept as typed.
- Inline math `$...$` as Unicode: unicodeit for super- and subscripts (`H^3` -> `H³`,
  `CO_2` -> `CO₂`), then pylatexenc for the macros (`\\sqrt{T}` -> `√(T)`,
  `\\frac{a}{b}` -> `a/b`); math that does not convert whole, or names a macro
  pylatexenc does not know, stays as written.
- Inline math as MathML (latex2mathml) for HTML, with the TeX as `alttext`; only MathML
  elements and attributes survive, anything else falls back to the Unicode text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from html import escape
from typing import Any

from pylatexenc import latexwalker, macrospec
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

_MATH = re.compile(
    r"\$\$(?<!\\\$\$).+?(?<!\\)\$\$"  # display
    r"|\$(?<!\\\$)[^$]+?(?<!\\)\$"  # inline
    r"|\\\(.+?\\\)",
    re.DOTALL,
)
"""Inline and display math: `$...$`, `$$...$$` (neither opened by an escaped `\\$`) and
`\\(...\\)`. Each alternative starts with its literal, its escape checked behind it, so the
engine skips to the next `$` or backslash instead of trying every position."""
_BRACES = {"\\{": "\ue003", "\\}": "\ue004"}
# Characters pylatexenc would treat as TeX syntax but that abstracts use literally.
_LITERAL = {"%": "\ue000", "~": "\ue001", "&": "\ue002"}
_UNESCAPED_LITERAL = re.compile(r"(?<!\\)[%~&]")
_TEXT_MACRO = re.compile(
    r"\{\\[^{}]*\}"  # a group that starts with a macro: {\"o}, {\em word}
    r"|\\[A-Za-z]+\*?(?:\[[^\]]*\])?(?:\{[^{}]*\})+"  # a macro with arguments: \textit{x}, \u{g}
    r"|\\[A-Za-z]+\*?(?![A-Za-z{])"  # a macro alone: \LaTeX
    r"|\\[^A-Za-z\s](?:\{[^{}]*\}|[A-Za-z])?"  # an accent or escaped character: \'e, \"{o}, \%
)
_TIE_BEFORE_CITATION = re.compile(r"~(?=\\(?:cite|citep|citet|ref|eqref)\b)")
_SCRIPT = re.compile(r"[\^_](?:\{[^{}\\]*\}|[A-Za-z0-9+\-=()])")
_SIZING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)[lr]?(?![A-Za-z])")
_MACRO_AFTER_WORD = re.compile(r"(?<=[A-Za-z0-9])\\(?=[A-Za-z])")
_MACRO_NAME = re.compile(r"\\([A-Za-z]+)")
# Font and spacing macros that pylatexenc lacks but whose only meaning is their argument.
_STYLE_ONLY = {
    *("rm", "bf", "it", "em", "sc", "sf", "tt", "mbox", "textsf", "textup", "textrm"),
    *("bm", "boldsymbol", "operatorname", "displaystyle", "textstyle", "nolimits", "limits"),
}
_LEFT_OVER_TEX = re.compile(r"\\[A-Za-z]|[\^_]\{|[{}]")

_MATHML_ELEMENTS = {
    *("math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup"),
    *("mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd"),
    *("mstyle", "mpadded", "mphantom", "semantics", "annotation", "merror"),
}
_MATHML_ATTRIBUTES = {
    *("display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace"),
    *("accent", "accentunder", "linethickness", "columnalign", "rowspacing", "columnspacing"),
    *("displaystyle", "scriptlevel", "width", "height", "depth", "form", "largeop"),
    *("movablelimits", "symmetric", "minsize", "maxsize", "encoding", "alttext"),
}
MATHML_NS = "http://www.w3.org/1998/Math/MathML"

# pylatexenc logs a warning for every macro it cannot substitute; we keep those as written.
logging.getLogger("pylatexenc").setLevel(logging.ERROR)


@lru_cache(maxsize=1)
def _contexts() -> tuple[latexwalker.LatexContextDb, LatexNodes2Text, LatexNodes2Text]:
    """Parser and converters, taught the macros abstracts use that pylatexenc lacks."""
    parsing = latexwalker.get_default_latex_context_db()
    parsing.add_context_category(
        "arxiv",
        prepend=True,
        macros=[
            macrospec.MacroSpec("href", "{{"),
            macrospec.MacroSpec("url", "{"),
            *(macrospec.MacroSpec(name, "[{") for name in ("cite", "citep", "citet")),
            *(macrospec.MacroSpec(name, "{") for name in ("ref", "eqref")),
            *(macrospec.MacroSpec(name, "{{") for name in ("dfrac", "tfrac")),
        ],
    )
    converting = get_default_latex_context_db()
    converting.add_context_category(
        "arxiv",
        prepend=True,
        macros=[
            MacroTextSpec("href", simplify_repl="%(2)s (%(1)s)"),
            MacroTextSpec("url", simplify_repl="%(1)s"),
            MacroTextSpec("texttt", simplify_repl="%(1)s"),
            *(MacroTextSpec(name, simplify_repl="") for name in ("cite", "citep", "citet")),
            *(MacroTextSpec(name, simplify_repl="") for name in ("ref", "eqref")),
            *(MacroTextSpec(name, simplify_repl=_fraction) for name in ("frac", "dfrac", "tfrac")),
        ],
    )
    text = LatexNodes2Text(latex_context=converting, math_mode="verbatim", strict_latex_spaces=True)
    math = LatexNodes2Text(
        latex_context=converting, math_mode="text", strict_latex_spaces="based-on-source"
    )
    return parsing, text, math


def _fraction(node: Any, l2tobj: LatexNodes2Text) -> str:
    """`\\frac{a+b}{c}` -> `(a+b)/c`: a compound part keeps its parentheses."""
    parts = [l2tobj.nodelist_to_text([arg]).strip() for arg in node.nodeargd.argnlist[-2:]]
    wrapped = [p if re.fullmatch(r"\w+|\(.*\)", p) else f"({p})" for p in parts]
    return "/".join(wrapped)


def _to_text(source: str, converter: LatexNodes2Text) -> str:
    parsing = _contexts()[0]
    nodes = latexwalker.LatexWalker(source, latex_context=parsing).get_latex_nodes()[0]
    return str(converter.nodelist_to_text(nodes))


@lru_cache(maxsize=4096)
def _convert_macro(text: str) -> str:
    protected = _UNESCAPED_LITERAL.sub(lambda m: _LITERAL[m.group()], text)
    try:
        converted = _to_text(protected, _contexts()[1])
    except Exception:  # pylatexenc raises many kinds on malformed TeX; keep the input then
        return text
    for char, placeholder in _LITERAL.items():
        converted = converted.replace(placeholder, char)
    return converted


def _convert_text(text: str) -> str:
    """Convert only the TeX fragments: parsing whole paragraphs would be slow and lossy."""
    if "\\" not in text:
        return text
    text = _TIE_BEFORE_CITATION.sub("", text)
    return _TEXT_MACRO.sub(lambda m: _convert_macro(m.group()), text)


def _scripts(math: str) -> str:
    """Super- and subscripts as Unicode characters where every character has one."""
    import unicodeit  # only when a paper has math

    def convert(match: re.Match[str]) -> str:
        converted = str(unicodeit.replace(match.group()))
        return match.group() if any(c in converted for c in "^_{}") else converted

    return _SCRIPT.sub(convert, math)


@lru_cache(maxsize=4096)
def math_to_unicode(segment: str) -> str:
    """One `$...$` segment as Unicode text, or as written when it does not convert whole."""
    if segment.startswith("$$"):
        return segment
    inner = _SIZING.sub("", _inner(segment))
    known = _contexts()[2].latex_context
    names = set(_MACRO_NAME.findall(inner)) - _STYLE_ONLY
    if any(known.get_macro_spec(name) is None for name in names):
        return segment  # pylatexenc would drop a macro it does not know, and its meaning
    for brace, placeholder in _BRACES.items():  # set braces are meant to be seen
        inner = inner.replace(brace, placeholder)
    try:
        prepared = _MACRO_AFTER_WORD.sub(r" \\", _scripts(inner))
        converted = _to_text(prepared, _contexts()[2]).strip()
    except Exception:  # malformed math stays as written
        return segment
    if not converted or _LEFT_OVER_TEX.search(converted):
        return segment
    return converted.replace("\ue003", "{").replace("\ue004", "}")


def _inner(segment: str) -> str:
    """The TeX between `$...$` or `\\(...\\)`."""
    return segment[2:-2] if segment.startswith("\\(") else segment.strip("$")


@lru_cache(maxsize=4096)
def math_to_mathml(segment: str) -> str | None:
    """One `$...$` segment as a MathML Core `<math>` element, TeX kept as `alttext`; None
    when it does not convert or the result holds anything but MathML."""
    from latex2mathml.converter import convert
    from lxml import etree

    tex = _inner(segment)
    try:
        root = etree.fromstring(convert(tex).encode())
    except Exception:  # latex2mathml and lxml raise many kinds on what they cannot read
        return None
    for element in root.iter():
        if (
            not isinstance(element.tag, str)
            or etree.QName(element).localname not in _MATHML_ELEMENTS
        ):
            return None
        if any(etree.QName(name).localname not in _MATHML_ATTRIBUTES for name in element.attrib):
            return None
    root.set("alttext", tex)
    etree.cleanup_namespaces(root)
    return str(etree.tostring(root, encoding="unicode"))


def _convert(text: str, math: Callable[[str], str], plain: Callable[[str], str]) -> str:
    """`text` with each math segment through `math` and each stretch between through
    `plain` after its TeX fragments are converted."""
    parts: list[str] = []
    position = 0
    for match in _MATH.finditer(text):
        parts.append(plain(_convert_text(text[position : match.start()])))
        parts.append(math(match.group()))
        position = match.end()
    parts.append(plain(_convert_text(text[position:])))
    return "".join(parts)


def _unchanged(text: str) -> str:
    return text


def tex_to_unicode(text: str) -> str:
    """Readable Unicode for a title, abstract or author name; plain text passes unchanged."""
    if "\\" not in text and "$" not in text:
        return text
    return _convert(text, math_to_unicode, _unchanged)


def _math_html(segment: str) -> str:
    mathml = math_to_mathml(segment) if not segment.startswith("$$") else None
    return mathml or escape(math_to_unicode(segment))


def tex_to_html(text: str) -> str | None:
    """The text as HTML with its inline math as MathML (the rest escaped, converted like
    `tex_to_unicode`); None when it has no math, so callers keep the plain text."""
    if ("$" not in text and "\\(" not in text) or not _MATH.search(text):
        return None
    return _convert(text, _math_html, escape)
