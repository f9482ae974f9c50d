"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}``.

A value is parsed once into a :class:`Template` of parts: text written in the policy (where
``*`` and ``?`` keep their wildcard meaning in ``Like`` operators and resources) and
substitutions. AWS's rules, which the engine follows:

* a substituted value is *literal*: a ``*`` in a user name never acts as a wildcard;
* ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters ``*``, ``?`` and ``$``;
* ``${key, 'default'}`` uses the default when the key is missing;
* a variable whose key is missing (with no default) or multi-valued cannot be resolved, and the
  entry holding it matches nothing — and makes a negated operator false (rule R8);
* variables are substituted once (a value that itself looks like ``${...}`` stays text), and only
  in documents of version ``2012-10-17``; in older documents ``${...}`` is plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["UNRESOLVED", "Piece", "Pieces", "Template", "TemplatePart", "parse_template"]

#: ``(text, is_pattern)``: a piece of a resolved value. Only pattern pieces (policy text) carry
#: wildcards; substituted values and escapes are literal.
Piece = tuple[str, bool]
Pieces = tuple[Piece, ...]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]*?)\s*,\s*'([^']*)'\s*$")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplatePart:
    """A piece of a value: policy text (``is_pattern``) or a literal to substitute."""

    text: str = ""
    is_pattern: bool = False
    variable: str = ""
    default: str | None = None


class _Unresolved:
    """Sentinel for a template that cannot be resolved in a request."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNRESOLVED"


UNRESOLVED = _Unresolved()


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """A parsed policy value. ``text`` is the value as written in the document; ``plain_text``
    the value with escapes applied, which is what it means when it has no variables."""

    text: str
    plain_text: str
    parts: tuple[TemplatePart, ...]
    pieces: Pieces
    has_variables: bool

    def resolve(self, context: Mapping[str, tuple[str, ...]]) -> Pieces | _Unresolved:
        """The pieces with every variable replaced by a literal piece, or ``UNRESOLVED``."""
        if not self.has_variables:
            return self.pieces
        resolved: list[Piece] = []
        for part in self.parts:
            if not part.variable:
                resolved.append((part.text, part.is_pattern))
                continue
            values = context.get(part.variable)
            if values is None or len(values) == 0:
                if part.default is None:
                    return UNRESOLVED
                resolved.append((part.default, False))
            elif len(values) == 1:
                resolved.append((values[0], False))
            else:
                return UNRESOLVED
        return tuple(resolved)

    def resolve_text(self, context: Mapping[str, tuple[str, ...]]) -> str | _Unresolved:
        """The value as plain text (for operators without wildcards), or ``UNRESOLVED``."""
        if not self.has_variables:
            return self.plain_text
        pieces = self.resolve(context)
        if isinstance(pieces, _Unresolved):
            return pieces
        return "".join(text for text, _ in pieces)


@lru_cache(maxsize=4096)
def _plain_template(text: str) -> Template:
    return Template(
        text=text,
        plain_text=text,
        parts=(TemplatePart(text=text, is_pattern=True),),
        pieces=((text, True),),
        has_variables=False,
    )


def parse_template(text: str, *, has_variables: bool) -> Template:
    """Split ``text`` into parts; with ``has_variables`` false the whole text is policy text.

    Templates are immutable and cached: the same value recurs across the statements and
    policies of a tenant.
    """
    if not has_variables or "${" not in text:
        return _plain_template(text)
    return _variable_template(text)


@lru_cache(maxsize=4096)
def _variable_template(text: str) -> Template:
    parts: list[TemplatePart] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > position:
            parts.append(TemplatePart(text=text[position : match.start()], is_pattern=True))
        body = match.group(1)
        stripped = body.strip()
        default_match = _DEFAULT.match(body)
        if stripped in _ESCAPES:
            parts.append(TemplatePart(text=_ESCAPES[stripped]))
        elif default_match is not None:
            parts.append(
                TemplatePart(
                    variable=default_match.group(1).lower(), default=default_match.group(2)
                )
            )
        else:
            parts.append(TemplatePart(variable=stripped.lower()))
        position = match.end()
    if position < len(text):
        parts.append(TemplatePart(text=text[position:], is_pattern=True))
    return Template(
        text=text,
        plain_text="".join(part.text for part in parts),
        parts=tuple(parts),
        pieces=tuple((part.text, part.is_pattern) for part in parts),
        has_variables=any(part.variable for part in parts),
    )
