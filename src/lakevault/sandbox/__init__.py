"""Sandboxed functions: run untrusted tenant code in single-use, confined processes.

A :class:`Supervisor` probes the host (:func:`probe_layers`), refuses to run when a layer is
missing (:class:`SandboxUnavailable`), keeps warm zygotes, and turns each invocation into an
:class:`Outcome`. :class:`Dispatcher` adds per-function and per-tenant concurrency limits with a
bounded queue. See docs/sandbox.md for exactly what is and is not guaranteed.

The names are resolved on first use (PEP 562): the zygote imports this package, and it must stay
small and free of everything it does not need (no settings, no pydantic), since every sandbox is
forked from it and its size is paid on each fork.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "ConcurrencyLimits": "lakevault.sandbox._dispatch",
    "Dispatcher": "lakevault.sandbox._dispatch",
    "Endpoint": "lakevault.sandbox._network",
    "FunctionCode": "lakevault.sandbox._supervisor",
    "InvalidSandboxRequest": "lakevault.sandbox._errors",
    "InvocationType": "lakevault.sandbox._limits",
    "KillReason": "lakevault.sandbox._outcome",
    "LAYERS": "lakevault.sandbox._probe",
    "LayerReport": "lakevault.sandbox._probe",
    "LayerStatus": "lakevault.sandbox._probe",
    "Limits": "lakevault.sandbox._limits",
    "Metrics": "lakevault.sandbox._metrics",
    "MetricsSnapshot": "lakevault.sandbox._metrics",
    "NetworkPolicy": "lakevault.sandbox._network",
    "Outcome": "lakevault.sandbox._outcome",
    "SandboxBusy": "lakevault.sandbox._errors",
    "SandboxFailure": "lakevault.sandbox._supervisor",
    "SandboxUnavailable": "lakevault.sandbox._errors",
    "Status": "lakevault.sandbox._outcome",
    "Supervisor": "lakevault.sandbox._supervisor",
    "SupervisorSettings": "lakevault.sandbox._supervisor",
    "parse_duration": "lakevault.sandbox._limits",
    "parse_size": "lakevault.sandbox._limits",
    "probe_layers": "lakevault.sandbox._probe",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lakevault.sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
