"""Sandboxed functions: run untrusted tenant code in single-use, confined processes.

A :class:`Supervisor` probes the host (:func:`probe_layers`), refuses to run when a layer is
missing (:class:`SandboxUnavailable`), keeps warm zygotes, and turns each invocation into an
:class:`Outcome`. :class:`Dispatcher` adds per-function and per-tenant concurrency limits with a
bounded queue. See docs/sandbox.md for exactly what is and is not guaranteed.
"""

from lakevault.sandbox._dispatch import ConcurrencyLimits, Dispatcher
from lakevault.sandbox._errors import InvalidSandboxRequest, SandboxBusy, SandboxUnavailable
from lakevault.sandbox._limits import InvocationType, Limits, parse_duration, parse_size
from lakevault.sandbox._metrics import Metrics, MetricsSnapshot
from lakevault.sandbox._network import Endpoint, NetworkPolicy
from lakevault.sandbox._outcome import KillReason, Outcome, Status
from lakevault.sandbox._probe import LAYERS, LayerReport, LayerStatus, probe_layers
from lakevault.sandbox._supervisor import (
    FunctionCode,
    SandboxFailure,
    Supervisor,
    SupervisorSettings,
)

__all__ = [
    "LAYERS",
    "ConcurrencyLimits",
    "Dispatcher",
    "Endpoint",
    "FunctionCode",
    "InvalidSandboxRequest",
    "InvocationType",
    "KillReason",
    "LayerReport",
    "LayerStatus",
    "Limits",
    "Metrics",
    "MetricsSnapshot",
    "NetworkPolicy",
    "Outcome",
    "SandboxBusy",
    "SandboxFailure",
    "SandboxUnavailable",
    "Status",
    "Supervisor",
    "SupervisorSettings",
    "parse_duration",
    "parse_size",
    "probe_layers",
]
