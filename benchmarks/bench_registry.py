#!/usr/bin/env python
"""Time jupyter_mreg against its peers (MLflow 3, raw scikit-learn) in one run; print a Markdown table.

    .venv/bin/python benchmarks/bench_registry.py            # full run, a few minutes on 2 cores
    .venv/bin/python benchmarks/bench_registry.py --quick    # smaller and fewer repeats, about a minute
    .venv/bin/python benchmarks/bench_registry.py --profile  # also cProfile our side of every missed row

Every row is a median over repeats, ours and the peer interleaved in the same process (rotating which
goes first), after one untimed warm-up of each. The table goes to stdout; progress goes to stderr. Not part
of the test run: it asserts only that both sides return the same answer, never a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from harness import (REPO, STARTED, Case, OtherLoad, Row, cprofile, fmt_s, interleave, load_note, log,
                     mlflow_store, mreg_registry, paired_delta, print_table, profile_imports, quiet_mlflow,
                     ratio_row)

N_FEATURES = 20
RUN_FEATURES = 10  # row (c): run() on 1,000,000 rows x 10 floats (issue 9)
TRAIN_ROWS = 10_000


def _first_column_class():
    import pandas as pd

    from jupyter_mreg.model import custom_model

    class FirstColumn(custom_model.CustomModel):
        """A model that costs nothing, to show the fixed cost of run()."""

        @custom_model.inference_api
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"y": df.iloc[:, 0].to_numpy()})

    return FirstColumn


def FirstColumn():  # noqa: N802 - reads as the class it builds (defined lazily: pandas/jupyter_mreg imports)
    return _first_column_class()()


# ------------------------------------------------------------------------------------------- setup


def make_data(rows: int, seed: int, features: int = N_FEATURES) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.standard_normal((rows, features)), columns=[f"f{i}" for i in range(features)])


def train(X: Any) -> Any:
    """The benchmarks' model: StandardScaler + LogisticRegression fitted on `X`, labels from a fixed plane."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = (X.to_numpy() @ np.linspace(-1, 1, X.shape[1]) > 0).astype(int)
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.setup_times: list[tuple[str, float]] = []
        self._n = 0

    def folder(self, prefix: str) -> Path:
        self._n += 1
        path = self.tmp / f"{prefix}-{self._n}"
        path.mkdir(parents=True)
        return path

    # -------------------------------------------------------------------------------- the model
    def prepare(self) -> None:
        import numpy as np

        start = time.perf_counter()
        self.X = make_data(TRAIN_ROWS, 0)
        self.pipe = train(self.X)
        self.sample = self.X.head()
        self.setup_times.append((f"train the pipeline ({TRAIN_ROWS:,} rows)", time.perf_counter() - start))

        import sklearn

        import cloudpickle
        import pandas

        self.pip_requirements = [f"scikit-learn=={sklearn.__version__}", f"numpy=={np.__version__}",
                                 f"pandas=={pandas.__version__}", f"cloudpickle=={cloudpickle.__version__}"]

    # -------------------------------------------------------------------------------- (a) log
    def bench_log(self) -> None:
        import mlflow
        import mlflow.sklearn
        from mlflow.models import infer_signature

        log("(a) log_model: warm-up")
        pipe, sample, reqs = self.pipe, self.sample, self.pip_requirements
        created: list[float] = []

        def fresh_ours():
            start = time.perf_counter()
            reg = mreg_registry(self.folder("a-mreg"))
            created.append(time.perf_counter() - start)
            return reg

        def ours(reg):
            return reg.log_model(model=pipe, model_name="churn", version_name="v1", sample_input_data=sample)

        def close_ours(reg, _mv):
            reg.session.close()

        def fresh_mlflow():
            start = time.perf_counter()
            mlflow_store(self.folder("a-mlflow"))
            created.append(-(time.perf_counter() - start))

        def mlflow_default(_):
            info = mlflow.sklearn.log_model(pipe, name="model", input_example=sample)
            return mlflow.register_model(info.model_uri, "churn")

        def mlflow_explicit(_):
            info = mlflow.sklearn.log_model(pipe, name="model", input_example=sample,
                                            signature=infer_signature(sample, pipe.predict(sample)),
                                            pip_requirements=reqs)
            return mlflow.register_model(info.model_uri, "churn")

        n, n_slow = self.args.log_repeats, self.args.slow_repeats
        c_ours = Case("ours", ours, n, fresh_ours, close_ours)
        c_explicit = Case("mlflow explicit", mlflow_explicit, n, fresh_mlflow)
        c_default = Case("mlflow default", mlflow_default, n_slow, fresh_mlflow)
        interleave([c_ours, c_explicit, c_default])
        ours_setup = [c for c in created if c > 0]
        mlflow_setup = [-c for c in created if c < 0]
        self.setup_times.append(("(a) fresh registry per repeat, ours (Session + Registry, catalog created)",
                                 statistics.median(ours_setup)))
        self.setup_times.append(("(a) fresh store per repeat, MLflow (SQLite schema + experiment)",
                                 statistics.median(mlflow_setup)))

        def profile_ours():
            reg = fresh_ours()
            try:
                return cprofile(lambda: ours(reg))
            finally:
                reg.session.close()

        what = "`reg.log_model(pipe, sample_input_data=X.head())`"
        self.rows.append(ratio_row("a", what, c_ours, "MLflow default: `sklearn.log_model` + `register_model`",
                                   c_default, 0.05, profile_ours))
        self.rows.append(ratio_row("a", what, c_ours, "MLflow explicit: + `signature=infer_signature(...)`, "
                                   "`pip_requirements=[4 pins]`", c_explicit, 1.0, profile_ours))

    # -------------------------------------------------------------------------------- (b) cold load
    def bench_load(self) -> None:
        import mlflow
        import mlflow.pyfunc
        import mlflow.sklearn
        from mlflow.models import infer_signature

        log("(b) cold load: setup")
        pipe, sample = self.pipe, self.sample
        home = self.folder("b-mreg")
        reg = mreg_registry(home)
        reg.log_model(model=pipe, model_name="churn", version_name="v1", sample_input_data=sample)
        reg.session.close()
        mlflow_store(self.folder("b-mlflow"))
        info = mlflow.sklearn.log_model(pipe, name="model", input_example=sample,
                                        signature=infer_signature(sample, pipe.predict(sample)),
                                        pip_requirements=self.pip_requirements)
        version = mlflow.register_model(info.model_uri, "churn").version
        uri = f"models:/churn/{version}"

        def ours(_):
            registry = mreg_registry(home)  # a new Session: the catalog is opened again
            return registry.session, registry.get_model("churn").version("v1").load()

        def check_ours(_, result):
            session, model = result
            assert (model.predict(sample) == pipe.predict(sample)).all()
            session.close()

        def check_pyfunc(_, model):
            assert (model.predict(sample) == pipe.predict(sample)).all()

        log("(b) cold load: timing")
        n = self.args.repeats
        c_ours = Case("ours", ours, n, teardown=check_ours)
        c_pyfunc = Case("pyfunc", lambda _: mlflow.pyfunc.load_model(uri), n, teardown=check_pyfunc)
        c_sklearn = Case("sklearn", lambda _: mlflow.sklearn.load_model(uri), n, teardown=check_pyfunc)
        interleave([c_ours, c_pyfunc, c_sklearn])

        def profile_ours():
            holder = {}
            text = cprofile(lambda: holder.setdefault("r", ours(None)))
            holder["r"][0].close()
            return text

        what = "new `Session` + `Registry` + `get_model().version().load()`"
        self.rows.append(ratio_row("b", what, c_ours, f"`mlflow.pyfunc.load_model('{uri}')`", c_pyfunc, 0.5,
                                   profile_ours))
        self.rows.append(ratio_row("b", "(same; note only)", c_ours, "`mlflow.sklearn.load_model(...)`",
                                   c_sklearn, None))

    # -------------------------------------------------------------------------------- (c) run
    def bench_run(self) -> None:
        import numpy as np

        rows = self.args.rows
        log(f"(c) run: building {rows:,} x {RUN_FEATURES} floats")
        start = time.perf_counter()
        big = make_data(rows, 1, RUN_FEATURES)
        self.setup_times.append((f"(c) build the {rows:,} x {RUN_FEATURES} DataFrame", time.perf_counter() - start))
        # Same recipe as every other row, on the 10 columns this row is defined with.
        pipe = train(make_data(TRAIN_ROWS, 0, RUN_FEATURES))
        sample = big.head()
        reg = mreg_registry(self.folder("c-mreg"))
        mv = reg.log_model(model=pipe, model_name="churn", version_name="v1", sample_input_data=sample)
        expected = pipe.predict(big)

        def check_ours(_, out):
            assert len(out) == rows and np.array_equal(out.iloc[:, 0].to_numpy(), expected)

        log("(c) run: timing (the warm-up loads the model)")
        n = self.args.repeats
        c_ours = Case("ours", lambda _: mv.run(big, function_name="predict"), n, teardown=check_ours)
        c_raw = Case("raw", lambda _: pipe.predict(big), n)
        interleave([c_ours, c_raw])
        self.rows.append(ratio_row("c", f"`mv.run(X, function_name='predict')`, {rows:,} rows × {RUN_FEATURES} "
                                   "floats", c_ours,
                                   "`pipe.predict(X)`, same DataFrame", c_raw, 1.05,
                                   lambda: cprofile(lambda: mv.run(big, function_name="predict"))))

        # The same on a model that costs nothing: what run() itself adds (validation, naming, lookups).
        first = FirstColumn()
        cheap = reg.log_model(first, model_name="first_column", version_name="v1", sample_input_data=sample)
        c_cheap = Case("ours", lambda _: cheap.run(big), n)
        c_direct = Case("raw", lambda _: first.predict(big), n)
        interleave([c_cheap, c_direct])
        self.rows.append(ratio_row("c", f"fixed cost: `mv.run(X)` of a CustomModel returning one input column, "
                                   f"{rows:,} rows", c_cheap, "its `predict(X)` called directly", c_direct, None))

    # -------------------------------------------------------------------------------- (d) show_versions
    def bench_show_versions(self) -> None:
        import mlflow
        import mlflow.sklearn
        from mlflow import MlflowClient
        from mlflow.models import infer_signature

        count = self.args.versions
        pipe, sample = self.pipe, self.sample
        log(f"(d) show_versions: creating {count:,} versions (ours)")
        reg = mreg_registry(self.folder("d-mreg"))
        start = time.perf_counter()
        first = reg.log_model(model=pipe, model_name="churn", version_name="v0", sample_input_data=sample)
        for i in range(1, count):
            reg.log_model(first, model_name="churn", version_name=f"v{i}")
        ours_setup = time.perf_counter() - start
        self.setup_times.append((f"(d) ours: log 1 version + copy it {count - 1:,} times "
                                 "(`reg.log_model(mv, version_name=...)`)", ours_setup))

        log(f"(d) show_versions: creating {count:,} versions (MLflow)")
        mlflow_store(self.folder("d-mlflow"))
        client = MlflowClient()
        start = time.perf_counter()
        info = mlflow.sklearn.log_model(pipe, name="model", input_example=sample,
                                        signature=infer_signature(sample, pipe.predict(sample)),
                                        pip_requirements=self.pip_requirements)
        v1 = mlflow.register_model(info.model_uri, "churn")
        for _ in range(1, count):
            client.create_model_version("churn", source=v1.source, run_id=v1.run_id)
        mlflow_setup = time.perf_counter() - start
        self.setup_times.append((f"(d) MLflow: log + register 1 version + `create_model_version` × {count - 1:,}",
                                 mlflow_setup))

        def ours(_):
            return reg.get_model("churn").show_versions()

        def peer(_):
            return MlflowClient().search_model_versions("name='churn'", max_results=5000)

        def check_ours(_, frame):
            assert len(frame) == count, len(frame)

        def check_peer(_, page):
            assert len(page) == count and not page.token, (len(page), page.token)

        log("(d) show_versions: timing")
        n = self.args.repeats
        c_ours = Case("ours", ours, n, teardown=check_ours)
        c_peer = Case("mlflow", peer, n, teardown=check_peer)
        interleave([c_ours, c_peer])
        from mlflow.store.model_registry import SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT

        self.notes.append(
            f"(d) `search_model_versions` is called with `max_results=5000` and returned all {count:,} versions "
            f"in one page (no next-page token; checked every repeat). Its default `max_results` in this MLflow "
            f"is {SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT:,}, so the default would also have returned them all. "
            "MLflow's result leaves aliases out ('may not have aliases populated'); ours includes them.")
        self.rows.append(ratio_row("d", f"`get_model().show_versions()`, {count:,} versions", c_ours,
                                   "`MlflowClient().search_model_versions(\"name='churn'\", max_results=5000)`",
                                   c_peer, 0.1, lambda: cprofile(lambda: ours(None))))

    # -------------------------------------------------------------------------------- (e) imports
    def bench_imports(self) -> None:
        python = sys.executable
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        # A notebook imports compiled .pyc files: with PYTHONDONTWRITEBYTECODE set (as in some containers)
        # every timed import of ours would compile our sources again, a cost no user pays twice.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        honest = "import pandas; from jupyter_mreg import Session; from jupyter_mreg.registry import Registry"
        commands = {
            "python": "pass",
            "pandas": "import pandas",
            "mreg": "import jupyter_mreg",
            "mreg+pandas": "import jupyter_mreg, pandas",
            "honest": honest,
            "mlflow": "import mlflow",  # imports pandas itself, so it is also MLflow's cost over pandas
        }

        def spawn(code: str) -> Callable[[Any], None]:
            def run(_):
                subprocess.run([python, "-c", code], env=env, cwd=self.tmp, check=True)
            return run

        n = self.args.import_repeats
        log(f"(e) imports: {len(commands)} commands × {n} fresh subprocesses")
        cases = {k: Case(k, spawn(code), n) for k, code in commands.items()}
        spawn(honest)(None)  # writes any missing .pyc of ours (the other commands import a subset of these)
        interleave(list(cases.values()), warmup=False)

        def delta(a: str, b: str) -> tuple[float, str]:
            return paired_delta(cases[a], cases[b]), f"{n}/{n}"

        def importtime(code: str, baseline: str) -> str:
            return profile_imports(python, env, self.tmp, code, baseline)

        t = {k: c.median for k, c in cases.items()}
        self.rows.append(Row("e", "`python -c 'import jupyter_mreg'` (lazy)", t["mreg"], "`import mlflow`",
                             t["mlflow"], "—", None, f"{n}/{n}"))
        self.rows.append(Row("e", "`python -c 'import pandas'` (reference; `pass` alone: "
                             f"{fmt_s(t['python'])})", t["pandas"], "`import mlflow`", t["mlflow"], "—", None,
                             f"{n}/{n}"))
        lazy, nn = delta("mreg+pandas", "pandas")
        peer, _ = delta("mlflow", "pandas")
        self.rows.append(Row("e", "`import jupyter_mreg, pandas` over `import pandas`", lazy,
                             "`import mlflow` over `import pandas`", peer, "≤ +0.1 s", lazy <= 0.1, nn,
                             lambda: importtime("import jupyter_mreg, pandas", "import pandas")))
        real, _ = delta("honest", "pandas")
        self.rows.append(Row("e", "`import pandas; from jupyter_mreg import Session; from jupyter_mreg.registry "
                             "import Registry` over `import pandas` (the honest number)", real,
                             "`import mlflow` over `import pandas`", peer, "≤ +0.1 s", real <= 0.1, nn,
                             lambda: importtime(honest, "import pandas")))


def versions_header(args: argparse.Namespace, other_load: dict[str, float]) -> list[str]:
    import mlflow
    import numpy
    import pandas
    import sklearn

    import jupyter_mreg

    try:
        from threadpoolctl import threadpool_info

        pools = ", ".join(f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()) or "none"
    except ImportError:
        pools = "threadpoolctl not installed"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    thread_env = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                            "MKL_NUM_THREADS") if k in os.environ) or "unset"
    mode = "quick" if args.quick else "full"
    load = load_note(other_load)
    return [
        f"### jupyter_mreg benchmarks ({mode} run)",
        "",
        f"- Python {platform.python_version()}, pandas {pandas.__version__}, scikit-learn {sklearn.__version__}, "
        f"MLflow {mlflow.__version__}, numpy {numpy.__version__}, jupyter_mreg {jupyter_mreg.__version__}",
        f"- machine: {os.cpu_count()} cores ({affinity} usable), {platform.system()} {platform.machine()}; {load}",
        f"- threads: library defaults, not limited (BLAS/OpenMP pools: {pools}; *_NUM_THREADS {thread_env}); "
        "MLflow telemetry off (MLFLOW_DISABLE_TELEMETRY=true: no network here)",
        f"- model: StandardScaler + LogisticRegression on {N_FEATURES} float features ({RUN_FEATURES} in row c), "
        f"trained on {TRAIN_ROWS:,} rows; MLflow on a SQLite tracking + registry store, artifacts in a temp folder",
        f"- medians over n repeats, ours and peer interleaved in one process after one warm-up each; "
        f"(a) uses a fresh registry home / MLflow store per repeat, created before the clock starts",
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark jupyter_mreg against MLflow 3 and raw scikit-learn; prints a Markdown table "
                    "of medians and ours/peer ratios with targets. Progress goes to stderr.")
    parser.add_argument("--quick", action="store_true",
                        help="smaller, faster run (~1 min): fewer repeats, 200 versions, 100k rows")
    parser.add_argument("--repeats", type=int, help="repeats of the cheap rows b, c, d (default 15, quick 5)")
    parser.add_argument("--log-repeats", type=int,
                        help="repeats of row a's ours and MLflow explicit; each needs a fresh MLflow store, ~1 s "
                             "to create (default 9, quick 3)")
    parser.add_argument("--slow-repeats", type=int,
                        help="repeats of MLflow's default log_model, ~3-4 s each (default 5, quick 2)")
    parser.add_argument("--import-repeats", type=int, help="fresh subprocesses per import (default 7, quick 5)")
    parser.add_argument("--versions", type=int, help="versions for show_versions (default 2000, quick 200)")
    parser.add_argument("--rows", type=int, help="rows for run (default 1,000,000, quick 100,000)")
    parser.add_argument("--only", default="abcde", help="which benchmarks to run, e.g. 'bd' (default abcde)")
    parser.add_argument("--profile", action="store_true",
                        help="after the table, cProfile our side of every missed row (-X importtime for imports)")
    parser.add_argument("--tmp", help="parent folder for the temporary registries (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    defaults = dict(repeats=(5, 15), log_repeats=(3, 9), slow_repeats=(2, 5), import_repeats=(5, 7), versions=(200, 2000),
                    rows=(100_000, 1_000_000))
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.import_repeats < 5:
        parser.error("--import-repeats must be at least 5")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log("importing pandas, scikit-learn, MLflow, jupyter_mreg (not timed)")
    import mlflow  # noqa: F401
    import mlflow.sklearn  # noqa: F401

    quiet_mlflow()
    tmp = Path(tempfile.mkdtemp(prefix="mreg-bench-", dir=args.tmp))
    bench = Bench(args, tmp)
    try:
        bench.prepare()
        steps = {"a": bench.bench_log, "b": bench.bench_load, "c": bench.bench_run,
                 "d": bench.bench_show_versions, "e": bench.bench_imports}
        other_load: dict[str, float] = {}
        for key, step in steps.items():
            if key in args.only:
                meter = OtherLoad()
                step()
                share = meter.share()
                if share is not None:
                    other_load[key] = share
                    log(f"    other processes used {share:.0%} of the machine during ({key})")
        missed = [r for r in bench.rows if r.passed is False and r.profile]
        profiles = []
        if args.profile:
            seen = set()
            for row in missed:
                if row.profile in seen:
                    continue
                seen.add(row.profile)
                log(f"profiling our side of ({row.key}) {row.what}")
                profiles.append((row, row.profile()))
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.perf_counter() - STARTED
    print("\n".join(versions_header(args, other_load)))
    print()
    print_table(bench.rows)
    print()
    print("Setup (not in the table):")
    print()
    for what, seconds in bench.setup_times:
        print(f"- {what}: {fmt_s(seconds)}")
    for note in bench.notes:
        print(f"- {note}")
    passed = sum(r.passed is True for r in bench.rows)
    targeted = sum(r.passed is not None for r in bench.rows)
    print()
    print(f"{passed}/{targeted} targets met; whole run {elapsed:.0f} s.")
    for row, text in profiles:
        print()
        print(f"#### Where our time goes: ({row.key}) {row.what}")
        print()
        print("```text")
        print(text.rstrip())
        print("```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
