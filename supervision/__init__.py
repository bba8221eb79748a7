"""Generic supervised actor runtime on pykka ThreadingActors (no trading code).

Guarantees and API: docs/SUPERVISION.md.
"""

from supervision.actor import ActorContext, SupervisedActor
from supervision.child import ActorHandle
from supervision.errors import (
    ActorStopped,
    AskTimeout,
    Escalated,
    MailboxFull,
    MessageDeadLettered,
    Reject,
    SupervisionError,
)
from supervision.faults import Effect, FaultPlan, FaultRule, InjectedFault
from supervision.introspection import ActorInfo, ActorState, SupervisorInfo
from supervision.keyed import KeyedSupervisor
from supervision.policy import Backoff, ChildSpec, Restart, RuntimeConfig, Strategy
from supervision.supervisor import Supervisor

__all__ = [
    "ActorContext",
    "ActorHandle",
    "ActorInfo",
    "ActorState",
    "ActorStopped",
    "AskTimeout",
    "Backoff",
    "ChildSpec",
    "Effect",
    "Escalated",
    "FaultPlan",
    "FaultRule",
    "InjectedFault",
    "KeyedSupervisor",
    "MailboxFull",
    "MessageDeadLettered",
    "Reject",
    "Restart",
    "RuntimeConfig",
    "Strategy",
    "SupervisedActor",
    "SupervisionError",
    "Supervisor",
    "SupervisorInfo",
]
