"""Messages the dead-letter actor accepts through `tell`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from supervision.deadletters.letter import DeadLetter


class DeliverLetter(BaseModel):
    """Store this dead letter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    letter: DeadLetter


class DrainSpill(BaseModel):
    """Try to move the spill file into Redis now."""

    model_config = ConfigDict(frozen=True, extra="forbid")
