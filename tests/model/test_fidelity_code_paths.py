"""Issue 11, item 12: `code_paths` mistakes raise what snowflake-ml-python raises, in its words (a conflict,
a filter escaping its root, a missing path), before anything is copied."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from jupyter_mreg.errors import InvalidArgumentError, MregError
from jupyter_mreg.model.packaging.package import save_package

X = np.array([[1.0], [2.0], [3.0]])


@pytest.fixture
def model():
    return LinearRegression().fit(X, [2.0, 4.0, 6.0])


def _module(folder, name="util"):
    folder.mkdir(parents=True)
    (folder / f"{name}.py").write_text("VALUE = 1\n")
    return folder


def test_fidelity_two_code_paths_on_one_destination_are_a_conflict(model, tmp_path):
    a, b = _module(tmp_path / "a" / "util"), _module(tmp_path / "b" / "util")
    with pytest.raises(ValueError) as info:
        save_package(model, tmp_path / "pkg", sample_input_data=X, code_paths=[str(a), str(b)])
    assert isinstance(info.value, InvalidArgumentError)
    assert str(info.value).startswith(f"Destination path conflict: 'util' is targeted by both '{a}' and '{b}'.")
    assert list((tmp_path / "pkg").iterdir()) == []


def test_fidelity_a_file_and_a_folder_of_one_module_name_are_a_conflict(model, tmp_path):
    folder = _module(tmp_path / "pkg_a" / "util", name="helpers")
    file = tmp_path / "other" / "util.py"
    file.parent.mkdir()
    file.write_text("VALUE = 2\n")
    with pytest.raises(InvalidArgumentError, match=r"Module name conflict: the module 'util' is provided by both"):
        save_package(model, tmp_path / "pkg", sample_input_data=X, code_paths=[str(folder), str(file)])


def test_fidelity_code_path_filter_escaping_its_root_is_refused_in_snowflakes_words(model, tmp_path):
    from jupyter_mreg.model import CodePath  # snowflake.ml.model.CodePath

    root = _module(tmp_path / "project" / "src")
    _module(tmp_path / "project" / "secrets")
    with pytest.raises(ValueError) as info:
        save_package(model, tmp_path / "pkg", sample_input_data=X,
                     code_paths=[CodePath(str(root), filter="../secrets")])
    assert str(info.value) == (f"CodePath: filter '../secrets' escapes root directory '{root}'. "
                               "Relative paths must stay within root.")
    # a filter that only passes through `..` and stays inside is fine, as in Snowflake
    (root / "lib").mkdir()
    (root / "lib" / "helpers.py").write_text("X = 1\n")
    manifest = save_package(model, tmp_path / "pkg2", sample_input_data=X,
                            code_paths=[CodePath(str(root), filter="lib/../lib/helpers.py")])
    assert manifest.code_paths == ["code/lib/helpers.py"]


def test_fidelity_code_path_filter_checks_match_snowflake(model, tmp_path):
    root = _module(tmp_path / "src")
    cases = {"*.py": "CodePath: Wildcards are not supported in filter. Got '*.py'. Use exact paths only.",
             "~/x": "CodePath: filter must be a relative path, got home directory path '~/x'.",
             "/etc": "CodePath: filter must be a relative path, got absolute path '/etc'."}
    for filt, message in cases.items():
        with pytest.raises(ValueError) as info:
            save_package(model, tmp_path / "pkg", sample_input_data=X,
                         code_paths=[SimpleNamespace(root=str(root), filter=filt)])
        assert str(info.value) == message


def test_fidelity_missing_code_path_is_a_file_not_found_error(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        save_package(model, tmp_path / "pkg", sample_input_data=X, code_paths=["nope.py"])
    assert isinstance(info.value, MregError)
    assert str(info.value).startswith(f"Code path 'nope.py' does not exist (resolved to {tmp_path / 'nope.py'}).")


def test_fidelity_code_path_named_like_the_library_is_reserved(model, tmp_path):
    folder = _module(tmp_path / "jupyter_mreg")
    with pytest.raises(InvalidArgumentError, match="`jupyter_mreg` is a reserved name"):
        save_package(model, tmp_path / "pkg", sample_input_data=X, code_paths=[str(folder)])
