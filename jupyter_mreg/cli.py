"""Command line: `python -m jupyter_mreg check [--repair] [--verify] [--home PATH] ...` (see `--help`).

Exit status: 0 nothing damaged (garbage may remain: it is reported as reclaimable), 1 damage found (listed
on stdout), 2 the command could not run (one line on stderr saying why and what to do; `--debug` adds the
traceback).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import traceback

from jupyter_mreg import store
from jupyter_mreg.errors import MregError
from jupyter_mreg.store import sharing
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
                    "client can run (use the server's data checksums and pg_amcheck). Then the artifact store. "
                    "Damage: files a version needs that are missing or changed, another catalog sharing the "
                    "store that cannot be read, an empty catalog beside a non-empty store. Garbage (reclaimable, "
                    "not damage; --repair removes it): files no version uses (left by a delete or an "
                    "interrupted log_model), records, temporary files and staging folders of interrupted "
                    "uploads. Exit status 0 when nothing is damaged, 1 otherwise, 2 when the check could not "
                    "run (the reason is on stderr).")
    check.add_argument("--home", help="registry folder (default: $MREG_HOME, then ~/.mreg)")
    check.add_argument("--catalog-url", help="SQLAlchemy URL of the catalog (default: <home>/catalog.db)")
    check.add_argument("--artifacts-url", help="fsspec URL of the artifact store (default: <home>/artifacts)")
    check.add_argument("--repair", action="store_true",
                       help="remove the garbage: orphaned files, stale upload records, abandoned staging folders")
    check.add_argument("--verify", action="store_true",
                       help="also re-hash every stored file (reads everything) and run SQLite's full "
                            "PRAGMA integrity_check instead of quick_check")
    check.add_argument("--allow-empty-catalog", action="store_true",
                       help="let --repair collect from a catalog that never held a version (refused by default: "
                            "beside a non-empty store it is almost always a mistyped catalog location)")
    check.add_argument("--forget-catalog", metavar="ID",
                       help="forget another catalog recorded as sharing the artifact store (one that is gone for "
                            "good), so collection no longer waits for it")
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
    if (args.repair or args.forget_catalog) and session.read_only:
        print(f"Cannot repair the registry at {session.home}: it is read-only: {session.read_only_reason}. "
              "Run without --repair / --forget-catalog to check it.", file=sys.stderr)
        return 2
    if args.forget_catalog:
        sharing.forget(session.catalog, session.artifacts, args.forget_catalog)
        print(f"Forgot catalog {args.forget_catalog}: the artifact store at {session.artifacts_url} no longer "
              f"keeps objects for it.")
    report = store.check(session.catalog, session.artifacts, repair=args.repair, verify=args.verify,
                         grace_seconds=args.grace_seconds, allow_empty_catalog=args.allow_empty_catalog)
    repaired, reclaimable = list(report.repaired), report.reclaimable
    if session.artifacts.local_tmp_dir is None and not report.catalog_problems:
        # A store elsewhere has no tmp/ on this disk: log_model stages under <home>/tmp instead.
        staging = store.remove_abandoned_staging(session.catalog, session.staging_dir,
                                                 grace_seconds=args.grace_seconds, dry_run=not args.repair)
        if args.repair:
            repaired += [f"removed abandoned staging folder {session.staging_dir / name}" for name in staging]
        elif staging:
            found = f"{len(staging)} staging folder(s) left by interrupted uploads in {session.staging_dir}"
            reclaimable = f"{reclaimable}, {found}" if reclaimable else found
    print(f"Registry at {session.home}")
    for line in repaired:
        print(f"repaired: {line}")
    for line in report.problems:
        print(f"problem: {line}")
    if reclaimable:
        print(f"reclaimable: {reclaimable}. Not damage; free the space with: python -m jupyter_mreg check "
              f"--repair {_location_args(args)}".rstrip() + ".")
    print("OK: nothing wrong." if report.ok else f"{len(report.problems)} problem(s) remain.")
    return 0 if report.ok else 1


def _location_args(args: argparse.Namespace) -> str:
    """The options that name the registry, as given: the repair command must point at the same one."""
    given = [(f"--{name.replace('_', '-')}", getattr(args, name)) for name in ("home", "catalog_url", "artifacts_url")]
    return " ".join(f"{flag} {shlex.quote(value)}" for flag, value in given if value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
