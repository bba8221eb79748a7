"""Kite access as the settings describe it, for the daemon's actors and the commands."""

from __future__ import annotations

from datetime import time

from actors.schedule import parse_clock
from actors.session import KiteAccess
from alphap.errors import AlphapError
from alphap.settings import Settings

__all__ = ["KiteAccess", "kite_access", "refresh_time", "require_kite_access"]


def kite_access(settings: Settings) -> KiteAccess | None:
    """KiteAccess from ALPHAP_KITE_API_KEY, _API_SECRET and _ROOT; None without key or secret."""
    if not settings.kite_api_key or settings.kite_api_secret is None:
        return None
    if not settings.kite_api_secret.get_secret_value():
        return None
    return KiteAccess(settings.kite_api_key, settings.kite_api_secret, settings.kite_root)


def require_kite_access(settings: Settings) -> KiteAccess:
    """KiteAccess, or an AlphapError naming each missing setting."""
    missing = []
    if not settings.kite_api_key:
        missing.append("ALPHAP_KITE_API_KEY")
    if settings.kite_api_secret is None or not settings.kite_api_secret.get_secret_value():
        missing.append("ALPHAP_KITE_API_SECRET")
    access = kite_access(settings)
    if missing or access is None:
        raise AlphapError(f"missing setting(s): {', '.join(missing)} (the Kite Connect app's)")
    return access


def refresh_time(settings: Settings) -> time:
    """ALPHAP_INSTRUMENTS_REFRESH_AT as a time of day (Asia/Kolkata)."""
    return parse_clock(settings.instruments_refresh_at)
