"""A CustomModel end to end through the registry: artifacts, nested models, params, code in local files."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from jupyter_mreg.model import custom_model


class Scaled(custom_model.CustomModel):
    def __init__(self, context: custom_model.ModelContext) -> None:
        super().__init__(context)
        with open(self.context.path("factor")) as f:
            self.factor = float(f.read())

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame, *, offset: float = 0.0) -> pd.DataFrame:
        base = self.context.model_ref("inner").predict(df[["x"]])
        return pd.DataFrame({"y": base * self.factor + offset})


def test_custom_model_with_artifact_nested_model_and_params(reg, tmp_path):
    from sklearn.linear_model import LinearRegression

    factor = tmp_path / "factor.txt"
    factor.write_text("10")
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    inner = LinearRegression().fit(X, [2.0, 4.0, 6.0, 8.0])
    model = Scaled(custom_model.ModelContext(artifacts={"factor": str(factor)}, models={"inner": inner}))
    mv = reg.log_model(model, model_name="scaled", version_name="v1", sample_input_data=X)
    factor.unlink()  # the version has its own copy
    out = mv.run(X)
    np.testing.assert_allclose(out["y"], [20.0, 40.0, 60.0, 80.0])
    np.testing.assert_allclose(mv.run(X, params={"offset": 1.5})["y"], [21.5, 41.5, 61.5, 81.5])
    params = mv.show_functions()[0]["signature"].params
    assert [(p.name, p.default_value) for p in params] == [("offset", 0.0)]
    assert type(mv.load()).__name__ == "Scaled"


def test_code_paths_make_a_local_module_importable_in_a_fresh_process(reg, session, tmp_path):
    module = tmp_path / "src" / "my_features.py"
    module.parent.mkdir()
    module.write_text(textwrap.dedent("""
        import pandas as pd
        from jupyter_mreg.model import custom_model

        def double(s):
            return s * 2

        class Doubler(custom_model.CustomModel):
            @custom_model.inference_api
            def predict(self, df: pd.DataFrame) -> pd.DataFrame:
                return pd.DataFrame({"out": double(df["x"])})
    """))
    sys.path.insert(0, str(module.parent))
    try:
        import my_features

        reg.log_model(my_features.Doubler(), model_name="doubler", version_name="v1",
                      sample_input_data=pd.DataFrame({"x": [1, 2]}), code_paths=[str(module)])
    finally:
        sys.path.remove(str(module.parent))
        sys.modules.pop("my_features", None)
    module.unlink()
    script = textwrap.dedent(f"""
        import pandas as pd
        from jupyter_mreg import Session
        from jupyter_mreg.registry import Registry
        reg = Registry(Session.builder.configs({{"home": {str(session.home)!r}}}).create(), database_name="MYDB", schema_name="ML", create=True)
        print(reg.get_model("doubler").version("v1").run(pd.DataFrame({{"x": [3, 4]}}))["out"].tolist())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[6, 8]"


class PerStore(custom_model.CustomModel):
    @custom_model.partitioned_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [df["sales"].sum()], "rows": [len(df)]})


def test_partitioned_run_returns_outputs_and_partition_column(reg):
    data = pd.DataFrame({"store": ["a", "a", "b", "c", "c", "c"], "sales": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    mv = reg.log_model(PerStore(), model_name="per_store", version_name="v1", sample_input_data=data,
                       options={"function_type": "TABLE_FUNCTION"})
    assert mv.show_functions()[0]["is_partitioned"] is True
    out = mv.run(data, partition_column="store").sort_values("store").reset_index(drop=True)
    assert out.to_dict("list") == {"total": [3.0, 3.0, 15.0], "rows": [2, 1, 3], "store": ["a", "b", "c"]}
    whole = mv.run(data)  # no partition_column: the whole input is one partition, as in Snowflake
    assert whole.to_dict("list") == {"total": [21.0], "rows": [6]}
