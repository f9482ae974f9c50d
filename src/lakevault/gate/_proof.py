"""The proof of an allowed decision, which storage, kms and secrets demand before acting.

A :class:`Proof` cannot be built by calling its class: only :mod:`lakevault.gate` issues
proofs, and a :class:`~lakevault.gate.Gate` accepts only proofs it issued itself, for the very
action and resource being performed. Copies are the same object, and proofs cannot be pickled,
so a proof never leaves the process that was authorised.

This guards against *programming mistakes* in platform code — a code path that forgot to ask the
gate fails closed, in tests and in production. It is not a defence against hostile code inside
the server process; untrusted code never runs there (see docs/security-model.md, the sandbox).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn


def _recorded() -> None:
    """The wait of a proof whose decision was durable before the proof was issued."""


class Proof:
    """Evidence that the gate allowed ``principal_arn`` to perform ``action`` on ``resource``."""

    __slots__ = (
        "__weakref__",
        "_action",
        "_event_id",
        "_issued_at",
        "_principal_arn",
        "_recorded",
        "_request_id",
        "_resource",
    )

    _action: str
    _event_id: str
    _issued_at: datetime
    _principal_arn: str
    _recorded: Callable[[], None]
    _request_id: str
    _resource: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a Proof is issued only by Gate.authorize; ask the gate for a decision")

    @property
    def action(self) -> str:
        return self._action

    @property
    def resource(self) -> str:
        return self._resource

    @property
    def principal_arn(self) -> str:
        return self._principal_arn

    @property
    def request_id(self) -> str:
        return self._request_id

    @property
    def event_id(self) -> str:
        """The audit event that recorded the decision."""
        return self._event_id

    @property
    def issued_at(self) -> datetime:
        return self._issued_at

    @property
    def is_recorded(self) -> bool:
        """Whether the decision was durable when the proof was issued (see ``wait_recorded``)."""
        return self._recorded is _recorded

    def wait_recorded(self) -> None:
        """Return once the decision's audit event is durable; raise the log's error if it
        could not be written.

        A no-op for a proof from :meth:`Gate.require` (recorded before it was issued). A proof
        from ``Gate.require(..., defer_audit=True)`` is issued while its event is only queued
        (ADR 0230): its holder must call this (or let the key service chain it into the data
        key's ``wait_recorded``) before anything the decision allowed becomes visible, and on
        every path that answers the caller without acting.
        """
        self._recorded()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a Proof is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("a Proof is immutable")

    def __copy__(self) -> Proof:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Proof:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Proof cannot be pickled or sent to another process")

    def __repr__(self) -> str:
        return (
            f"Proof(action={self._action!r}, resource={self._resource!r}, "
            f"principal={self._principal_arn!r}, request_id={self._request_id!r})"
        )


def _issue(
    *,
    action: str,
    resource: str,
    principal_arn: str,
    request_id: str,
    event_id: str,
    issued_at: datetime,
    recorded: Callable[[], None] | None = None,
) -> Proof:
    """Make a proof. Called only by the gate, after the decision was recorded in the audit log
    or, for a deferred decision, queued for it (``recorded`` then waits until it is durable)."""
    proof = object.__new__(Proof)
    for name, value in (
        ("_action", action),
        ("_resource", resource),
        ("_principal_arn", principal_arn),
        ("_request_id", request_id),
        ("_event_id", event_id),
        ("_issued_at", issued_at),
        ("_recorded", recorded or _recorded),
    ):
        object.__setattr__(proof, name, value)
    return proof
