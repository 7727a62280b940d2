"""Command line: `python -m jupyter_mreg check [--repair] [--verify] [--home PATH] [--debug]`.

Exit status: 0 nothing wrong, 1 problems remain (listed on stdout), 2 the command could not run (one line
on stderr saying why and what to do; `--debug` adds the traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback

from jupyter_mreg import store
from jupyter_mreg.errors import MregError
from jupyter_mreg.registry.session import Session


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mreg",
                                     description="Maintain a local jupyter_mreg model registry.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check", help="report (and with --repair remove) files no version uses and interrupted writes",
        description="Check a registry. First the catalog itself: a SQLite catalog.db is checked with SQLite's "
                    "PRAGMA quick_check (PRAGMA integrity_check with --verify); damage is reported with the fix "
                    "and then nothing else is checked or removed. A PostgreSQL catalog has no such check a "
                    "client can run (use the server's data checksums and pg_amcheck). Then the artifact store: "
                    "files no version references (left by an interrupted log_model), files a version needs "
                    "that are missing or changed, interrupted uploads and the staging folders they left. "
                    "Exit status 0 when nothing is wrong (after repair), 1 otherwise, 2 when the check could "
                    "not run (the reason is on stderr).")
    check.add_argument("--home", help="registry folder (default: $MREG_HOME, then ~/.mreg)")
    check.add_argument("--catalog-url", help="SQLAlchemy URL of the catalog (default: <home>/catalog.db)")
    check.add_argument("--artifacts-url", help="fsspec URL of the artifact store (default: <home>/artifacts)")
    check.add_argument("--repair", action="store_true",
                       help="remove orphaned files, stale upload records and abandoned staging folders")
    check.add_argument("--verify", action="store_true",
                       help="also re-hash every stored file (reads everything) and run SQLite's full "
                            "PRAGMA integrity_check instead of quick_check")
    check.add_argument("--grace-seconds", type=float, default=60.0,
                       help="files younger than this may belong to a write in progress (default: 60)")
    check.add_argument("--debug", action="store_true", help="show the traceback when the check cannot run")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _check(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a command line answers with a sentence, not a traceback
        if args.debug:
            traceback.print_exc()
        message = " ".join(str(exc).split())
        if not isinstance(exc, MregError):
            message = (f"unexpected {type(exc).__name__}: {message}. jupyter_mreg did not expect this: run "
                       f"the same command with --debug for the traceback, and report it.")
        print(f"error: {message}", file=sys.stderr)
        return 2


def _check(args: argparse.Namespace) -> int:
    config = {k: v for k, v in {"home": args.home, "catalog_url": args.catalog_url,
                                "artifacts_url": args.artifacts_url}.items() if v}
    session = Session(config)
    if not args.catalog_url and not (session.home / "catalog.db").exists():
        print(f"No registry at {session.home}: there is no catalog.db there. Pass --home (or set MREG_HOME) to "
              "the folder you gave Session's `home`.", file=sys.stderr)
        return 2
    report = store.check(session.catalog, session.artifacts, repair=args.repair, verify=args.verify,
                         grace_seconds=args.grace_seconds)
    repaired, problems = list(report.repaired), report.problems
    if session.artifacts.local_tmp_dir is None and not report.catalog_problems:
        # A store elsewhere has no tmp/ on this disk: log_model stages under <home>/tmp instead.
        for name in store.remove_abandoned_staging(session.catalog, session.staging_dir,
                                                   grace_seconds=args.grace_seconds, dry_run=not args.repair):
            folder = session.staging_dir / name
            if args.repair:
                repaired.append(f"removed abandoned staging folder {folder}")
            else:
                problems.append(f"abandoned staging folder {folder}: left by an interrupted log_model. Fix: "
                                f"--repair removes it.")
    print(f"Registry at {session.home}")
    for line in repaired:
        print(f"repaired: {line}")
    for line in problems:
        print(f"problem: {line}")
    print(f"{len(problems)} problem(s) remain." if problems else "OK: nothing wrong.")
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
