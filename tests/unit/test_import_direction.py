"""Dependencies point inward: the contracts in pyproject.toml ([tool.importlinter]) hold for every package.

ringledger (composition) -> adapters (edges) -> services (use cases) -> projections (views) -> ledger -> rating;
the domain, rating and the services import no framework and no database driver.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "rating", "projections", "services", "adapters", "ringledger")
# Runs the contracts with `tree` first on the import path, so a copy is checked rather than the installed tree.
LINT = ("import sys; sys.path.insert(0, sys.argv[1]); from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LINT, str(tree)], cwd=tree, capture_output=True, text=True,
                          timeout=120)


def copy_of_the_tree(into: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, into / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")
    return into


def test_every_package_keeps_the_dependency_rule() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_adapter_that_imports_the_composition_root_breaks_the_rule(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    (tree / "adapters" / "http" / "shortcut.py").write_text("from ringledger.config import Settings\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "adapters call services, never the composition root BROKEN" in result.stdout
    assert "adapters.http.shortcut -> ringledger.config" in result.stdout


def test_a_service_that_imports_an_edge_or_a_framework_breaks_the_rule(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    (tree / "services" / "shortcut.py").write_text("import fastapi\nfrom adapters.http import hooks\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "services.shortcut -> adapters.http.hooks" in result.stdout
    assert "services.shortcut -> fastapi" in result.stdout


def test_the_graphql_folder_holds_only_schema_files() -> None:
    folder = ROOT / "graphql"
    assert not (folder / "__init__.py").exists()  # it would shadow graphql-core
    assert all(p.suffix == ".graphql" for p in folder.iterdir() if p.is_file())
