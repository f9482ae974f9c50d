"""Static analysis of one policy: findings in the style of parliament.

Lint never changes a decision; it points at statements that are probably not what their author
meant. Each finding has a stable :class:`FindingCode` (tools match on it) and names the
statement by index and JSON path:

``UNKNOWN_ACTION``
    an action of a service whose catalogue lakevault knows (by default its own ``lakevault:``
    service) that names, or whose pattern matches, no action of that service.
``RESOURCE_STAR_WITH_WRITE``
    an ``Allow`` of write actions on ``Resource: "*"``.
``MISSING_EXTERNAL_ID``
    a trust statement letting another tenant (or anyone) call ``sts:AssumeRole`` without an
    ``sts:ExternalId`` condition — the confused-deputy hole.
``NOT_ACTION_WITH_ALLOW``
    ``Allow`` with ``NotAction``: it grants every action not listed, including future ones.
``UNREACHABLE_STATEMENT``
    a statement that can never apply: an ``Allow`` covered by an unconditional ``Deny`` of the
    same policy, or a resource-policy statement without a principal (rule R13).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from lakevault.iam._match import compile_glob, has_wildcard
from lakevault.iam._policy import Policy, PrincipalEntry, Statement
from lakevault.iam._types import Effect, PolicyKind, PrincipalType

__all__ = ["LAKEVAULT_ACTIONS", "Finding", "FindingCode", "Severity", "lint_policy"]

#: Actions of lakevault's own service. Lint reports any other ``lakevault:`` action.
LAKEVAULT_ACTIONS: frozenset[str] = frozenset(
    {
        "CreateOrganization",
        "GetOrganization",
        "ListOrganizations",
        "CreateTenant",
        "GetTenant",
        "ListTenants",
        "UpdateTenant",
        "DeleteTenant",
        "CreateTeam",
        "GetTeam",
        "ListTeams",
        "UpdateTeam",
        "DeleteTeam",
        "AddTeamMember",
        "RemoveTeamMember",
        "CreateDataset",
        "GetDataset",
        "ListDatasets",
        "UpdateDataset",
        "DeleteDataset",
        "CreateFolder",
        "DeleteFolder",
        "CreateTable",
        "GetTable",
        "DeleteTable",
        "SearchCatalog",
        "TagDataset",
        "UntagDataset",
        "ClassifyDataset",
        "CreateGlossaryTerm",
        "DeleteGlossaryTerm",
        "RequestShare",
        "GetShare",
        "ListShares",
        "ApproveShare",
        "RejectShare",
        "RevokeShare",
        "CreatePipeline",
        "GetPipeline",
        "ListPipelines",
        "UpdatePipeline",
        "DeletePipeline",
        "StartPipeline",
        "StopPipeline",
        "GetPipelineRun",
        "ListPipelineRuns",
        "CreateFunction",
        "GetFunction",
        "ListFunctions",
        "UpdateFunction",
        "DeleteFunction",
        "InvokeFunction",
        "GetAuditEvents",
        "ExportAuditLog",
        "GetAuditCheckpoint",
        "GetAuditProof",
        "PutAuditRetention",
        "GetAuditRetention",
        "PutAuditLogPolicy",
        "GetAuditLogPolicy",
        "DeleteAuditLogPolicy",
        "CreateAuditAlarmSubscription",
        "ListAuditAlarmSubscriptions",
        "DeleteAuditAlarmSubscription",
        "GetSandboxMetrics",
    }
)

_WRITE_VERBS = (
    "put",
    "create",
    "delete",
    "update",
    "write",
    "tag",
    "untag",
    "attach",
    "detach",
    "remove",
    "set",
    "restore",
    "rotate",
    "schedule",
    "cancel",
    "enable",
    "disable",
    "add",
    "approve",
    "reject",
    "revoke",
    "start",
    "stop",
    "invoke",
    "upload",
    "abort",
    "replicate",
    "pass",
    "assume",
    "encrypt",
    "decrypt",
    "generate",
    "reencrypt",
    "import",
    "export",
    "classify",
    "request",
    "change",
    "reset",
)
_WRITE_PROBES = tuple(f"{verb}x" for verb in _WRITE_VERBS)
_ROOT_ARN = re.compile(r"arn:[^:]+:iam::([0-9]{12}):root")
_ACCOUNT_IN_ARN = re.compile(r"arn:[^:]+:[^:]*:[^:]*:([0-9]{12}):")


class Severity(enum.Enum):
    """How sure lint is that a finding is a mistake."""

    ERROR = "error"
    WARNING = "warning"


class FindingCode(enum.Enum):
    """What a finding is about; see the module docstring."""

    UNKNOWN_ACTION = "UNKNOWN_ACTION"
    RESOURCE_STAR_WITH_WRITE = "RESOURCE_STAR_WITH_WRITE"
    MISSING_EXTERNAL_ID = "MISSING_EXTERNAL_ID"
    NOT_ACTION_WITH_ALLOW = "NOT_ACTION_WITH_ALLOW"
    UNREACHABLE_STATEMENT = "UNREACHABLE_STATEMENT"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One finding on one statement."""

    code: FindingCode
    severity: Severity
    statement_index: int
    json_path: str
    message: str


def _glob(pattern: str) -> re.Pattern[str]:
    return compile_glob(((pattern, True),), ignore_case=True)


def _unknown_actions(
    statement: Statement, path: str, known_actions: Mapping[str, Collection[str]]
) -> list[Finding]:
    findings: list[Finding] = []
    patterns = statement.actions or statement.not_actions or ()
    key = "Action" if statement.actions is not None else "NotAction"
    for pattern in patterns:
        service, colon, name = pattern.partition(":")
        catalogue = known_actions.get(service.lower()) if colon else None
        if catalogue is None:
            continue
        regex = _glob(name)
        if not any(regex.fullmatch(action) for action in catalogue):
            findings.append(
                Finding(
                    code=FindingCode.UNKNOWN_ACTION,
                    severity=Severity.ERROR,
                    statement_index=statement.index,
                    json_path=f"{path}.{key}",
                    message=f"{pattern} matches no action of service {service}; "
                    "check the spelling against docs/policies.md",
                )
            )
    return findings


def _is_write(pattern: str) -> bool:
    name = pattern.partition(":")[2] if ":" in pattern else pattern
    if not has_wildcard(name):
        return name.lower().startswith(_WRITE_VERBS)
    regex = _glob(name)
    return any(regex.fullmatch(probe) for probe in _WRITE_PROBES)


def _principal_accounts(entries: tuple[PrincipalEntry, ...]) -> set[str]:
    accounts: set[str] = set()
    for entry in entries:
        if entry.type is PrincipalType.ANY or entry.value == "*":
            accounts.add("*")
        elif entry.type is PrincipalType.AWS:
            match = _ROOT_ARN.fullmatch(entry.value) or _ACCOUNT_IN_ARN.match(entry.value)
            accounts.add(match.group(1) if match else entry.value)
    return accounts


def _is_missing_external_id(statement: Statement, tenant: str) -> bool:
    if statement.effect is not Effect.ALLOW or statement.principals is None:
        return False
    actions = statement.actions or ()
    if not any(_glob(pattern).fullmatch("sts:AssumeRole") for pattern in actions):
        return False
    if any(condition.key.lower() == "sts:externalid" for condition in statement.conditions):
        return False
    accounts = _principal_accounts(statement.principals)
    return "*" in accounts or (bool(tenant) and any(account != tenant for account in accounts))


def _covers(
    deny_patterns: tuple[str, ...], allow_patterns: tuple[str, ...], *, ignore_case: bool
) -> bool:
    regexes = [compile_glob(((p, True),), ignore_case=ignore_case) for p in deny_patterns]
    return all(any(regex.fullmatch(pattern) for regex in regexes) for pattern in allow_patterns)


def _is_shadowed(allow: Statement, deny: Statement) -> bool:
    """Whether an unconditional Deny covers every action and resource of an Allow."""
    if deny.conditions or deny.actions is None or allow.actions is None:
        return False
    if not _covers(deny.actions, allow.actions, ignore_case=True):
        return False
    if deny.resources is not None and allow.resources is not None:
        if not _covers(deny.resources, allow.resources, ignore_case=False):
            return False
    elif deny.resources is not None or deny.not_resources is not None:
        return False
    if deny.principals is None and deny.not_principals is None:
        return True
    return deny.principals is not None and any(
        entry.type is PrincipalType.ANY or entry.value == "*" for entry in deny.principals
    )


def lint_policy(
    policy: Policy,
    *,
    tenant: str = "",
    known_actions: Mapping[str, Collection[str]] | None = None,
) -> tuple[Finding, ...]:
    """The findings for ``policy``, in statement order.

    ``tenant`` is the 12-digit id of the tenant that owns the policy; with it, trust statements
    naming other tenants are checked for ``sts:ExternalId`` (without it, only ``*``).
    ``known_actions`` maps a lower-case service prefix to its action names (default: lakevault's
    own service).
    """
    catalogue = known_actions if known_actions is not None else {"lakevault": LAKEVAULT_ACTIONS}
    findings: list[Finding] = []
    for statement in policy.statements:
        path = f"$.Statement[{statement.index}]"

        def add(
            code: FindingCode,
            severity: Severity,
            message: str,
            *,
            at: str = path,
            index: int = statement.index,
        ) -> None:
            findings.append(
                Finding(
                    code=code,
                    severity=severity,
                    statement_index=index,
                    json_path=at,
                    message=message,
                )
            )

        findings.extend(_unknown_actions(statement, path, catalogue))
        is_allow = statement.effect is Effect.ALLOW
        if is_allow and statement.not_actions is not None:
            add(
                FindingCode.NOT_ACTION_WITH_ALLOW,
                Severity.WARNING,
                "Allow with NotAction grants every action not listed, including actions added "
                "later; list the allowed actions instead",
                at=f"{path}.NotAction",
            )
        if is_allow and statement.resources is not None and "*" in statement.resources:
            writes = [a for a in statement.actions or () if _is_write(a)]
            if writes:
                add(
                    FindingCode.RESOURCE_STAR_WITH_WRITE,
                    Severity.WARNING,
                    f"write actions ({', '.join(writes)}) are allowed on every resource; name the "
                    "resources they need",
                    at=f"{path}.Resource",
                )
        if policy.kind is PolicyKind.RESOURCE and _is_missing_external_id(statement, tenant):
            add(
                FindingCode.MISSING_EXTERNAL_ID,
                Severity.WARNING,
                "another tenant may assume this role without an sts:ExternalId condition; add "
                '"Condition": {"StringEquals": {"sts:ExternalId": "..."}}',
            )
        if (
            policy.kind is PolicyKind.RESOURCE
            and statement.principals is None
            and statement.not_principals is None
        ):
            add(
                FindingCode.UNREACHABLE_STATEMENT,
                Severity.ERROR,
                "a resource-policy statement without Principal or NotPrincipal never applies",
            )
        elif is_allow:
            for other in policy.statements:
                if other.effect is Effect.DENY and _is_shadowed(statement, other):
                    add(
                        FindingCode.UNREACHABLE_STATEMENT,
                        Severity.WARNING,
                        f"every action and resource of this Allow is denied by statement "
                        f"{other.sid or other.index} without conditions; it can never grant",
                    )
                    break
    return tuple(findings)
