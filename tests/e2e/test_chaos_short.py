"""The short chaos campaign (`python -m bench.chaos --short`) passes: CI's proof under fire.

About two minutes: the daemon as a process under a steady mixed load while every
fault kind is injected once (docs/RELIABILITY.md "Chaos and soak"). The
campaign's own exit status says whether anything was lost, duplicated or
mismatched, or the daemon exited unasked; its table is shown when it fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.chaos.faults import CONSOLE_FAULTS, FAULTS

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN_TIMEOUT = 400


@pytest.mark.slow
@pytest.mark.timeout(CAMPAIGN_TIMEOUT + 20)
def test_the_short_chaos_campaign_loses_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--short", "--workdir", str(tmp_path / "chaos")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CAMPAIGN_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "| result | PASS |" in output, output
    for kind in [*FAULTS, *CONSOLE_FAULTS]:
        assert f"| {kind} | 1 | 1 |" in output, output
