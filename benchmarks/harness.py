"""What every benchmark script shares: timing (Case, interleave), the Markdown table (Row, ratio_row,
print_table, fmt_s), profiling (cprofile, profile_imports), the machine's load (OtherLoad, load_note),
progress lines (log), and the registries both sides are timed on (mreg_registry, mlflow_store).

Importing it puts the working tree first on `sys.path` (the benchmarks time it, installed or not) and
switches MLflow's telemetry off (no network here; also for subprocesses). Imports nothing heavy itself:
pandas, MLflow and jupyter_mreg load inside the functions that need them, so the scripts decide when.
"""

from __future__ import annotations

import cProfile
import gc
import io
import logging
import os
import pstats
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
# Benchmark the working tree, installed or not.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
# No network here, and telemetry is not what we compare: keep MLflow from trying (also in subprocesses).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

STARTED = time.perf_counter()
# 1, 5 and 15-minute load averages when the script started (None where the OS has none).
LOADAVG_AT_START: tuple[float, float, float] | None = os.getloadavg() if hasattr(os, "getloadavg") else None
LOAD_AT_START: float | None = LOADAVG_AT_START[0] if LOADAVG_AT_START else None
# Other processes' share of the machine above which a step's numbers are flagged as noisy.
BUSY_SHARE = 0.05


def log(msg: str) -> None:
    """A progress line on stderr, stamped with the seconds since the script started."""
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- load


class OtherLoad:
    """CPU time other processes used while a step ran: the machine's busy time (/proc/stat) minus ours
    (this process and its waited-for subprocesses). Linux only; elsewhere it reports nothing."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            import resource

            with open("/proc/stat") as f:
                ticks = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ImportError, ValueError):
            return None
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
        own = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                  for field in ("ru_utime", "ru_stime"))
        return busy, own, time.perf_counter()

    def share(self) -> float | None:
        """Other processes' CPU time as a share of the machine's capacity since `start`."""
        end = self._sample()
        if self.start is None or end is None:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self.start))
        return max(0.0, busy - own) / (wall * (os.cpu_count() or 1))


def load_note(other_load: dict[str, float]) -> str:
    """The header's sentence on the machine's load: the load average before the run, and other processes'
    CPU share per step (`other_load`, from OtherLoad.share), flagged when any step shared the machine."""
    note = "" if LOAD_AT_START is None else f"load average {LOAD_AT_START:.2f} before the run; "
    if other_load:
        note += "other processes' CPU use per step: " + ", ".join(f"{k} {v:.0%}" for k, v in other_load.items())
        if max(other_load.values()) > BUSY_SHARE:
            note += " — **other work ran on the machine meanwhile: expect noise in those rows, rerun when quiet**"
    return note


# ------------------------------------------------------------------------------------------ timing


@dataclass
class Case:
    """One side of a comparison: `fn(state)` is timed; `setup()` and `teardown(state, result)` are not."""

    name: str
    fn: Callable[[Any], Any]
    repeats: int
    setup: Callable[[], Any] | None = None
    teardown: Callable[[Any, Any], None] | None = None
    times: list[float] = field(default_factory=list)

    def once(self) -> float:
        state = self.setup() if self.setup else None
        gc.collect()
        start = time.perf_counter()
        result = self.fn(state)
        elapsed = time.perf_counter() - start
        if self.teardown:
            self.teardown(state, result)
        return elapsed

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def interleave(cases: list[Case], *, warmup: bool = True) -> None:
    """Warm each case up once, then run round i of every case still wanting repeats, order rotated by i."""
    if warmup:
        for case in cases:
            case.once()
    # Freeze what exists so the gc.collect() before each timed call scans only new objects (a full
    # collection of MLflow's heap costs ~0.3 s) and no big collection lands inside a timing.
    gc.collect()
    gc.freeze()
    for i in range(max(c.repeats for c in cases)):
        order = cases[i % len(cases):] + cases[:i % len(cases)]
        for case in order:
            if i < case.repeats:
                case.times.append(case.once())
    for case in cases:
        log(f"    {case.name}: median {fmt_s(case.median)}, min {fmt_s(min(case.times))}, "
            f"max {fmt_s(max(case.times))}, n={len(case.times)}")


def paired_delta(a: Case, b: Case) -> float:
    """Median of the per-round differences a − b: cases run interleaved, so slow spells of the machine cancel."""
    return statistics.median(x - y for x, y in zip(a.times, b.times))


# ------------------------------------------------------------------------------------------- table


@dataclass
class Row:
    key: str
    what: str
    ours: float | None
    peer_what: str
    peer: float | None
    target: str  # shown as is
    passed: bool | None  # None: no target on this row
    n: str
    profile: Callable[[], str] | None = None  # where our time goes, for --profile on a miss

    @property
    def ratio(self) -> str:
        if self.ours is None or not self.peer:
            return "—"
        return f"{self.ours / self.peer:.3f}×"


def fmt_s(seconds: float | None, signed: bool = False) -> str:
    if seconds is None:
        return "—"
    sign = "+" if signed and seconds >= 0 else ""
    if abs(seconds) >= 1:
        return f"{sign}{seconds:.2f} s"
    return f"{sign}{seconds * 1000:.3g} ms" if abs(seconds) >= 0.001 else f"{sign}{seconds * 1e6:.3g} µs"


def ratio_row(key: str, what: str, ours: Case, peer_what: str, peer: Case, limit: float | None,
              profile: Callable[[], str] | None = None) -> Row:
    passed = None if limit is None else ours.median <= limit * peer.median
    return Row(key, what, ours.median, peer_what, peer.median, "—" if limit is None else f"≤ {limit:g}×",
               passed, f"{len(ours.times)}/{len(peer.times)}", profile)


def print_table(rows: list[Row]) -> None:
    print("| | benchmark (ours) | ours | peer | peer | ours/peer | target | result | n ours/peer |")
    print("|---|---|---:|---|---:|---:|---|---|---|")
    for r in rows:
        signed = r.key.startswith("e") and "over" in r.what
        result = "—" if r.passed is None else ("PASS" if r.passed else "**MISS**")
        print(f"| {r.key} | {r.what} | {fmt_s(r.ours, signed)} | {r.peer_what} | {fmt_s(r.peer, signed)} | "
              f"{r.ratio} | {r.target} | {result} | {r.n} |")


# ----------------------------------------------------------------------------------------- profiling


def cprofile(fn: Callable[[], Any], limit: int = 15) -> str:
    """cProfile of one call of `fn`: the top `limit` functions by own time, then by cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def profile_imports(python: str, env: dict, cwd: Path, code: str, baseline: str, limit: int = 15) -> str:
    """`-X importtime` of `code`, modules `baseline` already imports left out, self time summed per package."""

    def run(source: str) -> dict[str, tuple[int, int]]:
        proc = subprocess.run([python, "-X", "importtime", "-c", source], env=env, cwd=cwd, check=True,
                              capture_output=True, text=True)
        times = {}
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            times[name.strip()] = (int(self_us), int(cumulative))
        return times

    run(code)  # .pyc files
    base = run(baseline)
    extra = {k: v for k, v in run(code).items() if k not in base}
    per_package: dict[str, int] = {}
    for name, (self_us, _) in extra.items():
        per_package[name.split(".")[0]] = per_package.get(name.split(".")[0], 0) + self_us
    total = sum(per_package.values())
    lines = [f"python -X importtime -c {code!r}: {len(extra)} modules beyond {baseline!r}, "
             f"{total / 1000:.0f} ms of import self-time (importtime inflates times a little)",
             "self time per top-level package:"]
    for pkg, us in sorted(per_package.items(), key=lambda kv: -kv[1])[:limit]:
        lines.append(f"  {us / 1000:8.1f} ms  {pkg}")
    lines.append("slowest single modules (self time):")
    for name, (self_us, _) in sorted(extra.items(), key=lambda kv: -kv[1][0])[:limit]:
        lines.append(f"  {self_us / 1000:8.1f} ms  {name}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the timed registries


def quiet_mlflow() -> None:
    """MLflow's, Alembic's and SQLAlchemy's log lines and warnings off: they would drown the progress."""
    for name in ("mlflow", "alembic", "sqlalchemy", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def mlflow_store(folder: Path) -> str:
    """Point MLflow at a fresh SQLite tracking + registry store in `folder`, schema created (not timed)."""
    import mlflow

    folder.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment("bench", artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    mlflow.MlflowClient().search_registered_models(max_results=1)  # registry tables ready too
    return uri


def mreg_registry(home: Path, database_name: str = "MYDB", schema_name: str = "ML") -> Any:
    """A jupyter_mreg `Registry` on a new `Session` whose home is `home` (created if missing)."""
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(home)}).create()
    return Registry(session=session, database_name=database_name, schema_name=schema_name, create=True)
