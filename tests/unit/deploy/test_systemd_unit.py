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


def _seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|min|m|h)?", value.strip())
    assert match, value
    return float(match.group(1)) * units[match.group(2) or "s"]


def test_graceful_stop_bound_is_below_the_stop_timeout() -> None:
    from alphap.settings import Settings

    unit = UNIT.read_text()
    stop = re.search(r"^TimeoutStopSec=(.+)$", unit, re.MULTILINE)
    assert stop
    bound = Settings.model_fields["shutdown_timeout_seconds"].default
    example = (UNIT.parent / "alphap.env.example").read_text()
    configured = re.search(r"^ALPHAP_SHUTDOWN_TIMEOUT_SECONDS=(.+)$", example, re.MULTILINE)
    assert configured
    # Room for the pool and the dead letters after the tree, and for SIGKILL's grace.
    assert bound + 10 < _seconds(stop.group(1))
    assert float(configured.group(1)) + 10 < _seconds(stop.group(1))
