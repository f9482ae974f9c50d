"""Errors of the policy engine.

The engine raises only what ``lakevault.core.errors`` defines, plus one subclass that carries the
JSON path of a validation failure::

    LakevaultError
    └── InvalidInput
        └── MalformedPolicyDocument
            └── PolicyDocumentError      (adds ``json_path``; ``message`` stays AWS's exact text)

``message`` is kept byte-for-byte equal to what AWS IAM answers, so clients that match on it (and
the moto validation corpus) keep working; the location goes into ``json_path`` and ``detail``.
"""

from __future__ import annotations

from lakevault.core.errors import MalformedPolicyDocument

__all__ = ["PolicyDocumentError"]


class PolicyDocumentError(MalformedPolicyDocument):
    """A policy document failed validation.

    ``message`` is AWS's message (for example ``"Syntax errors in policy."``); ``json_path`` names
    the element that failed (``$.Statement[1].Resource``), or ``$`` for the whole document.
    """

    def __init__(self, message: str, *, json_path: str = "$", code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.json_path = json_path

    @property
    def detail(self) -> str:
        """The message with the location, for people reading a CLI or log line."""
        return f"{self.message} (at {self.json_path})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"json_path={self.json_path!r})"
        )
