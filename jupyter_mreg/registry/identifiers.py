"""Snowflake identifier rules for database, schema, model, version, alias and tag names.

An unquoted name folds to upper case (`customer_churn` is `CUSTOMER_CHURN`); a `"quoted"` name keeps its
case and may hold any character (`""` is a literal quote). Names are kept in *identifier form*: the
upper-case bare name when that reads back the same, otherwise the quoted text. Two spellings that mean
the same object therefore have the same identifier form, and a lookup is an exact match.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from jupyter_mreg.errors import InvalidIdentifierError

_UNQUOTED = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_MAX_LENGTH = 255


def _invalid(name: object, what: str, problem: str) -> InvalidIdentifierError:
    return InvalidIdentifierError(
        f"{what} {name!r} is not a valid identifier: {problem}. Use letters, digits, '_' and '$', starting "
        'with a letter or "_" (it is folded to upper case), or put the name in double quotes to keep its '
        'case and use any character, e.g. \'"my model"\'.'
    )


def parse_identifier(name: object, what: str = "Name") -> str:
    """The identifier form of one name (`abc` → `ABC`, `"abc"` → `"abc"`, `"ABC"` → `ABC`)."""
    if not isinstance(name, str):
        raise _invalid(name, what, f"expected a string, found {type(name).__name__}")
    text = name.strip()
    if not text:
        raise _invalid(name, what, "it is empty")
    if text.startswith('"'):
        if len(text) < 3 or not text.endswith('"'):
            raise _invalid(name, what, "a quoted name needs a closing double quote and at least one character")
        inner = text[1:-1]
        if '"' in inner.replace('""', ""):
            raise _invalid(name, what, 'a double quote inside a quoted name must be doubled ("")')
        return to_identifier(inner.replace('""', '"'), what)
    if not _UNQUOTED.match(text):
        raise _invalid(name, what, "it has characters that need double quotes")
    if len(text) > _MAX_LENGTH:
        raise _invalid(name, what, f"it is longer than {_MAX_LENGTH} characters")
    return text.upper()


def to_identifier(resolved: str, what: str = "Name") -> str:
    """The identifier form of an already resolved (case-exact) name."""
    if len(resolved) > _MAX_LENGTH:
        raise _invalid(resolved, what, f"it is longer than {_MAX_LENGTH} characters")
    if "\x00" in resolved:
        raise _invalid(resolved, what, "it contains a NUL character")
    if _UNQUOTED.match(resolved) and resolved == resolved.upper():
        return resolved
    return '"' + resolved.replace('"', '""') + '"'


def resolved(identifier: str) -> str:
    """The case-exact name an identifier form stands for (`"abc"` → `abc`, `ABC` → `ABC`)."""
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier


def split_parts(name: object, what: str = "Name") -> list[str]:
    """Split `a.b."c.d"` on the dots that are outside quotes; each part in identifier form."""
    if not isinstance(name, str):
        raise _invalid(name, what, f"expected a string, found {type(name).__name__}")
    parts, current, quoted = [], [], False
    for ch in name:
        if ch == '"':
            quoted = not quoted
        if ch == "." and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    if quoted:
        raise _invalid(name, what, "a double quote is not closed")
    if len(parts) > 1 and not all(p.strip() for p in parts):
        raise _invalid(name, what, "one of its dot-separated parts is empty")
    return [parse_identifier(p, what) for p in parts]


class QualifiedName(NamedTuple):
    """`DATABASE.SCHEMA.NAME`, every part in identifier form."""

    database: str
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"


def parse_qualified(name: object, database: str, schema: str, what: str = "Model name") -> QualifiedName:
    """Parse `NAME`, `SCHEMA.NAME` or `DB.SCHEMA.NAME`; missing parts come from `database`/`schema`."""
    parts = split_parts(name, what)
    if len(parts) == 1:
        return QualifiedName(database, schema, parts[0])
    if len(parts) == 2:
        return QualifiedName(database, parts[0], parts[1])
    if len(parts) == 3:
        return QualifiedName(*parts)
    raise _invalid(name, what, f"expected NAME, SCHEMA.NAME or DATABASE.SCHEMA.NAME, found {len(parts)} parts")
