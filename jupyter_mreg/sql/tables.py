"""The tables a query reads: pandas DataFrames (or Arrow tables) of the namespace, found by name.

Names match exactly first, then case-insensitively (`FROM NEW_CUSTOMERS` finds `new_customers`). Each
DataFrame is registered with DuckDB under an internal name (a view over the DataFrame: no copy), and the
query's table node is renamed to it, keeping the user's name as the alias so `new_customers.id` still reads.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from jupyter_mreg.sql.dialect import position
from jupyter_mreg.sql.errors import SqlError
from jupyter_mreg.sql.templating import STRING_FOR_NAME


def is_table(value: Any) -> bool:
    """A value a query can read as a table."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return True
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return False
    return isinstance(value, pa.Table)


def table_names(namespace: dict) -> list[str]:
    """The namespace's tables, as a message lists them (IPython's `_`, `_1`... left out)."""
    return sorted(k for k, v in namespace.items() if isinstance(k, str) and not k.startswith("_") and is_table(v))


def cte_names(tree: exp.Expression) -> set[str]:
    """Upper-cased names of the (non-model) CTEs anywhere in the tree."""
    return {cte.alias_or_name.upper() for cte in tree.find_all(exp.CTE)}


def find(namespace: dict, name: str, quoted: bool) -> tuple[str, Any] | None:
    """(key, value) of the namespace table `name` refers to, or None."""
    value = namespace.get(name)
    if is_table(value):
        return name, value
    matches = [k for k, v in namespace.items() if isinstance(k, str) and k.upper() == name.upper() and is_table(v)]
    if len(matches) == 1:
        return matches[0], namespace[matches[0]]
    if len(matches) > 1 and not quoted:
        exact_upper = [k for k in matches if k == name.upper()]
        if exact_upper:
            return exact_upper[0], namespace[exact_upper[0]]
    return None


def bind_tables(tree: exp.Expression, namespace: dict, statement: str,
                register: Callable[[Any, str], str]) -> dict[str, str]:
    """Rename every table node that is not a CTE to the internal name `register(value, shown_name)` gives.

    Returns {internal name: shown name}. A name that is no table of the namespace is a `SqlError` at that
    name, listing the tables that exist.
    """
    ctes = cte_names(tree)
    shown: dict[str, str] = {}
    by_id: dict[int, str] = {}
    for table in list(tree.find_all(exp.Table)):
        if isinstance(table.this, exp.Literal) and table.this.is_string and find(namespace, table.name, True):
            raise SqlError(f"Expected a DataFrame's name, found '{table.name}' (a string, which DuckDB reads as a "
                           f"file path): write {table.name} without quotes.{STRING_FOR_NAME}", sql=statement,
                           position=position(table))
        if not isinstance(table.this, exp.Identifier):
            continue  # table functions and the like
        if table.args.get("db") is None and table.name.upper() in ctes:
            continue
        identifier = table.this
        if table.args.get("db") is not None:
            raise SqlError(
                f"{table.sql(dialect='snowflake')} is a database table; %%mreg queries read the notebook's "
                f"DataFrames, named without database or schema. DataFrames: {_listing(namespace)}.",
                sql=statement, position=position(table))
        found = find(namespace, identifier.this, identifier.quoted)
        if found is None:
            names = table_names(namespace)
            close = difflib.get_close_matches(identifier.this, names, n=1, cutoff=0.6) or [
                n for n in names if n.upper() in difflib.get_close_matches(identifier.this.upper(),
                                                                              [m.upper() for m in names], n=1)]
            hint = f" Did you mean {close[0]}?" if close else ""
            raise SqlError(f"There is no DataFrame named {identifier.this} in the namespace.{hint} DataFrames: "
                           f"{_listing(namespace)}.", sql=statement, position=position(table))
        key, value = found
        internal = by_id.get(id(value))
        if internal is None:
            internal = register(value, key)
            by_id[id(value)] = internal
            shown[internal] = key
        if table.args.get("alias") is None:
            table.set("alias", exp.TableAlias(this=identifier.copy()))
        table.set("this", exp.to_identifier(internal))
    return shown


def _listing(namespace: dict) -> str:
    names = table_names(namespace)
    if not names:
        return "(none: create a pandas DataFrame in the notebook first)"
    return ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
