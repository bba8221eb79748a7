"""Every supervision test ends with no actor registered and no thread of ours running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.supervision.support import MemorySink, no_leftovers


@pytest.fixture(autouse=True)
def _no_leftovers() -> Iterator[None]:
    with no_leftovers():
        yield


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()
