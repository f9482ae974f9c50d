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

from lakevault.iam._variables import Piece

__all__ = [
    "ARN_SEGMENTS",
    "ArnPattern",
    "compile_arn",
    "compile_glob",
    "has_wildcard",
    "normalize_arn",
]

ARN_SEGMENTS = 6
_TOKENS = re.compile(r"([:*?])")
_GLOB_TOKENS = re.compile(r"([*?])")


def has_wildcard(text: str) -> bool:
    """Whether ``text`` contains a glob wildcard."""
    return "*" in text or "?" in text


def compile_glob(pieces: Iterable[Piece], *, ignore_case: bool = False) -> re.Pattern[str]:
    """An anchored regex for a glob: ``*`` is any run of characters, ``?`` any one character.

    Only pattern parts carry wildcards; literal (substituted) parts are escaped.
    """
    regex: list[str] = []
    for text, is_pattern in pieces:
        if not is_pattern:
            regex.append(re.escape(text))
            continue
        for chunk in _GLOB_TOKENS.split(text):
            if chunk == "*":
                regex.append(".*")
            elif chunk == "?":
                regex.append(".")
            elif chunk:
                regex.append(re.escape(chunk))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(regex), flags)


def normalize_arn(value: str) -> str | None:
    """The ARN with its first five segments lower-cased, or ``None`` if it is not an ARN."""
    parts = value.split(":", ARN_SEGMENTS - 1)
    if len(parts) < ARN_SEGMENTS:
        return None
    return ":".join(part.lower() for part in parts[:-1]) + ":" + parts[-1]


class ArnPattern:
    """A compiled ARN pattern: ``exact`` (normalised ARN), ``prefix`` (the common ``.../*``
    form, a ``startswith`` test), or ``regex`` — or none of them, and it matches nothing.

    ``is_short`` tells that the pattern had fewer than six segments; whether such a pattern is
    padded with ``*`` or matches nothing depends on the policy kind (rule R12) and is decided by
    the caller through ``pad_short``.
    """

    __slots__ = ("exact", "is_short", "prefix", "regex")

    def __init__(
        self,
        exact: str | None,
        regex: re.Pattern[str] | None,
        *,
        is_short: bool,
        prefix: str | None = None,
    ) -> None:
        self.exact = exact
        self.regex = regex
        self.prefix = prefix
        self.is_short = is_short

    @property
    def is_void(self) -> bool:
        """Whether the pattern can match nothing at all (a short ARN that is not padded)."""
        return self.exact is None and self.prefix is None and self.regex is None

    def matches(self, normalized: str) -> bool:
        """Whether a normalised request ARN matches."""
        if self.exact is not None:
            return self.exact == normalized
        if self.prefix is not None:
            return normalized.startswith(self.prefix)
        return self.regex is not None and self.regex.fullmatch(normalized) is not None


def _compile_plain_arn(text: str) -> ArnPattern | None:
    """The fast path for a full-length pattern that is exact or ends in its only ``*``."""
    if text.count(":") < ARN_SEGMENTS - 1 or "?" in text:
        return None
    stars = text.count("*")
    if stars == 0:
        return ArnPattern(normalize_arn(text), None, is_short=False)
    if stars == 1 and text.endswith("*"):
        head = text[:-1]
        if head.count(":") >= ARN_SEGMENTS - 1:
            return ArnPattern(None, None, is_short=False, prefix=normalize_arn(head))
    return None


def compile_arn(parts: Iterable[Piece], *, pad_short: bool) -> ArnPattern:
    """Compile an ARN pattern; see :class:`ArnPattern`.

    ``pad_short``: pad a pattern with fewer than six segments with ``*`` segments; when false,
    such a pattern matches nothing.
    """
    parts = tuple(parts)
    if len(parts) == 1 and parts[0][1]:
        fast = _compile_plain_arn(parts[0][0])
        if fast is not None:
            return fast
    pieces: list[str] = []
    exact: list[str] = []
    segment = 0
    is_wild = False
    wild_count = 0
    last = ARN_SEGMENTS - 1
    for text, is_pattern in parts:
        for chunk in _TOKENS.split(text):
            if not chunk:
                continue
            if chunk == ":" and segment < last:
                segment += 1
                pieces.append(":")
                exact.append(":")
            elif is_pattern and chunk == "*":
                is_wild = True
                wild_count += 1
                pieces.append("[^:]*" if segment < last else ".*")
            elif is_pattern and chunk == "?":
                is_wild = True
                wild_count += 2
                pieces.append("[^:]" if segment < last else ".")
            else:
                folded = chunk.lower() if segment < last else chunk
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
    if not is_short and pieces[-1] == ".*" and wild_count == 1:
        # The common ``arn:...:bucket/prefix/*``: a prefix test, no regex to build or run.
        return ArnPattern(None, None, is_short=False, prefix="".join(exact))
    return ArnPattern(None, re.compile("".join(pieces), re.DOTALL), is_short=is_short)
