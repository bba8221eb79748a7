"""Replay of dead letters onto the ingress stream: the `Requeuer` behind `alphap dlq replay`.

A replayed letter's original document is added to `<prefix>:ingress` in the
entry field `data`, exactly as a producer would have written it, so the ingress
parses it afresh. The XADD and a marker `<prefix>:requeued:<letter id>` (holding
the new entry id) are one Lua script: a letter put again after a crash between
the put and its removal from the registry does not produce a second entry.
"""

from __future__ import annotations

from datetime import timedelta

import redis

from actors.errors import ReplayRefusedError
from actors.stream import DATA_FIELD, stream_key
from supervision.deadletters import DeadLetter
from supervision.deadletters.models import DEFAULT_MAX_AGE

# A marker outlives any letter it guards: a letter older than the retention's
# max age is trimmed on arrival, so it cannot be requeued again after that.
MARKER_TTL = DEFAULT_MAX_AGE

# KEYS: stream, marker. ARGV: document, marker ttl in seconds.
# Returns {1, new entry id} when added, {0, earlier entry id} when put before.
_PUT_ONCE = """
local earlier = redis.call('GET', KEYS[2])
if earlier then return {0, earlier} end
local entry = redis.call('XADD', KEYS[1], '*', ARGV[3], ARGV[1])
redis.call('SET', KEYS[2], entry, 'EX', ARGV[2])
return {1, entry}
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def marker_key(prefix: str, letter_id: str) -> str:
    """The key remembering which ingress entry a letter was replayed as."""
    return f"{prefix}:requeued:{letter_id}"


def replayable(letter: DeadLetter) -> bool:
    """True when the letter keeps the raw document it came from, so it can go back."""
    return letter.original is not None


class IngressRequeuer:
    """Puts a letter's original document back on the ingress stream, once per letter id.

    `entries` maps each letter id put through this object to its ingress entry
    id (the earlier entry when it had been put before).
    """

    def __init__(self, client: redis.Redis, prefix: str, *, ttl: timedelta = MARKER_TTL) -> None:
        self.client = client
        self.prefix = prefix
        self.stream = stream_key(prefix)
        self.ttl_seconds = max(1, int(ttl.total_seconds()))
        self.entries: dict[str, str] = {}
        self._put_once = client.register_script(_PUT_ONCE)

    def put(self, letter: DeadLetter) -> None:
        """Add the original document to the ingress stream, unless this letter was put before.

        Raises ReplayRefusedError when the letter has no original document or
        Redis refuses the entry (a connection failure propagates as it is).
        """
        if letter.original is None:
            raise ReplayRefusedError("the letter has no original document to replay")
        keys = [self.stream, marker_key(self.prefix, letter.id)]
        args: list[str | int | bytes] = [letter.original, self.ttl_seconds, DATA_FIELD]
        try:
            _, entry = self._put_once(keys=keys, args=args)
        except redis.ResponseError as exc:
            raise ReplayRefusedError(f"the ingress stream refused the document: {exc}") from exc
        self.entries[letter.id] = _text(entry)

    def replayed_as(self, letter_id: str) -> str | None:
        """The ingress entry id a letter was replayed as, if it was (within the marker's life)."""
        entry = self.client.get(marker_key(self.prefix, letter_id))
        return None if entry is None else _text(entry)
