"""Staging labels and AWS's rules for moving them. Pure: maps label tables to label tables.

A label points at exactly one version of its secret; a version may carry several labels. The
three AWS labels have rules (AWS Secrets Manager, "Staging labels"):

* ``AWSCURRENT`` is the value ``GetSecretValue`` returns by default. It can be *moved* to
  another version but never removed: a secret with values always has a current one.
* When ``AWSCURRENT`` moves, ``AWSPREVIOUS`` moves to the version that had it, so the last
  known good value stays one call away (clients roll back to it).
* ``AWSPENDING`` marks the value a rotation is testing; the rotation's last step moves
  ``AWSCURRENT`` to it and removes ``AWSPENDING``.

Moving a label that is attached elsewhere must name the version it comes from
(``RemoveFromVersionId``), so two concurrent movers cannot both think they won.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lakevault.secrets._errors import InvalidParameterException

AWSCURRENT = "AWSCURRENT"
AWSPREVIOUS = "AWSPREVIOUS"
AWSPENDING = "AWSPENDING"
MAX_STAGES_PER_VERSION = 20


def check_stage(label: str) -> str:
    if not 1 <= len(label) <= 256:
        raise InvalidParameterException(
            f"VersionStage must be 1 to 256 characters, got {len(label)}"
        )
    return label


def _attach(labels: dict[str, str], label: str, version_id: str) -> None:
    previous_current = labels.get(AWSCURRENT)
    labels[label] = version_id
    if label == AWSCURRENT and previous_current is not None and previous_current != version_id:
        labels[AWSPREVIOUS] = previous_current


def labels_with_new_version(
    labels: Mapping[str, str], version_id: str, stages: Iterable[str]
) -> dict[str, str]:
    """The labels after a new version (``PutSecretValue``) takes ``stages``.

    Each named label moves to the new version; moving ``AWSCURRENT`` moves ``AWSPREVIOUS`` to
    the version that was current.
    """
    result = dict(labels)
    chosen = [check_stage(stage) for stage in stages]
    if len(set(chosen)) > MAX_STAGES_PER_VERSION:
        raise InvalidParameterException(
            f"a version carries at most {MAX_STAGES_PER_VERSION} staging labels, "
            f"got {len(set(chosen))}"
        )
    for stage in dict.fromkeys(chosen):
        _attach(result, stage, version_id)
    return result


def labels_after_move(
    labels: Mapping[str, str],
    label: str,
    *,
    remove_from_version_id: str | None,
    move_to_version_id: str | None,
) -> dict[str, str]:
    """The labels after ``UpdateSecretVersionStage`` (AWS's rules, see the module docstring).

    Raises ``InvalidParameterException`` when the label is attached to a version other than
    ``remove_from_version_id`` (or to one and that is not named), when it is not attached but a
    version to remove it from is named, when nothing would move, or when ``AWSCURRENT`` would
    be removed without moving.
    """
    check_stage(label)
    attached_to = labels.get(label)
    if attached_to is not None and remove_from_version_id != attached_to:
        raise InvalidParameterException(
            f"the staging label {label} is attached to version {attached_to}; pass that "
            "version as RemoveFromVersionId to move it"
        )
    if attached_to is None and remove_from_version_id is not None:
        raise InvalidParameterException(
            f"the staging label {label} is not attached to version {remove_from_version_id}; "
            "omit RemoveFromVersionId"
        )
    if move_to_version_id is None and remove_from_version_id is None:
        raise InvalidParameterException(
            "pass MoveToVersionId to attach the label, RemoveFromVersionId to detach it, or both"
        )
    if move_to_version_id is None and label == AWSCURRENT:
        raise InvalidParameterException(
            "the staging label AWSCURRENT cannot be removed, only moved: pass MoveToVersionId"
        )
    result = dict(labels)
    if move_to_version_id is None:
        del result[label]
    else:
        _attach(result, label, move_to_version_id)
    return result


def stages_by_version(labels: Mapping[str, str]) -> dict[str, list[str]]:
    """AWS's ``VersionIdsToStages``: each labelled version and its labels, sorted."""
    found: dict[str, list[str]] = {}
    for label, version_id in sorted(labels.items()):
        found.setdefault(version_id, []).append(label)
    return found
