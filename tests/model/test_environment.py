"""Environment capture at save time and the checks a loader sees."""

from __future__ import annotations

import copy
import importlib
import sys
import time
import uuid
from importlib import metadata

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import scipy
import sklearn
import yaml

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model import environment
from jupyter_mreg.model.environment import (capture, check_environment, conda_yml, mismatch_message,
                                            normalize_name, requirements_txt)

PY = "%d.%d" % sys.version_info[:2]
PY_FULL = "%d.%d.%d" % sys.version_info[:3]


@pytest.fixture(scope="module")
def sk_env():
    return capture(["sklearn"])


# ----------------------------------------------------------------------------------------------- capture


def test_capture_records_sklearn_and_its_requirements(sk_env):
    assert sk_env["python"] == PY_FULL
    assert sk_env["python_version"] == PY
    built = sk_env["built_with"]
    assert built["scikit-learn"] == sklearn.__version__
    assert built["scipy"] == scipy.__version__
    assert built["joblib"] == metadata.version("joblib")
    assert built["threadpoolctl"] == metadata.version("threadpoolctl")
    # always recorded: what every package needs to be unpickled and called
    assert built["numpy"] == np.__version__
    assert built["pandas"] == pd.__version__
    assert built["cloudpickle"] == cloudpickle.__version__
    assert list(built) == sorted(built)
    assert sk_env["conda_dependencies"] == [] and sk_env["pip_requirements"] == []
    assert sk_env["relax_version"] is False


def test_capture_skips_modules_without_a_distribution(tmp_path):
    name = f"mreg_local_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text("X = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.import_module(name)
        env = capture([name, "__main__", "json", "os.path", "builtins"])
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
    assert set(env["built_with"]) == {"cloudpickle", "numpy", "pandas"}


def test_capture_maps_import_names_to_distributions():
    env = capture(["yaml", "sklearn.pipeline"])
    assert env["built_with"]["pyyaml"] == metadata.version("PyYAML")
    assert env["built_with"]["scikit-learn"] == sklearn.__version__


def test_capture_is_fast_when_warm():
    modules = ["sklearn", "numpy"]
    capture(modules)
    start = time.perf_counter()
    for _ in range(10):
        capture(modules)
    assert (time.perf_counter() - start) / 10 < 0.020


def test_python_version_declared():
    assert capture([], python_version="3.10")["python_version"] == "3.10"
    assert capture([], python_version="3.12.4")["python_version"] == "3.12"
    assert capture([])["python"] == PY_FULL
    with pytest.raises(InvalidArgumentError, match="Invalid python_version 'three'"):
        capture([], python_version="three")


# ---------------------------------------------------------------------------------------------- declared


def test_conda_channel_syntax_is_understood():
    env = capture([], conda_dependencies=["conda-forge::xgboost==2.0.3", "numpy", "scipy>=1.10"])
    assert env["conda_dependencies"] == ["conda-forge::xgboost==2.0.3", "numpy", "scipy>=1.10"]


def test_conda_channel_is_dropped_when_comparing_names():
    with pytest.raises(InvalidArgumentError, match="names the package 'numpy' twice"):
        capture([], conda_dependencies=["conda-forge::numpy==1.26.0", "numpy==2.0.0"])
    # the same requirement twice is kept once
    env = capture([], conda_dependencies=["conda-forge::numpy", "conda-forge::numpy"])
    assert env["conda_dependencies"] == ["conda-forge::numpy"]


def test_conda_single_equals_means_a_version_prefix():
    env = capture([], conda_dependencies=["xgboost=2.0"])
    assert env["conda_dependencies"] == ["xgboost==2.0.*"]


def test_names_are_normalised():
    assert normalize_name("autogluon.tabular") == "autogluon-tabular"
    assert normalize_name("Scikit_Learn") == "scikit-learn"
    env = capture([], pip_requirements=["Scikit_Learn>=1.0", "autogluon.tabular==1.1.0", "PyYAML"],
                  conda_dependencies=["conda-forge::autogluon.tabular==1.1.0"])
    assert env["pip_requirements"] == ["scikit-learn>=1.0", "autogluon-tabular==1.1.0", "pyyaml"]
    # conda names are literal (conda-forge's package is `autogluon.tabular`): one package, lower case
    assert env["conda_dependencies"] == ["conda-forge::autogluon.tabular==1.1.0"]
    with pytest.raises(InvalidArgumentError, match="twice"):
        capture([], pip_requirements=["autogluon.tabular==1.1.0", "autogluon-tabular==1.0.0"])


def test_extras_markers_and_specifier_order_are_kept():
    env = capture([], pip_requirements=["requests[socks]<3,>=2.0; python_version >= '3.8'"])
    assert env["pip_requirements"] == ['requests[socks]>=2.0,<3; python_version >= "3.8"']


def test_relax_version():
    env = capture([], pip_requirements=["scikit-learn==1.5.0", "scipy>=1.10", "torch==2.*"],
                  conda_dependencies=["conda-forge::xgboost==2.0.3"], relax_version=True)
    assert env["pip_requirements"] == ["scikit-learn>=1.5,<2", "scipy>=1.10", "torch==2.*"]
    assert env["conda_dependencies"] == ["conda-forge::xgboost>=2.0,<3"]
    assert env["relax_version"] is True
    txt = requirements_txt(env)
    assert f"numpy>={np.__version__.split('.')[0]}.{np.__version__.split('.')[1]}" in txt


@pytest.mark.parametrize("bad", ["scikit-learn==", "not a package", "numpy>=>1", "conda-forge::", "::numpy"])
def test_invalid_requirement_names_the_string(bad):
    with pytest.raises(InvalidArgumentError, match="Invalid requirement") as info:
        capture([], conda_dependencies=[bad])
    assert repr(bad) in str(info.value)
    with pytest.raises(InvalidArgumentError, match="Invalid requirement"):
        capture([], pip_requirements=["numpy", 3])


def test_declared_pin_excluding_the_installed_version_warns():
    with pytest.warns(UserWarning, match=f"scikit-learn {sklearn.__version__} is installed"):
        capture(["sklearn"], pip_requirements=["scikit-learn==0.1.0"])


# -------------------------------------------------------------------------------------------------- check


def test_the_running_environment_passes(sk_env):
    assert check_environment(sk_env) == ([], [])


def test_major_or_minor_difference_is_an_error(sk_env):
    env = copy.deepcopy(sk_env)
    env["built_with"]["scikit-learn"] = "0.1.0"
    errors, warns = check_environment(env)
    assert errors == [f"scikit-learn: built with 0.1.0, installed {sklearn.__version__}"]
    assert warns == []


def test_patch_difference_is_a_warning(sk_env):
    env = copy.deepcopy(sk_env)
    major, minor = sklearn.__version__.split(".")[:2]
    env["built_with"]["scikit-learn"] = f"{major}.{minor}.999"
    errors, warns = check_environment(env)
    assert errors == []
    assert warns == [f"scikit-learn: built with {major}.{minor}.999, installed {sklearn.__version__} "
                     "(patch-level difference)"]


def test_missing_package_is_an_error(sk_env):
    env = copy.deepcopy(sk_env)
    env["built_with"]["surely-not-installed-pkg"] = "1.2.3"
    errors, _ = check_environment(env)
    assert errors == ["surely-not-installed-pkg: built with 1.2.3, not installed"]


def test_python_difference_is_an_error(sk_env):
    env = copy.deepcopy(sk_env)
    env["python"] = "2.7.18"
    errors, _ = check_environment(env)
    assert errors == [f"python: built with 2.7.18, running {PY_FULL}"]
    env["python"] = f"{PY}.999"
    errors, warns = check_environment(env)
    assert errors == []
    assert warns == [f"python: built with {PY}.999, running {PY_FULL} (patch-level difference)"]


def test_declared_but_missing_dependency_is_a_warning(sk_env):
    env = copy.deepcopy(sk_env)
    env["pip_requirements"] = ["surely-not-installed-pkg>=1"]
    errors, warns = check_environment(env)
    assert errors == []
    assert warns == ["surely-not-installed-pkg: declared as 'surely-not-installed-pkg>=1', not installed"]


def test_mismatch_message_lists_every_difference_and_the_fix(sk_env):
    env = copy.deepcopy(sk_env)
    env["built_with"]["scikit-learn"] = "0.1.0"
    env["built_with"]["surely-not-installed-pkg"] = "1.2.3"
    env["python"] = "3.9.1"
    errors, _ = check_environment(env)
    message = mismatch_message(errors)
    assert "scikit-learn: built with 0.1.0" in message
    assert "surely-not-installed-pkg: built with 1.2.3, not installed" in message
    assert "python: built with 3.9.1" in message
    assert 'pip install "scikit-learn==0.1.0" "surely-not-installed-pkg==1.2.3"' in message
    assert "Python 3.9" in message
    assert "load(force=True)" in message


# -------------------------------------------------------------------------------------------------- files


def test_requirements_txt_and_conda_yml():
    env = capture(["sklearn"], pip_requirements=["scipy>=1.0"], conda_dependencies=["conda-forge::numpy"])
    lines = requirements_txt(env).splitlines()
    assert lines[0].startswith("#")
    assert "scipy>=1.0" in lines
    assert f"scikit-learn=={sklearn.__version__}" in lines
    assert not any(line.startswith("scipy==") for line in lines)  # the declared requirement wins
    conda = yaml.safe_load(conda_yml(env))
    deps = conda["dependencies"]
    assert deps[0] == f"python={PY}"
    assert "conda-forge::numpy" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict))
    assert f"scikit-learn=={sklearn.__version__}" in pip_section
    assert "scipy>=1.0" in pip_section
    assert not any(line.startswith("numpy") for line in pip_section)  # conda provides it


def test_clear_caches_then_capture_again(sk_env):
    environment.clear_caches()
    assert capture(["sklearn"])["built_with"] == sk_env["built_with"]


def test_installed_version_sees_a_package_installed_meanwhile(tmp_path, monkeypatch):
    """A `pip install` in a running kernel adds a dist-info folder: the next check must see it."""
    from jupyter_mreg.model.environment import installed_version

    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed_version("fresh-package") is None
    (tmp_path / "fresh_package-2.1.0.dist-info").mkdir()
    assert installed_version("fresh-package") == "2.1.0"
    assert installed_version("Fresh_Package") == "2.1.0"
