"""arXiv's own names: its archives and categories (its taxonomy), and arXiv ids.

The taxonomy is arXiv's list of active subject classes (arxiv-base, `arxiv/taxonomy`), aliases
included (`cs.NA` is `math.NA`): the names rss.arxiv.org answers for. A name outside it gets no
announcements, so a configuration naming one is refused with the nearest valid name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable

from core.text import ARXIV_ID

_SUBJECTS = {
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA "
    "NE NI OH OS PF PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA "
    "RA RT SG SP ST",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an "
    "ed-ph flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
"""Archive -> the subject classes under it (`cs` -> `cs.AI`, `cs.AR`, ...)."""
_ARCHIVES_WITHOUT_SUBJECTS = [
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math-ph",
    "nucl-ex",
    "nucl-th",
    "quant-ph",
]
"""Archives that are categories themselves."""

ARCHIVES = frozenset(_SUBJECTS) | frozenset(_ARCHIVES_WITHOUT_SUBJECTS)
CATEGORIES = frozenset(
    f"{archive}.{subject}"
    for archive, subjects in _SUBJECTS.items()
    for subject in subjects.split()
) | frozenset(_ARCHIVES_WITHOUT_SUBJECTS)
NAMES = ARCHIVES | CATEGORIES
"""Everything a configuration may follow: a category, or a whole archive."""
_BY_FOLDED_NAME = {name.casefold(): name for name in NAMES}


def check_category(value: str) -> str:
    """`value` if arXiv has such a category or archive; else ValueError naming the nearest."""
    if value in NAMES:
        return value
    if value.casefold() in _BY_FOLDED_NAME:
        raise ValueError(f"arXiv spells it {_BY_FOLDED_NAME[value.casefold()]!r}")
    nearest = difflib.get_close_matches(value, sorted(NAMES), n=1, cutoff=0.6)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    raise ValueError(f"not an arXiv category or archive (e.g. 'cs.LG', 'hep-ph', 'math'){hint}")


def listed_under(categories: Iterable[str]) -> frozenset[str]:
    """Every name a paper listed in `categories` is found under: each category and its
    archive (`cs.LG` and `cs`)."""
    return frozenset(name for c in categories for name in (c, c.split(".", 1)[0]))


def covered(categories: Iterable[str], followed: Collection[str]) -> bool:
    """Whether a paper listed in `categories` is in one of `followed` (categories or archives:
    `cs` covers `cs.LG`)."""
    return not listed_under(categories).isdisjoint(followed)


_ARXIV_ID_WITH_VERSION = re.compile(rf"({ARXIV_ID})(?:v\d+)?")
_NEW_STYLE = re.compile(r"(\d\d)(\d\d)\.(\d{4,5})")


def check_arxiv_id(value: str) -> str:
    """The id without its version (`2411.17700v2` -> `2411.17700`), or ValueError. A new-style
    id (since April 2007) is a year and month, then 4 digits until 2014 and 5 since 2015."""
    match = _ARXIV_ID_WITH_VERSION.fullmatch(value.strip())
    if match is None:
        raise ValueError("expected an arXiv id such as '2411.17700' or 'hep-ph/0101001'")
    found = match.group(1)
    if new_style := _NEW_STYLE.fullmatch(found):
        year, month, number = new_style.groups()
        if not 1 <= int(month) <= 12 or (year, month) < ("07", "04"):
            raise ValueError(f"no arXiv id has the year and month {year}{month}")
        if len(number) != (5 if year >= "15" else 4):
            digits = "5 digits since 2015" if year >= "15" else "4 digits before 2015"
            raise ValueError(f"an arXiv id from 20{year} has {digits} after the dot")
    return found
