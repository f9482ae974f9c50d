"""Errors of the sandbox package.

::

    LakevaultError
    ├── ConfigurationError
    │   └── SandboxUnavailable         500  (a confinement layer is missing: refuse to run)
    ├── InvalidInput
    │   └── InvalidSandboxRequest      400  (payload too large, bad limit, bad endpoint)
    └── Throttling
        └── SandboxBusy                429  (concurrency limit reached and the queue is full)
"""

from __future__ import annotations

from lakevault.core.errors import ConfigurationError, InvalidInput, Throttling


class SandboxUnavailable(ConfigurationError):
    """The kernel or host lacks a confinement layer, so untrusted code must not run here."""

    code = "SandboxUnavailable"


class InvalidSandboxRequest(InvalidInput):
    """An invocation asked for something the sandbox does not accept; nothing ran."""

    code = "InvalidParameterValue"


class SandboxBusy(Throttling):
    """Too many invocations of this function or tenant are running and queued."""

    code = "TooManyRequestsException"
