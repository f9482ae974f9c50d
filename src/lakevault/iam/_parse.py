"""Parse and validate policy documents the way AWS IAM does, with AWS's messages.

Validation runs in AWS's order, because the *first* failing phase decides the message a client
sees (the moto corpus in ``../shared/conformance/iam`` pins each of them):

1. syntax — JSON, element names and value types → ``Syntax errors in policy.``
2. version — identity-type policies must say ``2012-10-17``
3. legacy parsing — case-sensitive ``Effect``, date values, ARN shapes →
   ``The policy failed legacy parsing``
4. unique ``Sid`` values
5. every statement has actions
6. the resource-format message recorded in phase 3 (``Resource x must be in ARN format``)
7. action vendor prefixes
8. every statement has resources (where the kind needs them: not trust or endpoint policies)

The first error raises :class:`~lakevault.iam.PolicyDocumentError` (a
``MalformedPolicyDocument``) whose ``message`` is AWS's text and whose ``json_path`` names the
element. Nothing else escapes: a fuzz test feeds arbitrary JSON to pin that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lakevault.iam._errors import PolicyDocumentError
from lakevault.iam._policy import (
    VERSION_2008,
    VERSION_2012,
    Condition,
    ConditionOperator,
    Policy,
    PrincipalEntry,
    SetQualifier,
    Statement,
)
from lakevault.iam._types import Effect, PolicyKind, PrincipalType, Strictness

__all__ = ["parse_policy"]

SYNTAX_ERROR = "Syntax errors in policy."
VERSION_ERROR = "Policy document must be version 2012-10-17 or greater."
LEGACY_ERROR = "The policy failed legacy parsing"
SID_ERROR = "Statement IDs (SID) in a single policy must be unique."
NO_ACTIONS_ERROR = "Policy statement must contain actions."
NO_RESOURCES_ERROR = "Policy statement must contain resources."
PRINCIPAL_NOT_ALLOWED_ERROR = "Policy document should not specify a principal."
INVALID_PRINCIPAL_ERROR = "Invalid principal in policy"
VENDOR_MISSING_ERROR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON_ERROR = "Actions/Condition can contain only one colon."

#: Largest document (non-whitespace characters) per kind, as AWS's quotas set them.
SIZE_LIMITS: Mapping[PolicyKind, int] = {
    PolicyKind.IDENTITY: 6144,
    PolicyKind.PERMISSION_BOUNDARY: 6144,
    PolicyKind.SESSION: 2048,
    PolicyKind.GUARDRAIL: 5120,
    PolicyKind.RESOURCE_GUARDRAIL: 5120,
    PolicyKind.RESOURCE: 20480,
    PolicyKind.ENDPOINT: 20480,
}
#: Whitespace is free in AWS's quota, but not in our parser: cap the raw text too.
RAW_SIZE_FACTOR = 8

_TOP_ELEMENTS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)
_PRINCIPAL_TYPES = {t.value: t for t in PrincipalType if t is not PrincipalType.ANY}
_OPERATORS = {op.value: op for op in ConditionOperator}
_RESOURCELESS_KINDS = frozenset({PolicyKind.RESOURCE, PolicyKind.ENDPOINT})
_REGION_ERRORS = {
    "iam": "IAM resource {resource} cannot contain region information.",
    "s3": "Resource {resource} can not contain region information.",
}
_IAM_PATH_PREFIXES = (
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
)
_PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
_VENDOR_INVALID = re.compile(r"[^a-zA-Z0-9\-.]")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_MAX_TIMESTAMP = 9223372036854775807


def parse_policy(
    document: str | Mapping[str, Any],
    *,
    policy_id: str = "",
    kind: PolicyKind = PolicyKind.IDENTITY,
    scope: str = "",
    strictness: Strictness = Strictness.STRICT,
) -> Policy:
    """Validate a policy document and return its :class:`Policy`.

    ``document`` is JSON text or an already-decoded mapping. Raises
    :class:`~lakevault.iam.PolicyDocumentError` (a ``MalformedPolicyDocument``) with AWS's
    message and the JSON path of the first problem; a document over the size quota of its kind
    raises the same class with code ``LimitExceeded``.
    """
    root = _decode(document, kind)
    return _Validator(root, kind=kind, strictness=strictness).build(
        policy_id=policy_id, scope=scope
    )


def _decode(document: str | Mapping[str, Any], kind: PolicyKind) -> Any:
    limit = SIZE_LIMITS[kind]
    if isinstance(document, str):
        text = document
    else:
        try:
            text = json.dumps(document, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise PolicyDocumentError(SYNTAX_ERROR) from exc
    if len(text) > limit * RAW_SIZE_FACTOR or len("".join(text.split())) > limit:
        raise PolicyDocumentError(
            f"Cannot exceed quota for PolicySize: {limit}", code="LimitExceeded"
        )
    # A mapping is decoded from its own JSON too, so that whatever it holds (tuples, integer
    # keys) becomes exactly what a JSON document could say.
    try:
        return json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as exc:
        raise PolicyDocumentError(SYNTAX_ERROR) from exc


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _is_string_list(value: Any, *, allow_null: bool) -> bool:
    if isinstance(value, str):
        return True
    if not isinstance(value, list):
        return False
    return all(isinstance(item, str) or (allow_null and item is None) for item in value)


def _as_list(value: str | list[Any]) -> list[str]:
    return [value] if isinstance(value, str) else [item for item in value if item is not None]


def _split_operator(name: str) -> tuple[SetQualifier, str, bool]:
    qualifier = SetQualifier.NONE
    for candidate in (SetQualifier.FOR_ANY_VALUE, SetQualifier.FOR_ALL_VALUES):
        if name.startswith(candidate.value):
            qualifier, name = candidate, name[len(candidate.value) :]
            break
    if_exists = name.endswith("IfExists")
    if if_exists:
        name = name[: -len("IfExists")]
    return qualifier, name, if_exists


def _condition_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Validator:
    """One validation run over a decoded document; methods are AWS's phases in order."""

    def __init__(self, root: Any, *, kind: PolicyKind, strictness: Strictness) -> None:
        self.root = root
        self.kind = kind
        self.is_strict = strictness is Strictness.STRICT
        self.statements: list[dict[str, Any]] = []
        self.resource_error: tuple[str, str] | None = None

    def build(self, *, policy_id: str, scope: str) -> Policy:
        self.check_syntax()
        self.check_version()
        self.check_legacy()
        self.check_sids()
        self.check_present("Action", "NotAction", NO_ACTIONS_ERROR)
        if self.resource_error is not None:
            message, path = self.resource_error
            raise PolicyDocumentError(message, json_path=path)
        self.check_action_vendors("Action")
        self.check_action_vendors("NotAction")
        if self.kind not in _RESOURCELESS_KINDS:
            self.check_present("Resource", "NotResource", NO_RESOURCES_ERROR)
        statements = tuple(self.statement(index, raw) for index, raw in enumerate(self.statements))
        return Policy(
            policy_id=policy_id,
            kind=self.kind,
            version=self.root.get("Version", ""),
            document_id=self.root.get("Id", ""),
            scope=scope,
            statements=statements,
        )

    # Phase 1: syntax.
    def check_syntax(self) -> None:
        root = self.root
        if not isinstance(root, Mapping):
            raise PolicyDocumentError(SYNTAX_ERROR)
        for key in root:
            if key not in _TOP_ELEMENTS:
                raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"$.{key}")
        if "Version" in root and root["Version"] not in (VERSION_2008, VERSION_2012):
            raise PolicyDocumentError(SYNTAX_ERROR, json_path="$.Version")
        if "Id" in root and not isinstance(root["Id"], str):
            raise PolicyDocumentError(SYNTAX_ERROR, json_path="$.Id")
        body = root.get("Statement")
        if isinstance(body, Mapping):
            self.statements = [dict(body)]
            paths = ["$.Statement"]
        elif isinstance(body, list) and (body or not self.is_strict):
            self.statements = list(body)
            paths = [f"$.Statement[{index}]" for index in range(len(body))]
        else:
            raise PolicyDocumentError(SYNTAX_ERROR, json_path="$.Statement")
        self.paths = paths
        for raw, path in zip(self.statements, paths, strict=True):
            self.check_statement_syntax(raw, path)

    def check_statement_syntax(self, raw: Any, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise PolicyDocumentError(SYNTAX_ERROR, json_path=path)
        for key in raw:
            if key not in _STATEMENT_ELEMENTS:
                raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"{path}.{key}")
        for first, second in (
            ("Resource", "NotResource"),
            ("Action", "NotAction"),
            ("Principal", "NotPrincipal"),
        ):
            if first in raw and second in raw:
                raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"{path}.{second}")
        effect = raw.get("Effect")
        if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
            raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"{path}.Effect")
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            allow_null = key.endswith("Resource")
            if key in raw and not _is_string_list(raw[key], allow_null=allow_null):
                raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"{path}.{key}")
        if "Sid" in raw and not isinstance(raw["Sid"], str):
            raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"{path}.Sid")
        if "Condition" in raw:
            self.check_condition_syntax(raw["Condition"], f"{path}.Condition")
        for key in ("Principal", "NotPrincipal"):
            if key in raw:
                self.check_principal_syntax(raw[key], f"{path}.{key}")

    def check_condition_syntax(self, block: Any, path: str) -> None:
        if not isinstance(block, Mapping):
            raise PolicyDocumentError(SYNTAX_ERROR, json_path=path)
        for operator, body in block.items():
            operator_path = f"{path}.{operator}"
            if not isinstance(body, Mapping):
                raise PolicyDocumentError(SYNTAX_ERROR, json_path=operator_path)
            for key, values in body.items():
                items = values if isinstance(values, list) else [values]
                if not all(isinstance(item, str | bool | int | float) for item in items):
                    raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"{operator_path}.{key}")
            _, base, _ = _split_operator(operator)
            if base not in _OPERATORS and body:
                raise PolicyDocumentError(SYNTAX_ERROR, json_path=operator_path)

    def check_principal_syntax(self, principal: Any, path: str) -> None:
        if not self.kind.names_principals and self.is_strict:
            raise PolicyDocumentError(PRINCIPAL_NOT_ALLOWED_ERROR, json_path=path)
        if isinstance(principal, str):
            if principal != "*" and self.is_strict:
                raise PolicyDocumentError(INVALID_PRINCIPAL_ERROR, json_path=path)
            return
        if not isinstance(principal, Mapping) or not principal:
            raise PolicyDocumentError(SYNTAX_ERROR, json_path=path)
        for key, values in principal.items():
            if key not in _PRINCIPAL_TYPES or not _is_string_list(values, allow_null=False):
                raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"{path}.{key}")
            if isinstance(values, list) and not values:
                raise PolicyDocumentError(SYNTAX_ERROR, json_path=f"{path}.{key}")

    # Phase 2: version.
    def check_version(self) -> None:
        if self.kind.names_principals or not self.is_strict:
            return
        if self.root.get("Version") != VERSION_2012:
            raise PolicyDocumentError(VERSION_ERROR, json_path="$.Version")

    # Phase 3: legacy parsing.
    def check_legacy(self) -> None:
        for raw, path in zip(self.statements, self.paths, strict=True):
            if raw["Effect"] not in ("Allow", "Deny"):
                raise PolicyDocumentError(LEGACY_ERROR, json_path=f"{path}.Effect")
            for operator, body in raw.get("Condition", {}).items():
                _, base, _ = _split_operator(operator)
                if not base.startswith("Date"):
                    continue
                for key, values in body.items():
                    for value in values if isinstance(values, list) else [values]:
                        if not _is_legacy_date(_condition_text(value)):
                            raise PolicyDocumentError(
                                LEGACY_ERROR, json_path=f"{path}.Condition.{operator}.{key}"
                            )
        for key in ("Resource", "NotResource"):
            for raw, path in zip(self.statements, self.paths, strict=True):
                if key not in raw:
                    continue
                resources = _as_list(raw[key])
                for resource in sorted(resources, reverse=True):
                    self.check_resource_format(resource, f"{path}.{key}")
                if self.resource_error is None:
                    is_list = isinstance(raw[key], list)
                    for resource in resources:
                        if not _passes_legacy_resource(resource, is_list=is_list):
                            raise PolicyDocumentError(LEGACY_ERROR, json_path=f"{path}.{key}")

    def check_resource_format(self, resource: str, path: str) -> None:
        """Record (not raise) AWS's resource-format message: a later phase may fail first."""
        message = _resource_format_error(resource)
        if message is not None:
            self.resource_error = (message, path)

    # Phase 4: Sid uniqueness.
    def check_sids(self) -> None:
        seen: set[str] = set()
        for raw, path in zip(self.statements, self.paths, strict=True):
            sid = raw.get("Sid", "")
            if sid:
                if sid in seen:
                    raise PolicyDocumentError(SID_ERROR, json_path=f"{path}.Sid")
                seen.add(sid)

    # Phases 5 and 6: required elements.
    def check_present(self, key: str, not_key: str, message: str) -> None:
        for raw, path in zip(self.statements, self.paths, strict=True):
            if key not in raw and not_key not in raw:
                raise PolicyDocumentError(message, json_path=path)
            present = key if key in raw else not_key
            if isinstance(raw[present], list) and not raw[present]:
                raise PolicyDocumentError(message, json_path=f"{path}.{present}")

    # Phase 8: action vendors.
    def check_action_vendors(self, key: str) -> None:
        for raw, path in zip(self.statements, self.paths, strict=True):
            if key not in raw:
                continue
            for action in _as_list(raw[key]):
                parts = action.split(":")
                if len(parts) == 1 and parts[0] != "*":
                    raise PolicyDocumentError(VENDOR_MISSING_ERROR, json_path=f"{path}.{key}")
                if len(parts) > 2:
                    raise PolicyDocumentError(ONE_COLON_ERROR, json_path=f"{path}.{key}")
                if parts[0] != "*" and _VENDOR_INVALID.search(parts[0]):
                    raise PolicyDocumentError(
                        f"Vendor {parts[0]} is not valid", json_path=f"{path}.{key}"
                    )

    # Building the model.
    def statement(self, index: int, raw: Mapping[str, Any]) -> Statement:
        def strings(key: str) -> tuple[str, ...] | None:
            return tuple(_as_list(raw[key])) if key in raw else None

        return Statement(
            index=index,
            sid=raw.get("Sid", ""),
            effect=Effect(raw["Effect"]),
            actions=strings("Action"),
            not_actions=strings("NotAction"),
            resources=strings("Resource"),
            not_resources=strings("NotResource"),
            principals=_principals(raw["Principal"]) if "Principal" in raw else None,
            not_principals=_principals(raw["NotPrincipal"]) if "NotPrincipal" in raw else None,
            conditions=_conditions(raw.get("Condition", {})),
        )


def _principals(raw: str | Mapping[str, Any]) -> tuple[PrincipalEntry, ...]:
    if raw == "*":
        return (PrincipalEntry(type=PrincipalType.ANY, value="*"),)
    if isinstance(raw, str):
        # Lenient mode only: a bare ARN string means {"AWS": ARN}, as AWS's simulator reads it.
        return (PrincipalEntry(type=PrincipalType.AWS, value=raw),)
    return tuple(
        PrincipalEntry(type=_PRINCIPAL_TYPES[key], value=value)
        for key, values in raw.items()
        for value in _as_list(values)
    )


def _conditions(block: Mapping[str, Mapping[str, Any]]) -> tuple[Condition, ...]:
    conditions: list[Condition] = []
    for operator, body in block.items():
        qualifier, base, if_exists = _split_operator(operator)
        if base not in _OPERATORS:
            continue  # An unknown operator is only valid with an empty body: nothing to test.
        for key, values in body.items():
            items = values if isinstance(values, list) else [values]
            conditions.append(
                Condition(
                    operator=_OPERATORS[base],
                    qualifier=qualifier,
                    if_exists=if_exists,
                    key=key,
                    values=tuple(_condition_text(item) for item in items),
                )
            )
    return tuple(conditions)


def _resource_format_error(resource: str) -> str | None:
    """AWS's message for a malformed ``Resource`` entry, or ``None`` when it is well formed."""
    if resource == "*":
        return None
    _, colon, rest = resource.partition(":")
    if not colon:
        return f'Resource {resource} must be in ARN format or "*".'
    partition, colon, rest = rest.partition(":")
    if partition != "*" and partition not in _PARTITIONS:
        parts = rest.split(":")
        service = parts[0] if parts[0] != "" or len(parts) > 1 else "*"
        region = parts[1] if len(parts) > 1 else "*"
        account = parts[2] if len(parts) > 2 else "*"
        name = ":".join(parts[3:]) if len(parts) > 3 else "*"
        return (
            f'Partition "{partition}" is not valid for resource '
            f'"arn:{partition}:{service}:{region}:{account}:{name}".'
        )
    if not colon:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    service, _, rest = rest.partition(":")
    resource_id = rest.partition(":")[2].partition(":")[2]
    is_access_point = service == "s3" and resource_id.startswith("accesspoint/")
    if service in _REGION_ERRORS and not rest.startswith(":") and not is_access_point:
        return _REGION_ERRORS[service].format(resource=resource)
    if service == "iam" and not resource_id.startswith(_IAM_PATH_PREFIXES):
        values = ", ".join(_IAM_PATH_PREFIXES)
        return f'IAM resource path must either be "*" or start with {values}.'
    return None


def _passes_legacy_resource(resource: str, *, is_list: bool) -> bool:
    """AWS's legacy ARN check. It differs for a list (the third *character* must exist) and a
    single string (the third *segment* must be non-empty); AWS answers both ways, so do we."""
    if resource == "*":
        return True
    if resource.count(":") < 5 and "::" in resource:
        return False
    if is_list:
        return len(resource) > 2
    parts = resource.split(":")
    return len(parts) > 2 and parts[2] != ""


def _is_legacy_date(value: str) -> bool:
    """Whether AWS's legacy parser accepts a date condition value (ISO 8601 or epoch seconds)."""
    lowered = value.lower()
    if "t" not in lowered and "-" not in value:
        return bool(_INTEGER.fullmatch(value)) and 0 <= int(value) <= _MAX_TIMESTAMP
    return _is_legacy_iso_datetime(lowered)


def _in_range(text: str, low: int, high: int, *, width: int | None = None) -> bool:
    if not _INTEGER.fullmatch(text) or (width is not None and len(text) != width):
        return False
    return low <= int(text) <= high


def _is_legacy_iso_datetime(value: str) -> bool:
    date, _, time = value.partition("t")
    negative = date.startswith("-")
    date_parts = (date[1:] if negative else date).split("-")
    year = ("-" if negative else "") + date_parts[0]
    checks = [_in_range(year, -292275054, 292278993), len(date_parts) < 4]
    if len(date_parts) > 1:
        checks.append(_in_range(date_parts[1], 1, 12))
    if len(date_parts) > 2:
        checks.append(_in_range(date_parts[2], 1, 31))
    time_parts = time.split(":")
    if time_parts[0] != "":
        checks.append(_in_range(time_parts[0], 0, 23))
    if len(time_parts) > 1:
        checks.append(_in_range(time_parts[1], 0, 59))
    if len(time_parts) > 2:
        checks.append(_is_legacy_seconds(time_parts[2]))
    return all(checks)


def _is_legacy_seconds(seconds_part: str) -> bool:
    if "z" in seconds_part:
        seconds, _, after = seconds_part.partition("z")
        if after:
            return False
    elif "+" in seconds_part:
        seconds, _, zone_hours = seconds_part.partition("+")
        if not _in_range(zone_hours, 0, 23, width=2):
            return False
    else:
        seconds = seconds_part
    whole, dot, fraction = seconds.partition(".")
    if not _in_range(whole, 0, 59):
        return False
    return not dot or _in_range(fraction, 0, 999999999)
