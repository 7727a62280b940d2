"""A registry with the models the query tests call, logged once per test module (logging is the slow part).

MYDB.ML holds:
- CUSTOMER_CHURN: V1 = the `pipe` LogisticRegression pipeline on AGE/INCOME/TENURE (alias PRODUCTION,
  the default), V2 = a depth-1 decision tree on the same inputs (LAST).
- "customer_churn" (quoted, lower case): a different model, a custom model that answers 42.
- LOGS: a custom model with a case-sensitive method "predictLog" and a plain PREDICT.
- PER_STORE: a partitioned TABLE_FUNCTION (total and row count of SALES per STORE).
- EXPAND: a non-partitioned TABLE_FUNCTION that returns N rows for an input N (Prophet-style).
- COUNTING: AGE + 1, recording the size of each batch it is called with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from jupyter_mreg.model import custom_model, model_signature


class Answer(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"answer": np.full(len(df), 42.0)})


class Logs(custom_model.CustomModel):
    @custom_model.inference_api
    def predictLog(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"log_income": np.log(np.abs(df["income"].to_numpy(dtype=float)))})

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"doubled": df["income"].to_numpy(dtype=float) * 2})


class PerStore(custom_model.CustomModel):
    @custom_model.partitioned_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [float(df["sales"].sum())], "rows": [len(df)]})


class Expand(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        n = df["n"].to_numpy()
        return pd.DataFrame({"n": np.repeat(n, n), "k": np.concatenate([np.arange(i) for i in n])})


class Counting(custom_model.CustomModel):
    """Records the size of every batch it is called with (class-level: the loaded copy shares it)."""

    calls: ClassVar[list[int]] = []

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        Counting.calls.append(len(df))
        return pd.DataFrame({"age_next_year": df["age"].to_numpy() + 1})


@dataclass
class Env:
    session: Any
    reg: Any
    v1: Any
    v2: Any
    customers: pd.DataFrame  # id, region, age, income, tenure
    sales: pd.DataFrame  # store, sales

    def ns(self, **more: Any) -> dict:
        return {"new_customers": self.customers, "sales": self.sales, **more}


def make_env(home, churn, pipe) -> Env:
    from sklearn.tree import DecisionTreeClassifier

    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(home), "user": "alice", "role": "DATA_SCIENTIST"}).create()
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    X, y = churn
    v1 = reg.log_model(pipe, model_name="customer_churn", version_name="v1", sample_input_data=X.head())
    tree = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    v2 = reg.log_model(tree, model_name="customer_churn", version_name="v2", sample_input_data=X.head())
    v1.set_alias("production")
    reg.log_model(Answer(), model_name='"customer_churn"', version_name="v1", sample_input_data=X[["age"]].head())
    reg.log_model(Logs(), model_name="logs", version_name="v1", sample_input_data=X[["income"]].head(),
                  options={"method_options": {"predictLog": {"case_sensitive": True}}})
    sales = pd.DataFrame({"store": ["a", "a", "b", "c", "c", "c"], "sales": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    reg.log_model(PerStore(), model_name="per_store", version_name="v1", sample_input_data=sales,
                  options={"function_type": "TABLE_FUNCTION"})
    integer = model_signature.DataType.INT64
    reg.log_model(Expand(), model_name="expand", version_name="v1", options={"function_type": "TABLE_FUNCTION"},
                  signatures={"predict": model_signature.ModelSignature(
                      inputs=[model_signature.FeatureSpec("n", integer)],
                      outputs=[model_signature.FeatureSpec("n", integer), model_signature.FeatureSpec("k", integer)])})
    reg.log_model(Counting(), model_name="counting", version_name="v1", sample_input_data=X[["age"]].head())
    customers = X.copy()
    customers.insert(0, "id", np.arange(len(X)))
    customers.insert(1, "region", np.where(np.arange(len(X)) % 4 == 0, "EU", "US"))
    made = Env(session, reg, v1, v2, customers, sales)
    # Loading unpickles the class, which sets its attributes again: load it (into the cache) before counting.
    reg.get_model("counting").default.run(customers.head(1))
    Counting.calls.clear()
    return made


def module_env(tmp_path_factory, churn, pipe):
    """The body of each test module's `env` fixture (module scope): the registry above, closed at the end."""
    made = make_env(tmp_path_factory.mktemp("sql-queries") / "registry", churn, pipe)
    yield made
    made.session.close()
