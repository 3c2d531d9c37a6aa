from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from core.collector import collector_paused, collector_resumed


@pytest.fixture(params=[True, False], ids=["found on", "found off"])
def found_on(request: pytest.FixtureRequest) -> Iterator[bool]:
    """The collector as a test finds it (on, then off), put back as it was after."""
    was_enabled = gc.isenabled()
    (gc.enable if request.param else gc.disable)()
    yield request.param
    (gc.enable if was_enabled else gc.disable)()


def test_the_collector_is_paused_for_a_batch_and_left_as_found(found_on: bool) -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled() is found_on


def test_the_collector_is_resumed_for_a_part_and_left_as_found(found_on: bool) -> None:
    with collector_resumed():
        assert gc.isenabled()
    assert gc.isenabled() is found_on
