"""The import rules of DESIGN.md, checked on the source: each package imports only the layers it may."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_mreg"
SHARED = {"errors", "_version"}
ALLOWED = {
    "model": {"model"},
    "store": {"store"},
    "inference": {"inference", "model"},
    "registry": {"registry", "model", "store", "inference"},
    "sql": {"sql", "registry", "model", "inference"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "jupyter_mreg":
                found.add(parts[1] if len(parts) > 1 else "")
    return found


def test_packages_import_only_lower_layers():
    broken = []
    for layer, allowed in ALLOWED.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            for target in _imports(path) - allowed - SHARED:
                broken.append(f"{path.relative_to(PACKAGE)} imports jupyter_mreg.{target}")
    assert broken == []


def test_import_is_light():
    code = ("import sys, jupyter_mreg; heavy = [m for m in ('pandas', 'sqlalchemy', 'sklearn', 'numpy', 'yaml') "
            "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
