"""Matching of actions, resources (ARNs) and glob strings.

* Actions compare case-insensitively; ``*`` and ``?`` are wildcards; whitespace is significant
  (``"s3:GetObject "`` is a different action, rule R14).
* ARNs compare segment-wise (rule R11): wildcards in the first five segments (``arn``,
  partition, service, region, account) never cross a ``:``, those segments compare
  case-insensitively, and the resource part is case-sensitive and may contain ``:``.
* A request whose resource is not an ARN (``"*"`` for actions without resource-level
  permissions) is matched only by a policy resource that is exactly ``"*"``.

Every pattern is compiled once: an exact string for patterns without wildcards (a set lookup),
one anchored regex otherwise. Substituted variable values arrive as literal parts and are
escaped, so they never act as wildcards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lakevault.iam._variables import TemplatePart

__all__ = [
    "ARN_SEGMENTS",
    "ArnPattern",
    "compile_arn",
    "compile_glob",
    "has_wildcard",
    "normalize_arn",
]

ARN_SEGMENTS = 6


def has_wildcard(text: str) -> bool:
    """Whether ``text`` contains a glob wildcard."""
    return "*" in text or "?" in text


def compile_glob(parts: Iterable[TemplatePart], *, ignore_case: bool = False) -> re.Pattern[str]:
    """An anchored regex for a glob: ``*`` is any run of characters, ``?`` any one character.

    Only pattern parts carry wildcards; literal (substituted) parts are escaped.
    """
    pieces: list[str] = []
    for part in parts:
        if not part.is_pattern:
            pieces.append(re.escape(part.text))
            continue
        for character in part.text:
            if character == "*":
                pieces.append(".*")
            elif character == "?":
                pieces.append(".")
            else:
                pieces.append(re.escape(character))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(pieces), flags)


def normalize_arn(value: str) -> str | None:
    """The ARN with its first five segments lower-cased, or ``None`` if it is not an ARN."""
    parts = value.split(":", ARN_SEGMENTS - 1)
    if len(parts) < ARN_SEGMENTS:
        return None
    return ":".join(part.lower() for part in parts[:-1]) + ":" + parts[-1]


class ArnPattern:
    """A compiled ARN pattern: ``exact`` (normalised ARN) or ``regex``, or it matches nothing.

    ``is_short`` tells that the pattern had fewer than six segments; whether such a pattern is
    padded with ``*`` or matches nothing depends on the policy kind (rule R12) and is decided by
    the caller through ``pad_short``.
    """

    __slots__ = ("exact", "is_short", "regex")

    def __init__(self, exact: str | None, regex: re.Pattern[str] | None, *, is_short: bool) -> None:
        self.exact = exact
        self.regex = regex
        self.is_short = is_short

    def matches(self, normalized: str) -> bool:
        """Whether a normalised request ARN matches."""
        if self.exact is not None:
            return self.exact == normalized
        return self.regex is not None and self.regex.fullmatch(normalized) is not None


def compile_arn(parts: Iterable[TemplatePart], *, pad_short: bool) -> ArnPattern:
    """Compile an ARN pattern; see :class:`ArnPattern`.

    ``pad_short``: pad a pattern with fewer than six segments with ``*`` segments; when false,
    such a pattern matches nothing.
    """
    pieces: list[str] = []
    exact: list[str] = []
    segment = 0
    is_wild = False
    for part in parts:
        for character in part.text:
            if character == ":" and segment < ARN_SEGMENTS - 1:
                segment += 1
                pieces.append(":")
                exact.append(":")
            elif part.is_pattern and character == "*":
                is_wild = True
                pieces.append("[^:]*" if segment < ARN_SEGMENTS - 1 else ".*")
            elif part.is_pattern and character == "?":
                is_wild = True
                pieces.append("[^:]" if segment < ARN_SEGMENTS - 1 else ".")
            else:
                folded = character.lower() if segment < ARN_SEGMENTS - 1 else character
                pieces.append(re.escape(folded))
                exact.append(folded)
    is_short = segment < ARN_SEGMENTS - 1
    if is_short:
        if not pad_short:
            return ArnPattern(None, None, is_short=True)
        missing = ARN_SEGMENTS - 1 - segment
        pieces.extend([":[^:]*"] * (missing - 1) + [":.*"])
        is_wild = True
    if not is_wild:
        return ArnPattern("".join(exact), None, is_short=is_short)
    return ArnPattern(None, re.compile("".join(pieces), re.DOTALL), is_short=is_short)
