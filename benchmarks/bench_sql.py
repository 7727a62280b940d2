"""Time `%%mreg` model SQL (jupyter_mreg.sql.execute) against the raw model call and against DuckDB alone.

    .venv/bin/python benchmarks/bench_sql.py            # 1,000,000 rows x 20 float features, a few minutes
    .venv/bin/python benchmarks/bench_sql.py --quick    # 100,000 rows, well under a minute

Two models are logged in a temporary registry: a HistGradientBoostingClassifier (100 trees: the model's
cost dominates) and a LogisticRegression (nearly free: the engine's own cost shows). For each, three
queries run through `execute()`:

- full:     SELECT M!PREDICT(*) FROM df
- filtered: SELECT M!PREDICT(*) FROM df WHERE region = 'EU' ORDER BY id      (keeps 25% of the rows)
- one row:  SELECT M!PREDICT(*) FROM one                                      (a 1-row DataFrame)

They are compared with the raw `model.predict` on the same rows (prepared beforehand, not timed), and with
DuckDB running the same query with the model call replaced by the columns it reads (`SELECT f0, ..., f19
FROM df [WHERE ... ORDER BY ...]`, fetched through Arrow into pandas as our results are): the engine's
floor, what reading the model's inputs out of the DataFrame costs DuckDB alone.

Targets: gradient boosting full scan <= 1.1x raw, filtered <= 1.15x raw; logistic regression: our time
minus the raw predict <= 1.5x the floor; the one-row query's overhead over the raw call < 20 ms.

Every time is a median of 3 after one untimed warm-up, the cases interleaved (harness's `interleave`:
garbage collection frozen, order rotated). The table goes to stdout, progress to stderr. Not part of the test
run: it asserts that our answers equal the raw model's, never a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import Case, OtherLoad, fmt_s, interleave, load_note, log, mreg_registry

N_FEATURES = 20
FEATURES = [f"f{i}" for i in range(N_FEATURES)]


@dataclass
class Result:
    model: str
    query: str
    rows: int
    ours: float
    raw: float
    floor: float | None
    target: str
    passed: bool


def make_data(rows: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(rows, N_FEATURES)), columns=FEATURES)
    df.insert(0, "id", np.arange(rows, dtype=np.int64))
    df["region"] = np.where(rng.random(rows) < 0.25, "EU", "US")
    label = ((df["f0"] + 0.5 * df["f1"] - df["f2"] * df["f3"] + rng.normal(scale=0.5, size=rows)) > 0).astype(int)
    return df, label


def train(train_rows: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    X, y = make_data(train_rows, seed=1)
    hgb = HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0).fit(X[FEATURES], y)
    lr = LogisticRegression(max_iter=1000).fit(X[FEATURES], y)
    return {"HGB": hgb, "LR": lr}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Targets and method: see the module docstring.")
    parser.add_argument("--quick", action="store_true", help="100,000 rows and a smaller training set")
    parser.add_argument("--rows", type=int, default=None, help="rows scored (default 1,000,000; 100,000 with --quick)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (median; default 3)")
    parser.add_argument("--tmp", default=None, help="folder for the temporary registry")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    log("importing pandas, scikit-learn, DuckDB, jupyter_mreg (not timed)")
    import duckdb
    import numpy as np
    import pandas as pd
    import sklearn

    from jupyter_mreg.sql import execute

    tmp = Path(tempfile.mkdtemp(prefix="mreg-bench-sql-", dir=args.tmp))
    results: list[Result] = []
    meter = OtherLoad()
    try:
        log(f"training HGB and LR, making {rows:,} rows x {N_FEATURES} features")
        models = train(20_000 if not args.quick else 5_000)
        df, _ = make_data(rows)
        one = df.head(1).copy()
        reg = mreg_registry(tmp / "registry", "BENCH", "SQL")
        session = reg.session
        for name, model in models.items():
            reg.log_model(model, model_name=name, version_name="v1", sample_input_data=df[FEATURES].head())
        namespace = {"df": df, "one": one}
        floor_db = duckdb.connect()
        floor_db.register("df", df)
        columns = ", ".join(FEATURES)
        eu = df[df["region"] == "EU"].sort_values("id")
        queries = {
            "full": ("SELECT BENCH.SQL.{m}!PREDICT(*) FROM df", f"SELECT {columns} FROM df", df),
            "filtered": ("SELECT BENCH.SQL.{m}!PREDICT(*) FROM df WHERE region = 'EU' ORDER BY id",
                         f"SELECT {columns} FROM df WHERE region = 'EU' ORDER BY id", eu),
            "one row": ("SELECT BENCH.SQL.{m}!PREDICT(*) FROM one", None, one),
        }
        for name, model in models.items():
            for query, (ours_sql, floor_sql, frame) in queries.items():
                sql = ours_sql.format(m=name)
                X = frame[FEATURES]
                expected = model.predict(X)
                got = execute(sql, namespace, session=session)
                answer = got.iloc[:, 0].struct.field("output_feature_0").to_numpy()
                assert np.array_equal(answer, expected), f"{name} {query}: our answer differs from predict()"
                log(f"{name} {query}: {len(frame):,} rows scored")
                cases = [Case("ours", lambda _, s=sql: execute(s, namespace, session=session), args.repeats),
                         Case("raw predict", lambda _, m=model, x=X: m.predict(x), args.repeats)]
                if floor_sql:
                    cases.append(Case("DuckDB floor", lambda _, q=floor_sql: floor_db.sql(q).to_arrow_table()
                                      .to_pandas(), args.repeats))
                interleave(cases)
                ours, raw = cases[0].median, cases[1].median
                floor = cases[2].median if floor_sql else None
                if query == "one row":
                    target, passed = "ours − raw < 20 ms", ours - raw < 0.020
                elif name == "HGB":
                    limit = 1.1 if query == "full" else 1.15
                    target, passed = f"ours/raw ≤ {limit}", ours <= limit * raw
                else:
                    target, passed = "(ours − raw)/floor ≤ 1.5", ours - raw <= 1.5 * floor
                results.append(Result(name, query, len(frame), ours, raw, floor, target, passed))
        session.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    share = meter.share()
    print(f"jupyter_mreg SQL benchmark: {rows:,} rows x {N_FEATURES} float features, median of {args.repeats} "
          f"after a warm-up; Python {platform.python_version()}, pandas {pd.__version__}, scikit-learn "
          f"{sklearn.__version__}, DuckDB {duckdb.__version__}, {os.cpu_count()} CPUs.")
    print(f"Machine: {load_note({} if share is None else {'whole run': share})}")
    print()
    print("| model | query | rows scored | ours | raw predict | DuckDB floor | ours/raw | (ours − raw)/floor | "
          "target | result |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        over = f"{(r.ours - r.raw) / r.floor:.2f}×" if r.floor else f"+{fmt_s(r.ours - r.raw)}"
        print(f"| {r.model} | {r.query} | {r.rows:,} | {fmt_s(r.ours)} | {fmt_s(r.raw)} | {fmt_s(r.floor)} | "
              f"{r.ours / r.raw:.2f}× | {over} | {r.target} | {'PASS' if r.passed else '**MISS**'} |")
    print()
    print(f"{sum(r.passed for r in results)}/{len(results)} targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
