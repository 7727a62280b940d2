"""Load and run logged versions in a new Python process, as a user's next kernel would."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

_SCRIPT = textwrap.dedent("""
    import pickle, sys
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    with open(sys.argv[1], "rb") as f:
        jobs = pickle.load(f)
    results = {}
    for key, job in jobs.items():
        session = Session.builder.configs({"home": job["home"]}).create()
        mv = Registry(session=session, database_name=job["database"], schema_name=job["schema"]) \\
            .get_model(job["model"]).version(job["version"])
        result = {"outputs": {name: mv.run(job["X"], function_name=name, **job["run_kwargs"])
                              for name in job["functions"]}}
        obj = mv.load(options=job["load_options"])
        result["type"] = type(obj).__module__ + "." + type(obj).__qualname__
        result["functions"] = [f["name"] for f in mv.show_functions()]
        results[key] = result
    with open(sys.argv[2], "wb") as f:
        pickle.dump(results, f)
""")


def run_fresh(mv: Any, X: Any, tmp_path: Path, *, functions: list[str] | None = None,
              run_kwargs: dict | None = None, load_options: dict | None = None) -> dict:
    """`{"outputs": {function: DataFrame}, "type": "module.Class" of load(), "functions": [...]}` computed in
    a new process (in another working directory, so nothing of the test's is importable by accident).
    `functions` defaults to every function of the version."""
    job = _job(mv, X, functions=functions, run_kwargs=run_kwargs, load_options=load_options)
    return _run({"only": job}, tmp_path)["only"]


def run_fresh_many(jobs: dict[str, tuple[Any, Any]], tmp_path: Path) -> dict[str, dict]:
    """`run_fresh` for several versions in ONE new process, so a framework that takes seconds to import
    pays once: `{key: (mv, X)}` -> `{key: {"outputs", "type", "functions"}}` as `run_fresh` returns them."""
    return _run({key: _job(mv, X) for key, (mv, X) in jobs.items()}, tmp_path)


def _job(mv: Any, X: Any, *, functions: list[str] | None = None, run_kwargs: dict | None = None,
         load_options: dict | None = None) -> dict:
    return {"home": str(mv._registry.session.home), "database": mv._qn.database, "schema": mv._qn.schema,
            "model": mv.model_name, "version": mv.version_name, "X": X, "run_kwargs": run_kwargs or {},
            "load_options": load_options, "functions": functions or [f["name"] for f in mv.show_functions()]}


def _run(jobs: dict[str, dict], tmp_path: Path) -> dict[str, dict]:
    job_file, out_file = tmp_path / "fresh_job.pkl", tmp_path / "fresh_out.pkl"
    with open(job_file, "wb") as f:
        pickle.dump(jobs, f)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(job_file), str(out_file)], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"fresh process failed:\n{done.stderr[-4000:]}"
    with open(out_file, "rb") as f:
        return pickle.load(f)


def io(signature) -> tuple[list, list]:
    """A signature's inputs and outputs as (name, DataType name) pairs."""
    return ([(f.name, f.dtype.name) for f in signature.inputs], [(f.name, f.dtype.name) for f in signature.outputs])


def functions(mv) -> dict:
    """`{function name: signature}` as `show_functions()` lists them."""
    return {f["name"]: f["signature"] for f in mv.show_functions()}
