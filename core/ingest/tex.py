"""TeX in titles, abstracts and names to readable Unicode, with pylatexenc.

Text outside math: accents and formatting macros are converted (`D\\'enes` -> `Dénes`), while
characters that mean something else in plain abstracts (`%`, `~`, `&`) are kept as typed.
Inline math `$...$` is converted when the result reads the same (`$\\omega$` -> `ω`); math with
grouped super/subscripts, fractions or environments would lose its structure, so it stays as
written.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text

_MATH = re.compile(r"(?<!\\)\$\$.+?(?<!\\)\$\$|(?<!\\)\$[^$]+?(?<!\\)\$", re.DOTALL)
_STRUCTURED_MATH = re.compile(
    r"\\(frac|dfrac|tfrac|sqrt|begin|left|right|over|binom|stackrel|overset|underset|sum|int)"
    r"(?![A-Za-z])|[\^_]\{[^{}]{2,}\}|\{[^{}]*\{"
)
# Characters pylatexenc would treat as TeX syntax but that abstracts use literally.
_LITERAL = {"%": "\ue000", "~": "\ue001", "&": "\ue002"}
_UNESCAPED_LITERAL = re.compile(r"(?<!\\)[%~&]")
_TEXT_MACRO = re.compile(
    r"\{\\[^{}]*\}"  # a group that starts with a macro: {\"o}, {\em word}
    r"|\\[A-Za-z]+\*?(?:\{[^{}]*\})*(?![{A-Za-z])"  # a word macro with whole arguments: \textit{x}
    r"|\\[^A-Za-z\s](?:\{[^{}]*\}|[A-Za-z])?"  # an accent or escaped character: \'e, \"{o}, \%
)
_MACRO_AFTER_WORD = re.compile(r"(?<=[A-Za-z0-9])\\(?=[A-Za-z])")


# pylatexenc logs a warning for every macro it cannot substitute; we keep those as written.
logging.getLogger("pylatexenc").setLevel(logging.ERROR)


@lru_cache(maxsize=1)
def _text_converter() -> LatexNodes2Text:
    return LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=True)


@lru_cache(maxsize=1)
def _math_converter() -> LatexNodes2Text:
    return LatexNodes2Text(math_mode="text", strict_latex_spaces="based-on-source")


@lru_cache(maxsize=4096)
def _convert_macro(text: str) -> str:
    protected = _UNESCAPED_LITERAL.sub(lambda m: _LITERAL[m.group()], text)
    try:
        converted = _text_converter().latex_to_text(protected)
    except Exception:  # pylatexenc raises many kinds on malformed TeX; keep the input then
        return text
    for char, placeholder in _LITERAL.items():
        converted = converted.replace(placeholder, char)
    return str(converted)


def _convert_text(text: str) -> str:
    """Convert only the TeX fragments: parsing whole paragraphs would be slow and lossy."""
    if "\\" not in text:
        return text
    return _TEXT_MACRO.sub(lambda m: _convert_macro(m.group()), text)


@lru_cache(maxsize=4096)
def _convert_math(segment: str) -> str:
    inner = segment.strip("$")
    if segment.startswith("$$") or _STRUCTURED_MATH.search(inner):
        return segment
    try:
        spaced = _MACRO_AFTER_WORD.sub(r" \\", inner)  # `n\log n` reads `n log n`
        converted = str(_math_converter().latex_to_text(spaced)).strip()
    except Exception:  # malformed math stays as written
        return segment
    if not converted or "\\" in converted:
        return segment
    return converted


def tex_to_unicode(text: str) -> str:
    """Readable Unicode for a title, abstract or author name; plain text passes unchanged."""
    if "\\" not in text and "$" not in text:
        return text
    parts: list[str] = []
    position = 0
    for match in _MATH.finditer(text):
        parts.append(_convert_text(text[position : match.start()]))
        parts.append(_convert_math(match.group()))
        position = match.end()
    parts.append(_convert_text(text[position:]))
    return "".join(parts)
