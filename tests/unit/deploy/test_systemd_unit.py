"""The shipped unit passes `systemd-analyze verify` and scores 2.0 or less for exposure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[3] / "deploy" / "alphap.service"


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing (Debian's systemd package provides it)")
        pytest.skip("systemd-analyze is not installed")
    return tool


def test_unit_verifies(tmp_path: Path) -> None:
    tool = _systemd_analyze()
    # verify insists that ExecStart exists: point it at this environment's alphap.
    unit = tmp_path / "alphap.service"
    unit.write_text(UNIT.read_text().replace("/opt/alphap/venv", sys.prefix))
    result = subprocess.run(
        [tool, "verify", "--man=no", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "alphap.service" not in result.stderr


def test_unit_exposure_is_at_most_two() -> None:
    tool = _systemd_analyze()
    result = subprocess.run(
        [tool, "security", "--offline=true", str(UNIT)], capture_output=True, text=True, check=False
    )
    match = re.search(r"Overall exposure level for alphap\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0
