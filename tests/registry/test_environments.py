"""A version's environment as a user meets it: the warning at log time, the refusal at load and run time,
and the requirements files for building an image."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import sklearn
from sqlalchemy import select, update

from jupyter_mreg.errors import EnvironmentMismatchError

SKLEARN = sklearn.__version__


@pytest.fixture
def mv(reg, churn, pipe):
    return reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=churn[0].head(),
                         pip_requirements=["pandas>=1.5"], conda_dependencies=["conda-forge::scikit-learn"])


def _edit_built_with(session, mv, **versions):
    """Pretend the version was built with other package versions (as if logged in another environment)."""
    from jupyter_mreg.store import tables as t

    manifest = mv.manifest.to_dict()
    manifest["environment"]["built_with"].update(versions)
    with session.catalog.write() as conn:
        version_id = select(t.versions.c.id).where(t.versions.c.name == mv.version_name).scalar_subquery()
        conn.execute(update(t.version_manifests).where(t.version_manifests.c.version_id == version_id)
                     .values(manifest=json.dumps(manifest)))
    mv._manifest = None


def test_a_declared_pin_that_contradicts_the_installed_version_warns_at_log_time(reg, churn, pipe):
    with pytest.warns(UserWarning) as caught:
        mv = reg.log_model(pipe, model_name="seed", sample_input_data=churn[0].head(),
                           conda_dependencies=["scikit-learn==1.5.0"])
    message = next(str(w.message) for w in caught if "scikit-learn==1.5.0" in str(w.message))
    assert f"'scikit-learn==1.5.0' is declared, but scikit-learn {SKLEARN} is installed" in message
    assert "may predict differently" in message and f"Declare scikit-learn=={SKLEARN}" in message
    # The version is still logged, with both records.
    env = mv.environment()
    assert env.conda_dependencies == ["scikit-learn==1.5.0"] and env.built_with["scikit-learn"] == SKLEARN


def test_a_matching_declaration_does_not_warn(reg, churn, pipe):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg.log_model(pipe, model_name="quiet", sample_input_data=churn[0].head(),
                      pip_requirements=[f"scikit-learn=={SKLEARN}"])


def test_load_and_run_refuse_another_minor_version_and_say_how_to_fix_it(session, mv, churn, pipe):
    _edit_built_with(session, mv, **{"scikit-learn": "1.2.2", "not-a-real-package": "3.1.0"})
    for call in (mv.load, lambda: mv.run(churn[0].head(), function_name="predict")):
        with pytest.raises(EnvironmentMismatchError) as info:
            call()
        assert str(info.value) == (
            "Unable to load model MYDB.ML.CHURN version V1: the running environment differs from the one this "
            "model was built with:\n"
            "  - not-a-real-package: built with 3.1.0, not installed\n"
            f"  - scikit-learn: built with 1.2.2, installed {SKLEARN}\n"
            "To fix it, do one of:\n"
            "  - install the versions it was built with, then restart the kernel:\n"
            '        pip install "not-a-real-package==3.1.0" "scikit-learn==1.2.2"\n'
            "  - load it anyway, accepting that it may fail or predict differently: load(force=True)")
    with pytest.warns(RuntimeWarning, match="Loading anyway because force=True"):
        loaded = mv.load(force=True)
    np.testing.assert_array_equal(loaded.predict(churn[0]), pipe.predict(churn[0]))


def test_a_patch_level_difference_only_warns(session, mv, churn, pipe):
    major, minor = SKLEARN.split(".")[:2]
    _edit_built_with(session, mv, **{"scikit-learn": f"{major}.{minor}.999"})
    with pytest.warns(RuntimeWarning, match=rf"scikit-learn: built with {major}\.{minor}\.999, installed "
                                            rf"{SKLEARN} \(patch-level difference\)"):
        out = mv.run(churn[0].head(), function_name="predict")
    np.testing.assert_array_equal(out.iloc[:, 0].to_numpy(), pipe.predict(churn[0].head()))


def test_environment_gives_the_files_to_build_an_image(mv, tmp_path):
    env = mv.environment()
    req = env.requirements_txt.splitlines()
    assert req[0].startswith("# Python 3.")
    assert "pandas>=1.5" in req  # declared, kept as declared
    assert f"scikit-learn=={SKLEARN}" in req and f"numpy=={np.__version__}" in req  # built with, pinned
    assert not any(line.startswith("pandas==") for line in req)  # the declaration wins over the pin
    yml = env.environment_yml
    assert f"python={env.python_version}" in yml and "conda-forge::scikit-learn" in yml
    assert f"scikit-learn=={SKLEARN}" not in yml  # conda provides it, so pip does not pin it again
    written = env.write(tmp_path / "image")
    assert [p.name for p in written] == ["requirements.txt", "environment.yml"]
    assert written[0].read_text() == env.requirements_txt and str(env) == env.requirements_txt


def test_relax_version_records_ranges(reg, churn, pipe):
    mv = reg.log_model(pipe, model_name="relaxed", sample_input_data=churn[0].head(),
                       pip_requirements=[f"scikit-learn=={SKLEARN}"], options={"relax_version": True})
    major, minor = SKLEARN.split(".")[:2]
    req = mv.environment().requirements_txt.splitlines()
    assert f"scikit-learn>={major}.{minor},<{int(major) + 1}" in req
    assert not any("==" in line for line in req if not line.startswith("#"))
