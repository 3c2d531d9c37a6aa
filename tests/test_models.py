from __future__ import annotations

from core.ingest.rss import Announcements
from core.models import CUT, LIMITS, MAX_AUTHORS, Paper
from tests.factories import make_paper


def test_a_bounded_paper_stays_as_it_is_when_validated_again() -> None:
    """Its validators run again when it goes into another model or is read back: a cut
    field (here at a run of spaces, which the cut drops) and the authors' cap stay put."""
    title = "x" * (LIMITS["title"] - 3) + "     " + "y" * 100
    paper = make_paper(title=title).model_copy(
        update={"authors": [f"Author {n}" for n in range(MAX_AUTHORS + 7)]}
    )
    bounded = Paper.model_validate(paper.model_dump())
    assert bounded.title == "x" * (LIMITS["title"] - 3) + CUT
    assert bounded.authors[-1] == "… and 7 more"
    assert Paper.model_validate_json(bounded.model_dump_json()) == bounded
    assert Announcements(status="ok", message="", papers=[bounded]).papers == [bounded]
