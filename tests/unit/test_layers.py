"""The layering of DESIGN.md, enforced: imports point down, and only to a package's top level.

A package may import a package of a strictly lower layer (and itself). From outside a package,
only its top level is importable — ``lakevault.db``, never ``lakevault.db._models`` — so that
each package's ``__all__`` is its whole contract. The few same-layer imports that are part of
the design are listed with their reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "lakevault"

LAYER = {
    "core": 0,
    "iam": 1,
    "db": 1,
    "audit": 2,
    "jobs": 3,
    "kms": 4,
    "identity": 5,
    "gate": 6,
    "storage": 7,
    "secrets": 7,
    "catalog": 7,
    "pipelines": 7,
    "directory": 7,
    "sandbox": 7,
    "keys": 7,
    "trail": 7,
    "runtime": 8,
    "api": 9,
    "s3api": 9,
    "web": 9,
    "cli": 9,
}

#: Same-layer imports that the design wants, each with its reason.
ALLOWED_SAME_LAYER = {
    ("cli", "api"): "'lakevault serve' starts the HTTP API",
    ("storage", "keys"): "each object version's data key comes from its bucket's KMS key",
    ("secrets", "keys"): "secret values are encrypted under a tenant KMS key",
    ("secrets", "sandbox"): "tenants' rotation functions run in the sandbox",
    ("trail", "directory"): "audit operations take the directory's CallContext of the caller",
    ("trail", "storage"): "the audit export writes each tenant's object-locked audit bucket "
    "through storage's gate-checked API, as the export service (ADR 0207)",
}


def _modules() -> list[Path]:
    return sorted(p for p in SOURCE.rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return [(line, name) for line, name in found if name.split(".")[0] == "lakevault"]


def _package_of(path: Path) -> str:
    return path.relative_to(SOURCE).parts[0] if len(path.relative_to(SOURCE).parts) > 1 else ""


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in SOURCE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYER), f"give these packages a layer: {packages - set(LAYER)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_imports_point_down_to_public_names(path: Path) -> None:
    importer = _package_of(path)
    problems = []
    for line, name in _imports(path):
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in LAYER:
            continue  # the root package (lakevault.__version__) or a name inside it
        imported = parts[1]
        if imported == importer:
            continue
        if importer:
            if LAYER[imported] > LAYER[importer]:
                problems.append(
                    f"line {line}: {importer} (layer {LAYER[importer]}) imports "
                    f"{imported} (layer {LAYER[imported]}), which is above it"
                )
            elif (
                LAYER[imported] == LAYER[importer]
                and (importer, imported) not in ALLOWED_SAME_LAYER
            ):
                problems.append(f"line {line}: {importer} imports {imported} of the same layer")
        if len(parts) > 2 and parts[2].startswith("_"):
            problems.append(
                f"line {line}: imports the private module {name}; use lakevault.{imported}"
            )
    assert not problems, "\n".join(problems)
