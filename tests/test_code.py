"""Digests of the code that makes stored data (`core.code`)."""

from __future__ import annotations

from pathlib import Path

import pytest

import core.code
from core.code import code_digest


def test_a_digest_follows_the_sources_and_survives_their_absence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scores and items made by other code are made again; an installation of compiled
    modules alone still refreshes (on its release's digest)."""
    (tmp_path / "made.py").write_text("A = 1\n")
    monkeypatch.setattr(core.code, "_PACKAGE", tmp_path)
    code_digest.cache_clear()
    first = code_digest(("made.py",), ("lxml",))
    (tmp_path / "made.py").write_text("A = 2\n")
    code_digest.cache_clear()
    assert code_digest(("made.py",), ("lxml",)) != first
    (tmp_path / "made.py").unlink()
    code_digest.cache_clear()
    assert len(code_digest(("made.py",), ("lxml",))) == 16
    code_digest.cache_clear()
