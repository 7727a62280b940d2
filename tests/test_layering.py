"""The import rules of DESIGN.md, checked on the source: each package imports only the layers it may."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_mreg"
SHARED = {"errors", "_version", "_lazy", "_process"}
ALLOWED = {
    "model": {"model"},
    "store": {"store"},
    "inference": {"inference", "model"},
    "registry": {"registry", "model", "store", "inference"},
    "sql": {"sql", "registry", "model", "inference"},
    "ui": {"ui", "sql", "registry", "model", "inference"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "jupyter_mreg":  # from jupyter_mreg import store
            names = [f"jupyter_mreg.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_module"
              and node.args and isinstance(node.args[0], ast.Constant)):  # an import deferred to first use
            names = [node.args[0].value]
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
    code = ("import sys, jupyter_mreg; heavy = [m for m in "
            "('pandas', 'sqlalchemy', 'sklearn', 'numpy', 'yaml', 'shap') "
            "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_only_the_change_path_and_the_store_write_the_catalog():
    """One way into the catalog: `registry/changes.py` (and the store's own bookkeeping)."""
    writers = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if ".write()" in path.read_text() or "catalog.write(" in path.read_text())
    assert [w for w in writers if not w.startswith("store/")] == ["registry/changes.py"]


def _private_registry_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jupyter_mreg.registry"):
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("jupyter_mreg.registry")]
        else:
            receiver = getattr(node, "value", None)
            if (isinstance(node, ast.Attribute) and node.attr in _REGISTRY_PRIVATES
                    and not (isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"))):
                found.append(f"attribute .{node.attr}")
            continue
        found += [n for n in names if n.split(".")[-1] == "queries" or
                  any(part.startswith("_") for part in n.split(".")[2:])]
    return found


def test_upper_layers_read_the_registry_only_through_public_names():
    """sql/ (and later ui/, the CLI) never reach registry internals: no `queries`, no underscore names."""
    private = [f"{path.relative_to(PACKAGE)}: {use}" for path in [*(PACKAGE / "sql").rglob("*.py"), PACKAGE / "cli.py"]
               for use in _private_registry_uses(path)]
    assert private == []


def test_the_private_use_finder_finds_them(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from jupyter_mreg.registry import queries as q\nfrom jupyter_mreg.registry.metadata import "
                     "_plain\nimport jupyter_mreg.registry._x\nmv._change_metadata('A', f)\n")
    assert _private_registry_uses(probe) == [
        "jupyter_mreg.registry.queries", "jupyter_mreg.registry.metadata._plain", "jupyter_mreg.registry._x",
        "attribute ._change_metadata"]


# Private members of the registry objects that other layers once reached for.
_REGISTRY_PRIVATES = {"_change_metadata", "_row", "_files", "_qn", "_version", "_manifest", "_publish"}


def _modules_after(code: str, watched: tuple[str, ...]) -> list[str]:
    probe = f"import sys; {code}; print([m for m in {watched!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return eval(result.stdout.strip())  # a list of str printed by the probe above


def test_session_import_loads_no_catalog_or_store():
    # The package __init__ files resolve names on first use: a Session alone needs none of these.
    watched = ("pandas", "sqlalchemy", "fsspec", "yaml", "sqlite3", "jupyter_mreg.store", "jupyter_mreg.registry.model")
    assert _modules_after("from jupyter_mreg import Session", watched) == []
    assert _modules_after("from jupyter_mreg.registry import Session", watched) == []


def test_registry_import_leaves_the_store_backends_until_a_session_opens_them():
    # fsspec, sqlite3 and the checker load when a Session first opens its catalog or artifact store.
    watched = ("fsspec", "sqlite3", "yaml", "jupyter_mreg.store.artifacts", "jupyter_mreg.store.catalog",
               "jupyter_mreg.store.check")
    assert _modules_after("from jupyter_mreg.registry import Registry", watched) == []


def test_lazy_store_names_are_the_functions_whichever_is_asked_first():
    # `store.check` is both a submodule and the function it defines: the function must win, as it did when
    # store/__init__.py imported it eagerly.
    probe = ("import types; from jupyter_mreg.store import collect_garbage; from jupyter_mreg.store import check; "
             "import jupyter_mreg.store as s; print(callable(check), isinstance(check, types.ModuleType), "
             "s.check is check, s.collect_garbage is collect_garbage)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False", "True", "True"]
