"""How many TeX-bearing papers of the recorded day still show TeX syntax after ingest.

A paper "bears TeX" when its recorded title, description or authors hold `$` or a backslash;
it "still shows TeX" when its ingested title, abstract or an author name holds a macro
(`\\name`), an escaped character, a grouped super- or subscript (`^{`, `_{`), a `$` or a
brace. Served: the default configuration's categories and announce types; all: every item.

    uv run python scripts/bench_tex.py   (needs ../shared/fixtures)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lxml import etree

from core.ingest.rss import parse_announcements

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT.parent / "shared" / "fixtures" / "arxiv-rss" / "all-archives-2024-11-28.rss.xml"
TEX = re.compile(r"\\[A-Za-z]+|\\[^A-Za-z\s]|[\^_]\{|(?<!\\)\$|\{|\}")
DC = "{http://purl.org/dc/elements/1.1/}creator"


def main() -> int:
    raw = FIXTURE.read_bytes()
    recorded = {}
    for item in etree.fromstring(raw).iter("item"):
        fields = (item.findtext("title"), item.findtext("description"), item.findtext(DC))
        recorded[(item.findtext("link") or "").rsplit("/", 1)[1]] = " ".join(filter(None, fields))
    scopes = {
        "served (cs.AI, cs.CL, cs.DC, cs.LG; new, cross)": (
            ["cs.AI", "cs.CL", "cs.DC", "cs.LG"],
            ["new", "cross"],
        ),
        "all 1,504 items": (None, None),
    }
    for name, (categories, types) in scopes.items():
        papers = parse_announcements(raw, categories, types).papers  # type: ignore[arg-type]
        bearing = [p for p in papers if "$" in recorded[p.id] or "\\" in recorded[p.id]]
        still = [p for p in bearing if TEX.search(" ".join([p.title, p.abstract, *p.authors]))]
        names = [a for p in papers for a in p.authors if TEX.search(a)]
        share = len(still) / max(1, len(bearing))
        print(
            f"{name}: {len(still)} of {len(bearing)} TeX-bearing papers show TeX ({share:.0%});"
            f" author names with TeX: {len(names)}"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
