"""SIGHUP re-read: valid values apply, invalid ones keep the old value, others never change."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphap.reload import RELOADABLE, reread
from alphap.settings import load_settings


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("LOG_LEVEL", "SESSION_SWEEP_SECONDS", "EVENTS_RETENTION", "REDIS_PREFIX"):
        monkeypatch.delenv(f"ALPHAP_{name}", raising=False)
    path = tmp_path / "alphap.env"
    path.write_text("ALPHAP_LOG_LEVEL=INFO\nALPHAP_REDIS_PREFIX=before\n")
    monkeypatch.setenv("ALPHAP_ENV_FILE", str(path))
    return path


def test_valid_values_apply_invalid_ones_keep_the_old_value(env_file: Path) -> None:
    current = load_settings()
    env_file.write_text(
        "ALPHAP_LOG_LEVEL=debug\nALPHAP_SESSION_SWEEP_SECONDS=0\n"
        "ALPHAP_EVENTS_RETENTION=0d\nALPHAP_INSTRUMENTS_REFRESH_AT=09:05\n"
        "ALPHAP_REDIS_PREFIX=after\n"
    )
    outcome = reread(current)
    assert outcome.changed == {
        "log_level": ("INFO", "DEBUG"),
        "instruments_refresh_at": ("08:30", "09:05"),
    }
    assert set(outcome.rejected) == {"session_sweep_seconds", "events_retention"}
    assert "ALPHAP_SESSION_SWEEP_SECONDS" in outcome.rejected["session_sweep_seconds"]
    assert outcome.settings.session_sweep_seconds == current.session_sweep_seconds
    assert outcome.settings.events_retention == current.events_retention
    # Not reloadable: stays as started even though the file changed it.
    assert outcome.settings.redis_prefix == "before"


def test_nothing_changed_is_an_empty_reload(env_file: Path) -> None:
    current = load_settings()
    outcome = reread(current)
    assert outcome.changed == {}
    assert outcome.rejected == {}
    assert all(getattr(outcome.settings, n) == getattr(current, n) for n in RELOADABLE)
