"""Fixtures of the `%%mreg` magic tests (test_magic, test_hardening_magic): a registry with CUSTOMER_CHURN and
a real IPython `InteractiveShell` with the extension loaded."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.conftest import make_churn


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("magic") / "registry"


@pytest.fixture(scope="module")
def logged(home, pipe, churn):
    """A registry with CUSTOMER_CHURN V1 (the conftest LR pipeline) in MYDB.ML."""
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(home)}).create()
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    reg.log_model(pipe, model_name="customer_churn", version_name="v1", sample_input_data=churn[0].head())
    return reg


@pytest.fixture(scope="module")
def new_customers():
    X, _ = make_churn(40, seed=3)
    return X.assign(id=np.arange(40), region=np.where(np.arange(40) % 4 == 0, "EU", "US"))


@pytest.fixture
def ip(logged, home, new_customers, monkeypatch):
    """The IPython shell with the extension loaded, the registry as the active session (`getOrCreate`),
    `new_customers` in its namespace; traitlets and variables are reset afterwards."""
    from jupyter_mreg import Session

    monkeypatch.setenv("MREG_HOME", str(home))
    session = Session.builder.create()  # the active session, in MREG_HOME, as a notebook gets by default
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_mreg")
    before = set(shell.user_ns)
    shell.user_ns["new_customers"] = new_customers
    yield shell
    magic = shell.magics_manager.registry["MregMagic"]
    for name, trait in magic.traits(config=True).items():
        setattr(magic, name, trait.default_value)
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]
    session.close()
