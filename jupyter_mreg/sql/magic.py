"""`%%mreg` / `%mreg`: Snowflake model SQL in a notebook cell, a thin IPython layer over `jupyter_mreg.sql.execute`.

    %load_ext jupyter_mreg

    %%mreg
    SELECT id, MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS churn FROM new_customers

    df = %mreg SELECT * FROM new_customers WHERE region = :region
    %%mreg scores << SELECT ...          (or `%%mreg -o scores`: bind the result, show nothing)
    %%mreg -s my_session                 (a Session variable; default Session.builder.getOrCreate())

    %config MregMagic.displaylimit = 20  (rows shown; the whole result is kept)
    %config MregMagic.autolimit = 1000   (at most this many rows per query; 0: no limit)
    %config MregMagic.short_errors = False  (full tracebacks instead of the short message)

    %%mreg --allow-file-access           (this cell may read files and URLs: read_csv('data.csv'), ...)
    %config MregMagic.allow_file_access = True  (every cell may; off by default)
    %config MregMagic.max_cell_chars = 1000000  (longer cells are refused, unparsed)
    %config MregMagic.max_nesting_depth = 256   (deeper parentheses are refused, unparsed)

The tables are the notebook's pandas DataFrames. `{{name}}` (Jinja, sandboxed) inserts a Python value as a
SQL literal quoted by its type (`'EU'`, `42`, `(1, 2)` for IN), `{{name | ident}}` a checked name (a table,
model or version), `{{name | sqlsafe}}` SQL text as it is (only text the notebook built itself); `:name`
binds a value. IPython's `$name` and `{name}` are not expanded: they mean what SQL says.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, needs_local_scope, no_var_expand
from traitlets import Bool, Int

from jupyter_mreg.errors import MregError
from jupyter_mreg.registry.session import Session
from jupyter_mreg.sql import execute
from jupyter_mreg.sql.errors import SqlError
from jupyter_mreg.sql.limits import MAX_CELL_CHARS, MAX_NESTING_DEPTH

_OPTION = re.compile(r"\s*(?P<flag>-o|--out|-s|--session)(?:\s*=\s*|\s+)(?P<value>[^\s;]+)")
_SWITCH = re.compile(r"\s*(?P<flag>--allow-file-access)(?=\s|$)")
_UNKNOWN = re.compile(r"\s*(?P<flag>-\w\S*|--\w\S*)")  # `-- text` (a space after --) is a SQL comment
_BIND = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s*<<")
_FLAGS = {"-o": "out", "--out": "out", "-s": "session", "--session": "session",
          "--allow-file-access": "allow_file_access"}


@magics_class
class MregMagic(Magics):
    """Runs `%%mreg` cells and `%mreg` lines through `jupyter_mreg.sql.execute`."""

    displaylimit = Int(10, allow_none=True, help=(
        "Rows of a result shown under the cell; the whole DataFrame is still returned (in `_`, `Out`, or the "
        "variable it is assigned to). 0 or None shows every row.")).tag(config=True)
    autolimit = Int(0, allow_none=True, help=(
        "Return at most this many rows from a query (a LIMIT on the outermost SELECT, so the model scores no "
        "more rows than needed). 0 or None: no limit.")).tag(config=True)
    short_errors = Bool(True, help=(
        "Show a mistake in the SQL as a short message pointing at its line and column, without a traceback. "
        "False shows the full traceback.")).tag(config=True)
    allow_file_access = Bool(False, help=(
        "Let every cell's queries read files and URLs (DuckDB's read_csv('...'), FROM 'x.parquet', ...). Off by "
        "default: queries read only the notebook's DataFrames. `%%mreg --allow-file-access` allows it for one "
        "cell.")).tag(config=True)
    max_cell_chars = Int(MAX_CELL_CHARS, help=(
        "Refuse a cell longer than this many characters (also once its {{...}} values are filled in) before "
        "parsing it: the parser's time and memory grow with the cell (a 1 MB IN list takes seconds and "
        "hundreds of MB). Put long lists of values in a DataFrame instead.")).tag(config=True)
    max_nesting_depth = Int(MAX_NESTING_DEPTH, help=(
        "Refuse a statement whose parentheses, brackets or braces nest deeper than this, before parsing it "
        "(the parser recurses once per level).")).tag(config=True)

    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def mreg(self, line: str = "", cell: str | None = None, local_ns: dict | None = None) -> Any:
        """Run Snowflake model SQL over the notebook's DataFrames; return the last statement's result.

        Usage:
          %%mreg [-o NAME | NAME <<] [-s SESSION] [--allow-file-access]
          SELECT id, CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS churn FROM new_customers

          df = %mreg SELECT ...

        Options:
          -o NAME, --out NAME   store the result in the variable NAME instead of showing it (same as
                                `NAME << SELECT ...`)
          -s NAME, --session NAME
                                the `jupyter_mreg.Session` variable to use (default:
                                Session.builder.getOrCreate(), the registry in $MREG_HOME)
          --allow-file-access   let this cell's queries read files and URLs (read_csv('data.csv'),
                                FROM 'x.parquet'); off by default, so queries read only the notebook's
                                DataFrames (`%config MregMagic.allow_file_access = True`: every cell)

        Several statements separated by `;` run in order; the last one's result is returned. Queries
        return a pandas DataFrame (displayed up to `%config MregMagic.displaylimit` rows); SHOW commands
        return their table, other commands (ALTER, DROP, USE) Snowflake's one-row status.
        """
        options, sql, start = parse_line(line)
        pad = ""
        if cell is not None:
            # Line and column numbers in errors match the cell's: the first line is `%%mreg ...`, blanked.
            pad = " " * (len("%%mreg ") + start) if sql.strip() else ""
            sql = f"{pad}{sql}\n{cell}"
        user_ns = self.shell.user_ns
        namespace = user_ns if local_ns is None or local_ns is user_ns else {**user_ns, **local_ns}
        session = self._session(options.get("session"), namespace)
        try:
            result = execute(sql, namespace, session=session, limit=self.autolimit or None,
                             allow_file_access=self.allow_file_access or "allow_file_access" in options,
                             max_cell_chars=self.max_cell_chars, max_nesting_depth=self.max_nesting_depth)
        except MregError as exc:
            if not self.short_errors:
                raise
            if isinstance(exc, SqlError):
                if pad and exc.sql and exc.sql.startswith(pad):  # show the magic's line as written
                    exc.sql = f"%%mreg {line[:start]}{exc.sql[len(pad):]}"
                raise UsageError(exc.render()) from None
            raise UsageError(str(exc)) from None
        if options.get("out"):
            user_ns[options["out"]] = result
            return None
        if result is not None:
            limit_display(self.shell, result, self.displaylimit)
        return result

    @staticmethod
    def _session(name: str | None, namespace: dict) -> Any:
        if name is None:
            return None
        if name not in namespace:
            raise UsageError(f"-s {name}: the notebook has no variable {name}. Create one first, e.g. "
                             f'{name} = Session.builder.configs({{"home": "..."}}).create()')
        value = namespace[name]
        if not isinstance(value, Session):
            raise UsageError(f"-s {name}: {name} is a {type(value).__name__}, not a jupyter_mreg Session.")
        return value


def parse_line(line: str) -> tuple[dict[str, str], str, int]:
    """The options at the start of a magic's line, the SQL after them, and where that SQL starts in `line`.

    `-o NAME` / `--out NAME` / `NAME <<` give "out", `-s NAME` / `--session NAME` give "session",
    `--allow-file-access` gives "allow_file_access" (with the value ""); the rest of the line is SQL, left as
    written (no shell-style splitting, so quotes in SQL are untouched).
    """
    options: dict[str, str] = {}
    rest = line
    while True:
        found = _OPTION.match(rest) or _SWITCH.match(rest)
        if not found:
            break
        options[_FLAGS[found.group("flag")]] = found.groupdict().get("value") or ""
        rest = rest[found.end():]
    bind = _BIND.match(rest)
    if bind:
        if "out" in options:
            raise UsageError(f"Give the result one name: -o {options['out']} or {bind.group('name')} <<, not both.")
        options["out"] = bind.group("name")
        rest = rest[bind.end():]
    unknown = _UNKNOWN.match(rest)
    if unknown:
        flag = unknown.group("flag")
        raise UsageError(f"%mreg has no option {flag}: it takes -o/--out NAME (or NAME << before the SQL), "
                         "-s/--session NAME and --allow-file-access.")
    for key in ("out", "session"):
        if key in options and not options[key].isidentifier():
            raise UsageError(f"--{key} {options[key]}: expected a Python variable name.")
    sql = rest.lstrip()  # trailing blanks stay, so offsets in the cell below are unchanged
    return options, sql, len(line) - len(sql)


def limit_display(shell: Any, result: Any, limit: int | None) -> None:
    """Make `result` (a DataFrame longer than `limit`) display its first `limit` rows and a note, in
    HTML and in text, wherever IPython displays it: the object itself is untouched and whole."""
    import pandas as pd

    if not isinstance(result, pd.DataFrame) or not limit or len(result) <= limit:
        return
    formatters = shell.display_formatter.formatters
    key = id(result)

    def note(total: int) -> str:
        return (f"showing {limit:,} of {total:,} rows (the result holds them all; "
                "%config MregMagic.displaylimit = N shows more)")

    def html(obj: pd.DataFrame) -> str | None:
        if len(obj) <= limit:
            return obj._repr_html_()
        with pd.option_context("display.max_rows", limit + 1):
            table = obj.head(limit)._repr_html_()
        return None if table is None else f"{table}\n<p>{note(len(obj))}</p>"

    def text(obj: pd.DataFrame, p: Any, cycle: bool) -> None:
        if len(obj) <= limit:
            p.text(repr(obj))
            return
        with pd.option_context("display.max_rows", limit + 1):
            p.text(f"{obj.head(limit)!r}\n{note(len(obj))}")

    # IPython looks printers up by the object's id before its type, so only this frame is affected; the
    # entry goes when the frame does (ids are reused after that).
    printers = {"text/html": html, "text/plain": text}
    for mime, printer in printers.items():
        if mime in formatters:
            formatters[mime].singleton_printers[key] = printer
    weakref.finalize(result, _forget, [formatters[m] for m in printers if m in formatters], key)


def _forget(formatters: list, key: int) -> None:
    for formatter in formatters:
        formatter.singleton_printers.pop(key, None)
