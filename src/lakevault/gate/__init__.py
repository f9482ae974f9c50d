"""The gate: authorise every action, record it, and issue the proof that lets it run.

Storage, kms and secrets accept work only with a :class:`Proof` that a :class:`Gate` issued
for that action and resource; only this package can make one.
"""

from lakevault.gate._events import EventFactory
from lakevault.gate._gate import (
    Decision,
    Gate,
    PolicyEngine,
    PolicySource,
    ProofVerifier,
    event_source,
)
from lakevault.gate._proof import Proof
from lakevault.gate._request import GATE_CONTEXT_KEYS, ContextValue, Request

__all__ = [
    "GATE_CONTEXT_KEYS",
    "ContextValue",
    "Decision",
    "EventFactory",
    "Gate",
    "PolicyEngine",
    "PolicySource",
    "Proof",
    "ProofVerifier",
    "Request",
    "event_source",
]
