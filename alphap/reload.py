"""SIGHUP: re-read the settings a running daemon can change, keeping the rest as started.

Only RELOADABLE settings change. Each new value is validated on its own: an
invalid one is reported and the old value stays, while the valid ones apply.
Under systemd, point ALPHAP_ENV_FILE at the environment file (rather than
EnvironmentFile=): variables set in the process environment are fixed for its
lifetime, while the file is read again on every reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.schedule import parse_clock
from alphap.errors import SettingsError
from alphap.settings import Settings, load_settings
from persistence.retention import parse_age

RELOADABLE = (
    "log_level",
    "events_retention",
    "events_prune_interval_seconds",
    "snapshot_interval_seconds",
    "instruments_refresh_at",
    "session_sweep_seconds",
)


@dataclass(frozen=True)
class Reload:
    """The outcome of one reload: the settings now in force and what changed or was refused."""

    settings: Settings
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)


def _problems(error: SettingsError, name: str) -> str:
    marker = f"ALPHAP_{name.upper()}"
    lines = [line.strip() for line in str(error).splitlines() if marker in line]
    return "; ".join(lines) or "invalid"


def _extra_check(name: str, value: Any) -> None:
    """Checks beyond the field's own validation (the values its consumers parse)."""
    if name == "events_retention":
        parse_age(value)
    elif name == "instruments_refresh_at":
        parse_clock(value)


def reread(current: Settings) -> Reload:
    """Read the settings again; apply the valid reloadable values, refuse the invalid ones."""
    fixed = {
        name: getattr(current, name) for name in Settings.model_fields if name not in RELOADABLE
    }
    rejected: dict[str, str] = {}
    try:
        fresh = load_settings(**fixed)
    except SettingsError as exc:
        bad = [name for name in RELOADABLE if name in exc.fields]
        rejected.update({name: _problems(exc, name) for name in bad})
        try:
            fresh = load_settings(**fixed, **{name: getattr(current, name) for name in bad})
        except SettingsError as again:
            # Not the reloadable fields after all: refuse the whole reload.
            return Reload(current, rejected={"*": str(again)})
    updates: dict[str, Any] = {}
    for name in RELOADABLE:
        old, new = getattr(current, name), getattr(fresh, name)
        if name in rejected or old == new:
            continue
        try:
            _extra_check(name, new)
        except ValueError as exc:
            rejected[name] = f"setting ALPHAP_{name.upper()}: {exc}"
            continue
        updates[name] = new
    settings = current.model_copy(update=updates)
    changed = {name: (getattr(current, name), value) for name, value in updates.items()}
    return Reload(settings, changed=changed, rejected=rejected)
