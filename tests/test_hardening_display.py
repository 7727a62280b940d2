"""Every rich HTML display the package offers shows hostile user text as text, never as markup.

The names, comments, tags, metrics, aliases and feature names below carry `<script>` and an `<img onerror>`;
each display must show them escaped. `test_every_html_display_is_covered` finds every `_repr_html_` in the
package's source, so a new display fails here until it is added to `DISPLAYS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from sklearn.linear_model import LinearRegression

import jupyter_mreg
from jupyter_mreg import Session
from jupyter_mreg.registry import Registry

TEXT = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'  # free text: comments, values
NAME = "<script>alert(1)</script><img src=x onerror=alert(1)>"  # as a quoted identifier: no double quotes
MARKUP = ("<script", "<img", "onerror=alert(1)>")


def _assert_inert(html: str, *shown: str) -> None:
    lowered = html.lower()
    for bad in MARKUP:
        assert bad not in lowered, f"{bad!r} reached the HTML unescaped:\n{html[:2000]}"
    for text in shown:
        assert "&lt;script&gt;" in html and "&lt;img" in html, html[:2000]
        assert text not in html


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A registry whose model, version, tag, comment, metrics and feature names are all hostile."""
    home = tmp_path_factory.mktemp("hostile")
    reg = Registry(Session({"home": str(home)}), database_name="D", create=True)
    X = pd.DataFrame({NAME: np.arange(5.0), "b": np.arange(5.0) * 2})
    model = LinearRegression().fit(X, X["b"])
    mv = reg.log_model(model, model_name=f'"{NAME}"', version_name=f'"{NAME}"', sample_input_data=X,
                       comment=TEXT, metrics={TEXT: TEXT, "matrix": [[TEXT]], "nested": {TEXT: {TEXT: 1}}})
    mv.set_alias("PROD")  # aliases are unquoted identifiers: nothing hostile fits
    m = reg.get_model(f'"{NAME}"')
    m.comment = TEXT
    m.set_tag("T", TEXT)
    return reg, m, mv


def _model_card(hostile) -> str:
    return hostile[1]._repr_html_()


def _version_card(hostile) -> str:
    return hostile[2]._repr_html_()


def _signature_table(hostile) -> str:
    return hostile[2].show_functions()[0]["signature"]._repr_html_()


def _deleted_objects(hostile) -> str:
    reg, _, _ = hostile
    X = pd.DataFrame({"a": np.arange(3.0)})
    gone = reg.log_model(LinearRegression().fit(X, X["a"]), model_name=f'"gone{NAME}"', version_name="v1",
                         sample_input_data=X)
    model = reg.get_model(f'"gone{NAME}"')
    reg.delete_model(f'"gone{NAME}"')
    return model._repr_html_() + gone._repr_html_()  # each says what is missing, with the name in it


def _sql_results(hostile) -> str:
    """What `%%mreg` shows: a frame of hostile values and column names, and SHOW MODELS with hostile text."""
    reg, _, _ = hostile
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_mreg")
    Session.builder.configs({"home": str(reg._session.home)}).create()
    shell.user_ns["frame"] = pd.DataFrame({NAME: [TEXT] * 30})
    html = []
    for cell in ("SELECT * FROM frame", "SHOW MODELS IN DATABASE D"):
        with capture_output():
            result = shell.run_cell(f"%%mreg\n{cell}")
        assert result.error_in_exec is None, result.error_in_exec
        html.append(shell.display_formatter.format(shell.user_ns["_"])[0]["text/html"])
    return "".join(html)


# Each display the package offers, by the class whose `_repr_html_` makes it (or the module whose printer).
DISPLAYS = {
    "jupyter_mreg.registry.model.Model": [_model_card, _deleted_objects],
    "jupyter_mreg.registry.model_version.ModelVersion": [_version_card, _deleted_objects],
    "jupyter_mreg.model.signatures.specs.ModelSignature": [_signature_table],
    "jupyter_mreg.sql.magic": [_sql_results],  # its display-limit printer for `%%mreg` results
}


def _html_displays_in_source() -> set[str]:
    root = Path(jupyter_mreg.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        module = ".".join(("jupyter_mreg", *path.relative_to(root).with_suffix("").parts))
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(item, ast.FunctionDef) and item.name in ("_repr_html_", "_repr_mimebundle_")
                    for item in node.body):
                found.add(f"{module}.{node.name}")
            if isinstance(node, ast.Constant) and node.value == "text/html":
                found.add(module)  # registers an HTML printer of its own
    return found


def test_every_html_display_is_covered():
    assert _html_displays_in_source() == set(DISPLAYS)


@pytest.mark.parametrize("display", [d for ds in DISPLAYS.values() for d in ds], ids=lambda d: d.__name__)
def test_hardening_html_displays_escape_hostile_text(hostile, display):
    _assert_inert(display(hostile), TEXT)
