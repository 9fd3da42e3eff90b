"""Dependencies point inward: the domain and rating import no framework and no outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "ledger": {"fastapi", "ariadne", "psycopg", "socket", "sqlite3", "uvicorn", "projections", "adapters", "ringledger"},
    "rating": {"fastapi", "ariadne", "psycopg", "socket", "sqlite3", "uvicorn", "projections", "adapters", "ringledger",
               "ledger", "eventsourcing"},
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_inner_packages_import_nothing_from_the_outside(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if imported_roots(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_the_graphql_folder_holds_only_schema_files() -> None:
    folder = ROOT / "graphql"
    assert not (folder / "__init__.py").exists()  # it would shadow graphql-core
    assert all(p.suffix == ".graphql" for p in folder.iterdir() if p.is_file())
