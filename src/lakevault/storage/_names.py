"""Bucket names, object keys and their ARNs: S3's rules, checked before anything else runs.

Bucket names follow Amazon S3's general-purpose bucket rules. Object keys follow S3 (1 to 1,024
bytes of UTF-8) plus three stricter rules, because keys become paths in tools that sync to
file systems (``lakevault sync``, pipelines' outputs): no ``.`` or ``..`` segment, and no
control character (U+0000 to U+001F, U+007F), which S3 accepts but which break listings, terminals
and XML (docs/decisions/0152). Object keys never become backend paths: blobs are named by ids.
"""

from __future__ import annotations

import ipaddress
import re

from lakevault.storage._errors import InvalidBucketName, InvalidObjectKey

MAX_KEY_BYTES = 1024
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_bucket_name(name: str) -> str:
    """Return ``name`` if S3 accepts it as a bucket name; raise ``InvalidBucketName``."""
    rule = (
        "3 to 63 characters of lower-case letters, digits, '.' and '-', starting and ending "
        "with a letter or digit"
    )
    if not isinstance(name, str) or not _BUCKET_NAME.fullmatch(name):
        raise InvalidBucketName(f"the bucket name {name!r} is not valid: use {rule}")
    if ".." in name or ".-" in name or "-." in name:
        raise InvalidBucketName(
            f"the bucket name {name!r} is not valid: '.' may not be next to '.' or '-'"
        )
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        raise InvalidBucketName(
            f"the bucket name {name!r} is not valid: it may not look like an IP address"
        )
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        raise InvalidBucketName(
            f"the bucket name {name!r} is not valid: it uses a prefix or suffix S3 reserves "
            f"({', '.join(_RESERVED_PREFIXES + _RESERVED_SUFFIXES)})"
        )
    return name


def check_object_key(key: str) -> str:
    """Return ``key`` if it is a valid object key; raise ``InvalidObjectKey`` with the rule."""
    if not isinstance(key, str) or key == "":
        raise InvalidObjectKey(
            "the object key is empty: give a key of 1 to 1024 bytes of UTF-8",
            code="InvalidArgument",
        )
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidObjectKey(
            "the object key is not valid UTF-8 text (it holds a lone surrogate)",
            code="InvalidArgument",
        ) from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidObjectKey(
            f"the object key is too long: at most {MAX_KEY_BYTES} bytes of UTF-8, got "
            f"{len(encoded)} bytes",
            code="KeyTooLongError",
        )
    control = _CONTROL.search(key)
    if control is not None:
        raise InvalidObjectKey(
            f"the object key holds the control character U+{ord(control.group()):04X} at "
            f"position {control.start()}; remove control characters (U+0000-U+001F, U+007F)"
        )
    if any(segment in (".", "..") for segment in key.split("/")):
        raise InvalidObjectKey(
            "the object key has a '.' or '..' path segment; such keys would escape their "
            "folder when synced to a file system: remove the segment"
        )
    return key


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def resource_type(arn: str) -> str:
    """The CloudFormation-style type of a resource storage authorises and records.

    Storage acts on buckets and objects, and (for block-public-access allowances) on a
    platform organization; the audit event must name which one it was.
    """
    if arn.startswith("arn:aws:s3:::"):
        return "AWS::S3::Object" if "/" in arn else "AWS::S3::Bucket"
    if arn.startswith("arn:aws:lakevault:") and ":organization/" in arn:
        return "Organization"
    return ""
