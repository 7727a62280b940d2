"""Command line: `python -m jupyter_mreg check [--repair] [--verify] [--home PATH] ...` (see `--help`)."""

from __future__ import annotations

import argparse
import shlex
import sys

from jupyter_mreg import store
from jupyter_mreg.store import sharing
from jupyter_mreg.registry.session import Session


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mreg",
                                     description="Maintain a local jupyter_mreg model registry.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check", help="report (and with --repair remove) files no version uses and interrupted writes",
        description="Check a registry. Damage: files a version needs that are missing or changed, another "
                    "catalog sharing the artifact store that cannot be read, an empty catalog beside a non-empty "
                    "store. Garbage (reclaimable, not damage; --repair removes it): files no version uses (left "
                    "by a delete or an interrupted log_model), records and temporary files of interrupted "
                    "uploads. Exit status 0 when nothing is damaged, 1 otherwise.")
    check.add_argument("--home", help="registry folder (default: $MREG_HOME, then ~/.mreg)")
    check.add_argument("--catalog-url", help="SQLAlchemy URL of the catalog (default: <home>/catalog.db)")
    check.add_argument("--artifacts-url", help="fsspec URL of the artifact store (default: <home>/artifacts)")
    check.add_argument("--repair", action="store_true", help="remove orphaned files and stale upload records")
    check.add_argument("--verify", action="store_true", help="also re-hash every stored file (reads everything)")
    check.add_argument("--allow-empty-catalog", action="store_true",
                       help="let --repair collect from a catalog that never held a version (refused by default: "
                            "beside a non-empty store it is almost always a mistyped catalog location)")
    check.add_argument("--forget-catalog", metavar="ID",
                       help="forget another catalog recorded as sharing the artifact store (one that is gone for "
                            "good), so collection no longer waits for it")
    check.add_argument("--grace-seconds", type=float, default=60.0,
                       help="files younger than this may belong to a write in progress (default: 60)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
    print(f"Registry at {session.home}")
    for line in report.repaired:
        print(f"repaired: {line}")
    for line in report.problems:
        print(f"problem: {line}")
    if report.reclaimable:
        print(f"reclaimable: {report.reclaimable}. Not damage; free the space with: python -m jupyter_mreg check "
              f"--repair {_location_args(args)}".rstrip() + ".")
    print("OK: nothing wrong." if report.ok else f"{len(report.problems)} problem(s) remain.")
    return 0 if report.ok else 1


def _location_args(args: argparse.Namespace) -> str:
    """The options that name the registry, as given: the repair command must point at the same one."""
    given = [(f"--{name.replace('_', '-')}", getattr(args, name)) for name in ("home", "catalog_url", "artifacts_url")]
    return " ".join(f"{flag} {shlex.quote(value)}" for flag, value in given if value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
