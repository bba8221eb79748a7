"""When a Kite access token dies.

Kite documents that an access token "will expire at 6 AM on the next day"
(a regulatory requirement): every session is flushed by the daily 06:00
Asia/Kolkata cutoff. We read that as "the first 06:00 IST strictly after the
login". So a login at 10:00 IST lives until 06:00 the next day, while a login
between midnight and 06:00 IST is flushed by the cutoff that very morning,
since the nightly flush does not spare tokens issued just before it. A login
at exactly 06:00:00 already belongs to the new day and lives 24 hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

KITE_ZONE = ZoneInfo("Asia/Kolkata")
DAILY_CUTOFF = time(6, 0)


def access_token_expiry(login_time: datetime) -> datetime:
    """The instant (aware, UTC) at which a token issued at `login_time` stops working."""
    if login_time.tzinfo is None:
        raise ValueError("login_time must be timezone-aware")
    local = login_time.astimezone(KITE_ZONE)
    cutoff = datetime.combine(local.date(), DAILY_CUTOFF, tzinfo=KITE_ZONE)
    if cutoff <= local:
        cutoff = datetime.combine(local.date() + timedelta(days=1), DAILY_CUTOFF, tzinfo=KITE_ZONE)
    return cutoff.astimezone(UTC)


def kite_login_time(value: datetime | str) -> datetime:
    """Kite's `login_time` ("YYYY-MM-DD HH:MM:SS", local to Kolkata) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=KITE_ZONE)
    return parsed.astimezone(UTC)
