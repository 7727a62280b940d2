"""Shared fixtures: a fresh local registry per test and a small churn data set with fitted models."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def session(tmp_path):
    from jupyter_mreg import Session

    s = Session.builder.configs({"home": str(tmp_path / "registry"), "user": "alice", "role": "DATA_SCIENTIST"}).create()
    yield s
    s.close()


@pytest.fixture
def reg(session):
    from jupyter_mreg.registry import Registry

    return Registry(session=session, database_name="MYDB", schema_name="ML", create=True)


def make_churn(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Features `age, income, tenure` and a binary label that depends on them."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype("int64"),
        "income": rng.normal(50_000, 15_000, n),
        "tenure": rng.exponential(3.0, n),
    })
    y = pd.Series(((X["tenure"] < 2.5) ^ (X["age"] > 60)).astype(int), name="churn")
    return X, y


@pytest.fixture(scope="session")
def churn():
    return make_churn()


@pytest.fixture(scope="session")
def pipe(churn):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = churn
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


POSTGRES_URL = os.environ.get("MREG_TEST_POSTGRES_URL")


@pytest.fixture
def empty_postgres() -> str:
    """The URL of the test PostgreSQL server with the catalog's tables dropped (skips without a server)."""
    if not POSTGRES_URL:
        pytest.skip("needs a PostgreSQL server: scripts/test.sh starts one and sets MREG_TEST_POSTGRES_URL")
    from sqlalchemy import create_engine

    from jupyter_mreg.store import tables

    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        for name in ["mreg_schema", *reversed([t.name for t in tables.metadata.sorted_tables])]:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    engine.dispose()
    return POSTGRES_URL


def run_check(home, *args) -> tuple[int, str]:
    """Run `python -m jupyter_mreg check` on a registry folder: (exit code, output)."""
    result = subprocess.run([sys.executable, "-m", "jupyter_mreg", "check", "--home", str(home),
                             "--grace-seconds", "0", *args], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr
