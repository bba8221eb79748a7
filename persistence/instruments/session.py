"""Session settings raised for one statement of the load and put back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

# Enough for a hash of a whole dump (~10 MB for 120k rows) not to spill to disk.
LOAD_WORK_MEM = "64MB"


@contextmanager
def work_mem(conn: psycopg.Connection[Any], value: str = LOAD_WORK_MEM) -> Iterator[None]:
    """Run the block with `work_mem` at `value`; the caller's value is put back after it
    (a rollback restores it anyway, being SET LOCAL)."""
    row = conn.execute("SELECT current_setting('work_mem')").fetchone()
    assert row is not None
    conn.execute("SELECT set_config('work_mem', %s, true)", (value,))
    yield
    conn.execute("SELECT set_config('work_mem', %s, true)", (row[0],))
