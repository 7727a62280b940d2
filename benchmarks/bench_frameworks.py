#!/usr/bin/env python
"""Log and load one model of every framework with jupyter_mreg and with MLflow's own flavor; one Markdown table.

    .venv/bin/python benchmarks/bench_frameworks.py                 # every framework installed, 5 repeats
    .venv/bin/python benchmarks/bench_frameworks.py --quick         # 3 repeats
    .venv/bin/python benchmarks/bench_frameworks.py --only xgboost,pytorch

The models come from `benchmarks/frameworks/cases_<framework>.py` (`cases()`): each gives the fitted model,
the sample our `log_model` infers signatures from, and how MLflow's flavor logs and loads the same model
(`mlflow_flavor` and `mlflow_log_call` name them in the table when they are not `mlflow.<framework>`).
Ours: `reg.log_model(model, model_name=..., sample_input_data=sample)`, and a cold load (new `Session` +
`Registry` + `version().load()`). MLflow: `mlflow.<flavor>.log_model(model, name="model",
input_example=sample, registered_model_name=...)` inside a run started before the clock (the user's usual
call: it infers the signature and the pip requirements), and `mlflow.<flavor>.load_model("models:/name/1")`.
Each repeat logs under a new model name into the same registry / MLflow store. Medians, ours and MLflow
interleaved after one warm-up each (so imports are excluded). Target: every ratio ≤ 0.5. A second
table splits each load into the framework's own deserialization (the floor both sides pay) and what each
registry adds to it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `harness` and `frameworks.cases_*`
from harness import (Case, OtherLoad, Row, fmt_s, interleave, load_note, log, mlflow_store,  # noqa: E402
                     mreg_registry, print_table, quiet_mlflow, ratio_row)

FRAMEWORKS = ("xgboost", "lightgbm", "catboost", "pytorch", "keras", "tensorflow", "huggingface",
              "sentence_transformers", "prophet", "mlflow")
TARGET = 0.5


def load_cases(names: list[str]) -> list[dict]:
    """Every case of the named frameworks whose libraries are installed (others are listed as skipped)."""
    found = []
    for name in names:
        try:
            module = importlib.import_module(f"frameworks.cases_{name}")
            found.extend(module.cases())
        except ImportError as exc:
            log(f"skipping {name}: {exc}")
    return found


class FrameworkBench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        import mlflow

        self.args, self.mlflow, self.tmp = args, mlflow, tmp
        self.home = tmp / "mreg"
        self.reg = mreg_registry(self.home)
        mlflow_store(tmp / "mlflow")
        self.rows: list[Row] = []
        self.floors: list[tuple[str, str, float, float, float]] = []
        self.other_load: dict[str, float] = {}
        self._n = 0

    def _name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def own_load(self, model_name: str):
        """The framework's own deserialization of our stored files (the handler's `load`, on an exported
        copy): the floor both sides pay, with no registry around it."""
        from jupyter_mreg.model.handlers import get_handler

        mv = self.reg.get_model(model_name).version("v1")
        folder = Path(tempfile.mkdtemp(prefix="own-", dir=self.tmp))
        mv.export(folder / "pkg")
        handler, meta = get_handler(mv.manifest.model_type), mv.manifest.handler
        return lambda _: handler.load(folder / "pkg" / "model", meta, {"device": "cpu"})

    def run_case(self, case: dict) -> None:
        fw, label = case["framework"], case["name"]
        log(f"{fw}: {label}")
        meter = OtherLoad()
        repeats = self.args.repeats
        sample, kwargs = case.get("sample"), dict(case.get("log_kwargs") or {})
        if sample is not None:
            kwargs["sample_input_data"] = sample
        ours_names: list[str] = []
        theirs_names: list[str] = []

        def ours_log(_):
            name = self._name(f"{fw}_ours")
            ours_names.append(name)
            return self.reg.log_model(case["model"], model_name=name, version_name="v1", **kwargs)

        def start_run():
            name = self._name(f"{fw}_mlflow")
            theirs_names.append(name)
            return name, self.mlflow.start_run()

        def mlflow_log(state):
            name, _ = state
            case["mlflow_log"](case["model"], sample, name)

        def end_run(state, _):
            self.mlflow.end_run()

        log_ours = Case("ours log", ours_log, repeats)
        log_theirs = Case("mlflow log", mlflow_log, repeats, setup=start_run, teardown=end_run)
        interleave([log_ours, log_theirs])

        def ours_load(_):
            reg = mreg_registry(self.home)  # a new Session: the catalog is opened again
            obj = reg.get_model(ours_names[0]).version("v1").load()
            reg.session.close()
            return obj

        def mlflow_load(_):
            return case["mlflow_load"](f"models:/{theirs_names[0]}/1")

        own_load = self.own_load(ours_names[0])
        load_ours = Case("ours load", ours_load, repeats)
        load_theirs = Case("mlflow load", mlflow_load, repeats)
        load_own = Case("framework's own load", own_load, repeats)
        interleave([load_ours, load_theirs, load_own])
        flavor = case.get("mlflow_flavor", f"mlflow.{fw}")
        log_call = case.get("mlflow_log_call", f"`{flavor}.log_model`")
        self.rows.append(ratio_row(fw, f"log {label}", log_ours, log_call, log_theirs, TARGET))
        self.rows.append(ratio_row(fw, f"load {label}", load_ours, f"`{flavor}.load_model`", load_theirs, TARGET))
        self.floors.append((fw, label, load_ours.median, load_theirs.median, load_own.median))
        share = meter.share()
        if share is not None:
            self.other_load[fw] = share


def print_floors(floors: list[tuple[str, str, float, float, float]]) -> None:
    """What each side adds to the framework's own deserialization: (ours − own) / (MLflow − own)."""
    print("| framework | model | framework's own load | ours adds | MLflow adds | ours/MLflow added |")
    print("|---|---|---:|---:|---:|---:|")
    for fw, label, ours, theirs, own in floors:
        added = f"{(ours - own) / (theirs - own):.2f}×" if theirs > own else "—"
        print(f"| {fw} | {label} | {fmt_s(own)} | {fmt_s(ours - own, True)} | {fmt_s(theirs - own, True)} | {added} |")


def versions_line(cases: list[dict]) -> str:
    from importlib import metadata

    dists = ["mlflow", "xgboost", "lightgbm", "catboost", "torch", "tensorflow", "keras", "transformers",
             "sentence-transformers", "prophet"]
    found = []
    for dist in dists:
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Log and load one model per framework with jupyter_mreg and with MLflow's flavor; prints a "
                    "Markdown table of medians and ours/MLflow ratios (target ≤ 0.5). Progress goes to stderr.")
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 5")
    parser.add_argument("--repeats", type=int, help="repeats per row (default 5, quick 3)")
    parser.add_argument("--only", help=f"comma-separated frameworks (default all: {','.join(FRAMEWORKS)})")
    parser.add_argument("--tmp", help="parent folder for the temporary registries (default: system temp)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    args.frameworks = [f.strip() for f in args.only.split(",")] if args.only else list(FRAMEWORKS)
    unknown = sorted(set(args.frameworks) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown framework(s) {unknown}: choose from {', '.join(FRAMEWORKS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    log("importing MLflow and building the models (not timed)")
    import mlflow  # noqa: F401

    quiet_mlflow()
    cases = load_cases(args.frameworks)
    tmp = Path(tempfile.mkdtemp(prefix="mreg-bench-fw-", dir=args.tmp))
    try:
        bench = FrameworkBench(args, tmp)
        for case in cases:
            bench.run_case(case)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("### jupyter_mreg vs MLflow flavors: log and load per framework")
    print()
    print(f"- {versions_line(cases)}")
    print(f"- {os.cpu_count()} cores; {load_note(bench.other_load)}")
    print(f"- medians of {args.repeats}, interleaved after one warm-up each; MLflow on a SQLite tracking + "
          "registry store")
    print()
    print_table(bench.rows)
    print()
    print("Load, split into the framework's own deserialization (the handler's `load` on an exported copy of "
          "our files, which is what each flavor's `load_model` also calls) and what each registry adds to it:")
    print()
    print_floors(bench.floors)
    passed = sum(r.passed is True for r in bench.rows)
    print()
    print(f"{passed} of {len(bench.rows)} rows meet the target (≤ {TARGET}×); "
          f"took {fmt_s(time.perf_counter() - started)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
