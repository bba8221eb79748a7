"""Dead letters: poison messages kept with their context for operators.

Layout in Redis, retention, the spill file and requeue semantics: docs/DEADLETTERS.md.
"""

from supervision.deadletters.actor import ActorDeadLetterSink, DeadLetterActor
from supervision.deadletters.letter import DeadLetter, DeadLetterSink
from supervision.deadletters.models import (
    DeadLetterStats,
    LetterFilter,
    RequeueReport,
    RetentionPolicy,
)
from supervision.deadletters.registry import DeadLetterRegistry, Requeuer
from supervision.deadletters.spill import SpillFile
from supervision.deadletters.store import DeadLetterStore, StoreOutcome, dead_letter_client

__all__ = [
    "ActorDeadLetterSink",
    "DeadLetter",
    "DeadLetterActor",
    "DeadLetterRegistry",
    "DeadLetterSink",
    "DeadLetterStats",
    "DeadLetterStore",
    "LetterFilter",
    "RequeueReport",
    "Requeuer",
    "RetentionPolicy",
    "SpillFile",
    "StoreOutcome",
    "dead_letter_client",
]
