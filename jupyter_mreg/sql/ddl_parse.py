"""The grammar of the model DDL/DCL a `%%mreg` cell accepts, as a small recursive-descent parser over sqlglot's
Snowflake tokens (sqlglot parses these statements only as opaque `Command`s, and its `Use` node accepts
`USE DATABASE a b` and three-part schema names, so the grammar is ours; the tokens, with their positions,
are sqlglot's).

`parse(statement, params)` returns one of the statement dataclasses below. Every name is kept in Snowflake
identifier form (`churn` → `CHURN`, `"churn"` → `"churn"`) with the character offset where it was written,
so the executor can point at it. A mistake raises `SqlError` at the offending token, saying what was
expected and what was found: `Expected TO after RENAME, found 'INTO'`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_mreg.errors import InvalidIdentifierError
from jupyter_mreg.registry.identifiers import parse_identifier, split_parts, to_identifier
from jupyter_mreg.sql.errors import SqlError
from jupyter_mreg.sql.templating import STRING_FOR_NAME

# Snowflake's reserved words: unquoted, they cannot name an object ("SET" in `ALTER MODEL SET ...` is a
# missing name, not a model called SET).
RESERVED = frozenset({
    "ALL", "ALTER", "AND", "ANY", "AS", "BETWEEN", "BY", "CASE", "CAST", "CHECK", "COLUMN", "CONNECT", "CONSTRAINT",
    "CREATE", "CROSS", "CURRENT", "DELETE", "DISTINCT", "DROP", "ELSE", "EXISTS", "FALSE", "FOLLOWING", "FOR",
    "FROM", "FULL", "GRANT", "GROUP", "HAVING", "ILIKE", "IN", "INCREMENT", "INNER", "INSERT", "INTERSECT", "INTO",
    "IS", "JOIN", "LATERAL", "LEFT", "LIKE", "MINUS", "NATURAL", "NOT", "NULL", "OF", "ON", "OR", "ORDER",
    "QUALIFY", "REGEXP", "REVOKE", "RIGHT", "RLIKE", "ROW", "ROWS", "SAMPLE", "SELECT", "SET", "SOME", "START",
    "TABLE", "TABLESAMPLE", "THEN", "TO", "TRIGGER", "TRUE", "TRY_CAST", "UNION", "UNIQUE", "UPDATE", "USING",
    "VALUES", "WHEN", "WHENEVER", "WHERE", "WITH"
})

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")


# --- the parts of a statement -------------------------------------------------------------------------
@dataclass(frozen=True)
class Name:
    """A possibly qualified name: `parts` in identifier form, `start` = offset of its first character."""

    parts: tuple[str, ...]
    start: int

    def __str__(self) -> str:
        return ".".join(self.parts)

    @property
    def last(self) -> str:
        return self.parts[-1]


@dataclass(frozen=True)
class Value:
    """A string literal (`'...'`, `$$...$$`) or a bound value (`:name`), and where it was written."""

    value: Any
    start: int


# --- statements ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    start: int = field(default=0, kw_only=True)


@dataclass(frozen=True)
class ShowModels(Statement):
    like: Value | None
    scope: str | None  # None (current database), "ACCOUNT", "DATABASE", "SCHEMA"
    scope_name: Name | None
    scope_start: int = 0


@dataclass(frozen=True)
class ShowVersions(Statement):
    like: Value | None
    model: Name


@dataclass(frozen=True)
class ShowFunctions(Statement):
    like: Value | None
    model: Name
    version: Name | None


@dataclass(frozen=True)
class DescribeModel(Statement):
    model: Name


@dataclass(frozen=True)
class AlterModel(Statement):
    """Base of every `ALTER MODEL [IF EXISTS] m ...` form."""

    model: Name
    if_exists: bool


@dataclass(frozen=True)
class SetModelProperties(AlterModel):
    comment: Value | None
    default_version: Name | None


@dataclass(frozen=True)
class UnsetModelComment(AlterModel):
    pass


@dataclass(frozen=True)
class SetTags(AlterModel):
    tags: tuple[tuple[Name, Value], ...]


@dataclass(frozen=True)
class UnsetTags(AlterModel):
    tags: tuple[Name, ...]


@dataclass(frozen=True)
class SetAlias(AlterModel):
    version: Name
    alias: Name


@dataclass(frozen=True)
class UnsetAlias(AlterModel):
    version_or_alias: Name


@dataclass(frozen=True)
class ModifyVersion(AlterModel):
    version: Name
    comment: Value | None = None
    metadata: Value | None = None
    unset: tuple[str, ...] = ()  # "COMMENT" / "METADATA"


@dataclass(frozen=True)
class RenameModel(AlterModel):
    new_name: Name


@dataclass(frozen=True)
class DropVersion(AlterModel):
    version: Name


@dataclass(frozen=True)
class AddVersion(AlterModel):
    version: Name
    source: Name
    source_version: Name | None


@dataclass(frozen=True)
class DropModel(Statement):
    model: Name
    if_exists: bool


@dataclass(frozen=True)
class CreateModel(Statement):
    model: Name
    or_replace: bool
    if_not_exists: bool
    version: Name | None
    source: Name
    source_version: Name | None


@dataclass(frozen=True)
class Use(Statement):
    kind: str  # DATABASE, SCHEMA, ROLE, WAREHOUSE
    name: Name


@dataclass(frozen=True)
class Grant(Statement):
    """`GRANT`/`REVOKE` privileges `ON` an object `TO`/`FROM ROLE`; `on` is MODEL, SCHEMA, DATABASE (for
    `ALL MODELS IN ...`/`FUTURE MODELS IN ...`, with `models` = "ALL"/"FUTURE")."""

    revoke: bool
    privileges: tuple[str, ...]
    on: str
    target: Name
    role: Name
    models: str | None = None


# --- tokens -------------------------------------------------------------------------------------------
class Cursor:
    """sqlglot's tokens of one statement, read left to right, with the error messages of this grammar."""

    def __init__(self, sql: str, params: dict | None = None) -> None:
        from sqlglot.dialects.snowflake import Snowflake
        from sqlglot.errors import TokenError

        self.sql = sql
        self.params = params or {}
        try:
            tokens = Snowflake().tokenize(sql)
        except TokenError as exc:
            raise SqlError(f"The statement cannot be read: {exc}.", sql=sql, position=getattr(exc, "start", None)
                           ) from None
        from sqlglot.tokens import TokenType

        self._types = TokenType
        while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
            tokens.pop()
        self.tokens = tokens
        self.i = 0
        self._name_ended: tuple[int, str] | None = None  # (token index after a name, "the model name")

    # reading
    def peek(self, ahead: int = 0):
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self):
        token = self.peek()
        self.i += 1
        return token

    def is_word(self, token, *words: str) -> bool:
        """`token` is an unquoted word (any of `words` if given)."""
        if token is None or token.token_type in self._literal_types():
            return False
        text = token.text
        return bool(_WORD.match(text)) and (not words or text.upper() in words)

    def _literal_types(self):
        t = self._types
        return (t.IDENTIFIER, t.STRING, t.RAW_STRING, t.NATIONAL_STRING, t.NUMBER)

    def at(self, *words: str, ahead: int = 0) -> bool:
        return self.is_word(self.peek(ahead), *words)

    def accept(self, *words: str):
        """Consume the next token if it is one of `words`; return it (else None)."""
        if self.at(*words):
            return self.next()
        return None

    def accept_all(self, *words: str) -> bool:
        """Consume `words` in sequence if all of them come next."""
        if all(self.at(w, ahead=k) for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def expect(self, *words: str, after: str | None = None):
        token = self.accept(*words)
        if token is None:
            self.fail(_one_of(words), after=after)
        return token

    def expect_symbol(self, kind: str, text: str, after: str | None = None):
        token = self.peek()
        if token is None or token.token_type != getattr(self._types, kind):
            self.fail(text, after=after)
        return self.next()

    def end(self, after: str | None = None) -> None:
        if self.peek() is not None:
            self.fail("end of statement", after=after)

    # errors
    def found(self) -> str:
        token = self.peek()
        if token is None:
            return "end of statement"
        text = self.sql[token.start:token.end + 1]
        return repr(text if len(text) <= 40 else text[:37] + "...")

    def position(self) -> int:
        token = self.peek()
        return token.start if token is not None else len(self.sql.rstrip())

    def previous(self) -> str:
        if self.i == 0:
            return "the start"
        if self._name_ended is not None and self._name_ended[0] == self.i:
            return self._name_ended[1]
        token = self.tokens[self.i - 1]
        return token.text.upper() if self.is_word(token) else repr(self.sql[token.start:token.end + 1])

    def fail(self, expected: str, *, after: str | None = None, hint: str = ""):
        raise SqlError(f"Expected {expected} after {after or self.previous()}, found {self.found()}.{hint}",
                       sql=self.sql, position=self.position())

    def error(self, message: str, position: int):
        return SqlError(message, sql=self.sql, position=position)

    # names and values
    def name(self, what: str, *, max_parts: int = 1, after: str | None = None) -> Name:
        """`NAME`, `A.NAME`, `A.B.NAME` (up to `max_parts`), quoted parts kept exact, or `IDENTIFIER('...')`
        / `IDENTIFIER(:var)` as Snowflake allows."""
        first = self.peek()
        if self.at("IDENTIFIER") and self.peek(1) is not None and self.peek(1).token_type == self._types.L_PAREN:
            return self._identifier_function(what, max_parts)
        parts = [self._part(what, after)]
        while self.peek() is not None and self.peek().token_type == self._types.DOT:
            self.next()
            parts.append(self._part(what, "'.'"))
        if len(parts) > max_parts:
            raise self.error(f"{_capital(what)} {'.'.join(parts)} has {len(parts)} parts; expected "
                             f"{_forms(max_parts)}.", first.start)
        self._name_ended = (self.i, "the " + re.sub(r"^(a|an|the) ", "", what))
        return Name(tuple(parts), first.start)

    def _part(self, what: str, after: str | None) -> str:
        token = self.peek()
        if token is not None and token.token_type == self._types.IDENTIFIER:
            self.next()
            try:
                return to_identifier(token.text, _capital(what))
            except InvalidIdentifierError as exc:
                raise self.error(str(exc), token.start) from None
        if token is not None and token.token_type in (self._types.STRING, self._types.RAW_STRING):
            self.fail(what, after=after, hint=STRING_FOR_NAME)
        if not self.is_word(token):
            self.fail(what, after=after)
        if token.text.upper() in RESERVED:
            self.fail(what, after=after, hint=f" {token.text.upper()} is a reserved word: write it in double "
                                              f"quotes to use it as a name.")
        self.next()
        try:
            return parse_identifier(token.text, _capital(what))
        except InvalidIdentifierError as exc:
            raise self.error(str(exc), token.start) from None

    def _identifier_function(self, what: str, max_parts: int) -> Name:
        start = self.next().start
        self.next()  # (
        value = self.value(f"the {what} as a string", after="IDENTIFIER(")
        self.expect_symbol("R_PAREN", "')'")
        self._name_ended = (self.i, "the " + re.sub(r"^(a|an|the) ", "", what))
        if not isinstance(value.value, str):
            raise self.error(f"IDENTIFIER(...) needs a string naming the {what}, found "
                             f"{type(value.value).__name__}.", value.start)
        try:
            parts = split_parts(value.value, _capital(what))
        except InvalidIdentifierError as exc:
            raise self.error(str(exc), value.start) from None
        if len(parts) > max_parts:
            raise self.error(f"{_capital(what)} {value.value!r} has {len(parts)} parts; expected "
                             f"{_forms(max_parts)}.", value.start)
        return Name(tuple(parts), start)

    def value(self, what: str = "a string", *, after: str | None = None) -> Value:
        """A string literal, or `:name` bound to a value of the cell's namespace / params."""
        token = self.peek()
        t = self._types
        if token is not None and token.token_type in (t.STRING, t.RAW_STRING, t.NATIONAL_STRING):
            self.next()
            return Value(token.text, token.start)
        if token is not None and token.token_type == t.COLON and self.is_word(self.peek(1)) \
                and self.peek(1).start == token.end + 1:
            self.i += 2
            key = self.tokens[self.i - 1].text
            if key not in self.params:
                close = _close(key, [k for k in self.params if isinstance(k, str) and not k.startswith("_")])
                raise self.error(f"The bind variable :{key} is not defined in the notebook.{close}", token.start)
            return Value(self.params[key], token.start)
        self.fail(what, after=after)

    def equals(self, after: str | None = None) -> None:
        self.expect_symbol("EQ", "'='", after=after)


def _one_of(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _capital(what: str) -> str:
    return what[:1].upper() + what[1:]


def _forms(max_parts: int) -> str:
    return {1: "one name", 2: "NAME or DATABASE.NAME",
            3: "NAME, SCHEMA.NAME or DATABASE.SCHEMA.NAME"}[max_parts]


def _close(name: str, candidates: list[str]) -> str:
    import difflib

    found = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(':' + c for c in found)}?" if found else ""


# --- the grammar --------------------------------------------------------------------------------------
MODEL = "a model name"
VERSION = "a version name"


def parse(sql: str, params: dict | None = None) -> Statement:
    """Parse one DDL/DCL statement (no trailing semicolon needed)."""
    cur = Cursor(sql, params)
    first = cur.peek()
    if first is None:
        raise SqlError("The statement is empty.", sql=sql, position=0)
    verb = first.text.upper() if cur.is_word(first) else ""
    parser = STATEMENTS.get(verb)
    if parser is None:
        cur.fail(_one_of(tuple(STATEMENTS)), after="the start")
    cur.next()
    statement = parser(cur)
    cur.end()
    return _placed(statement, first.start)


def _placed(statement: Statement, start: int) -> Statement:
    object.__setattr__(statement, "start", start)
    return statement


def _like(cur: Cursor) -> Value | None:
    if cur.accept("LIKE"):
        return cur.value("a pattern string", after="LIKE")
    return None


def _unsupported(cur: Cursor, verb: str, supported: str):
    token = cur.peek()
    what = f"{verb} {token.text.upper()}" if cur.is_word(token) else verb
    raise cur.error(f"{what} is not supported in %%mreg: it runs {supported}.", cur.position())


def parse_show(cur: Cursor) -> Statement:
    cur.accept("TERSE")  # the same columns either way here
    if cur.accept("MODELS"):
        like = _like(cur)
        scope, scope_name, scope_start = None, None, 0
        if cur.accept("IN"):
            kind = cur.expect("ACCOUNT", "DATABASE", "SCHEMA", after="IN")
            scope, scope_start = kind.text.upper(), kind.start
            if scope != "ACCOUNT" and cur.peek() is not None:
                scope_name = cur.name(f"a {scope.lower()} name", max_parts=1 if scope == "DATABASE" else 2)
        return ShowModels(like, scope, scope_name, scope_start)
    if cur.accept("VERSIONS"):
        like = _like(cur)
        cur.expect("IN", after="SHOW VERSIONS" if like is None else None)
        cur.expect("MODEL", after="IN")
        return ShowVersions(like, cur.name(MODEL, max_parts=3, after="MODEL"))
    if cur.accept("FUNCTIONS"):
        like = _like(cur)
        cur.expect("IN", after="SHOW FUNCTIONS" if like is None else None)
        cur.expect("MODEL", after="IN")
        model = cur.name(MODEL, max_parts=3, after="MODEL")
        version = cur.name("a version name or alias", after="VERSION") if cur.accept("VERSION") else None
        return ShowFunctions(like, model, version)
    if cur.at("MODEL") and cur.at("MONITORS", ahead=1):
        raise cur.error("SHOW MODEL MONITORS is not supported in %%mreg yet: model monitors are a later feature.",
                        cur.position())
    if cur.is_word(cur.peek()):
        _unsupported(cur, "SHOW", "SHOW MODELS, SHOW VERSIONS IN MODEL and SHOW FUNCTIONS IN MODEL")
    cur.fail("MODELS, VERSIONS or FUNCTIONS", after="SHOW")


def parse_describe(cur: Cursor) -> Statement:
    if cur.is_word(cur.peek()) and not cur.at("MODEL"):
        _unsupported(cur, "DESCRIBE", "DESCRIBE MODEL")
    cur.expect("MODEL")
    if cur.at("MONITOR") and cur.peek(1) is not None:
        raise cur.error("DESCRIBE MODEL MONITOR is not supported in %%mreg yet: model monitors are a later "
                        "feature.", cur.position())
    return DescribeModel(cur.name(MODEL, max_parts=3, after="MODEL"))


def parse_alter(cur: Cursor) -> Statement:
    if not cur.at("MODEL"):
        if cur.is_word(cur.peek()):
            _unsupported(cur, "ALTER", "ALTER MODEL")
        cur.expect("MODEL")
    cur.next()
    if_exists = cur.accept_all("IF", "EXISTS")
    model = cur.name(MODEL, max_parts=3, after="MODEL" if not if_exists else "EXISTS")
    action = cur.peek()
    handler = ALTER_ACTIONS.get(action.text.upper()) if cur.is_word(action) else None
    if handler is None:
        cur.fail(_one_of(tuple(ALTER_ACTIONS)), after="the model name")
    cur.next()
    return handler(cur, model, if_exists)


def _alter_set(cur: Cursor, model: Name, if_exists: bool) -> Statement:
    if cur.accept("TAG"):
        tags = []
        while True:
            tag = cur.name("a tag name", max_parts=3)
            cur.equals()
            tags.append((tag, cur.value("a tag value string", after="=")))
            if not _comma(cur):
                break
        return SetTags(model, if_exists, tuple(tags))
    comment = default = None
    seen = False
    while cur.at("COMMENT", "DEFAULT_VERSION"):
        prop = cur.next().text.upper()
        cur.equals(after=prop)
        if prop == "COMMENT":
            comment = cur.value("a comment string", after="=")
        else:
            default = _name_or_string(cur, VERSION)
        seen = True
        _comma(cur)
    if not seen:
        cur.fail("COMMENT, DEFAULT_VERSION or TAG", after="SET")
    return SetModelProperties(model, if_exists, comment, default)


def _alter_unset(cur: Cursor, model: Name, if_exists: bool) -> Statement:
    if cur.accept("TAG"):
        tags = [cur.name("a tag name", max_parts=3, after="TAG")]
        while _comma(cur):
            tags.append(cur.name("a tag name", max_parts=3))
        return UnsetTags(model, if_exists, tuple(tags))
    cur.expect("COMMENT", "TAG", after="UNSET")
    return UnsetModelComment(model, if_exists)


def _alter_version(cur: Cursor, model: Name, if_exists: bool) -> Statement:
    version = cur.name("a version name or alias", after="VERSION")
    action = cur.expect("SET", "UNSET", after="the version name").text.upper()
    cur.expect("ALIAS", after=action)
    if action == "UNSET":
        return UnsetAlias(model, if_exists, version)
    cur.equals(after="ALIAS")
    return SetAlias(model, if_exists, version, _name_or_string(cur, "an alias name"))


def _alter_modify(cur: Cursor, model: Name, if_exists: bool) -> Statement:
    cur.expect("VERSION", after="MODIFY")
    version = cur.name("a version name or alias", after="VERSION")
    action = cur.expect("SET", "UNSET", after="the version name").text.upper()
    if action == "UNSET":
        props = [cur.expect("COMMENT", "METADATA", after="UNSET").text.upper()]
        while _comma(cur):
            props.append(cur.expect("COMMENT", "METADATA").text.upper())
        return ModifyVersion(model, if_exists, version, unset=tuple(props))
    values: dict[str, Value] = {}
    while cur.at("COMMENT", "METADATA"):
        prop = cur.next().text.upper()
        cur.equals(after=prop)
        values[prop.lower()] = cur.value("a comment string" if prop == "COMMENT" else "a JSON string", after="=")
        _comma(cur)
    if not values:
        cur.fail("COMMENT or METADATA", after="SET")
    return ModifyVersion(model, if_exists, version, **values)


def _alter_rename(cur: Cursor, model: Name, if_exists: bool) -> Statement:
    cur.expect("TO", after="RENAME")
    return RenameModel(model, if_exists, cur.name("the new model name", max_parts=3, after="TO"))


def _alter_drop(cur: Cursor, model: Name, if_exists: bool) -> Statement:
    cur.expect("VERSION", after="DROP")
    return DropVersion(model, if_exists, cur.name(VERSION, after="VERSION"))


def _alter_add(cur: Cursor, model: Name, if_exists: bool) -> Statement:
    if cur.at("LIVE"):
        raise cur.error("ADD LIVE VERSION is how Snowflake's Python API uploads a version; in jupyter_mreg, "
                        "log versions with `registry.log_model(...)`.", cur.position())
    cur.expect("VERSION", after="ADD")
    version = cur.name(VERSION, after="VERSION")
    source, source_version = _from_model(cur)
    return AddVersion(model, if_exists, version, source, source_version)


def _from_model(cur: Cursor) -> tuple[Name, Name | None]:
    cur.expect("FROM")
    token = cur.peek()
    if token is not None and token.token_type == cur._types.PARAMETER and token.text == "@":
        raise cur.error("Creating a version from a stage is what Snowflake's Python API does behind "
                        "`log_model`; in jupyter_mreg, log the model object with `registry.log_model(...)`, or "
                        "copy one with FROM MODEL <model> [VERSION <version>].", token.start)
    cur.expect("MODEL", after="FROM")
    source = cur.name("the source model name", max_parts=3, after="MODEL")
    version = cur.name("a version name or alias", after="VERSION") if cur.accept("VERSION") else None
    return source, version


def _name_or_string(cur: Cursor, what: str) -> Name:
    """`v1`, `"v1"` or `'v1'` (a string holds a name written as in SQL: `'v1'` is V1)."""
    token = cur.peek()
    t = cur._types
    if token is not None and (token.token_type in (t.STRING, t.RAW_STRING)
                              or token.token_type == t.COLON):
        value = cur.value(what)
        if not isinstance(value.value, str):
            raise cur.error(f"Expected {what}, found a {type(value.value).__name__}.", value.start)
        try:
            return Name((parse_identifier(value.value, _capital(what)),), value.start)
        except InvalidIdentifierError as exc:
            raise cur.error(str(exc), value.start) from None
    return cur.name(what)


def _comma(cur: Cursor) -> bool:
    token = cur.peek()
    if token is not None and token.token_type == cur._types.COMMA:
        cur.next()
        return True
    return False


def parse_drop(cur: Cursor) -> Statement:
    if not cur.at("MODEL"):
        if cur.is_word(cur.peek()):
            _unsupported(cur, "DROP", "DROP MODEL")
        cur.expect("MODEL")
    cur.next()
    if cur.at("MONITOR") and cur.peek(1) is not None:
        raise cur.error("DROP MODEL MONITOR is not supported in %%mreg yet: model monitors are a later "
                        "feature.", cur.position())
    if_exists = cur.accept_all("IF", "EXISTS")
    return DropModel(cur.name(MODEL, max_parts=3, after="EXISTS" if if_exists else "MODEL"), if_exists)


def parse_create(cur: Cursor) -> Statement:
    or_replace = cur.accept_all("OR", "REPLACE")
    if not cur.at("MODEL"):
        if cur.is_word(cur.peek()):
            _unsupported(cur, "CREATE", "CREATE MODEL ... FROM MODEL")
        cur.expect("MODEL")
    cur.next()
    if_not_exists_at = cur.position()
    if_not_exists = cur.accept_all("IF", "NOT", "EXISTS")
    if or_replace and if_not_exists:
        raise cur.error("OR REPLACE and IF NOT EXISTS cannot be used together: choose one.", if_not_exists_at)
    model = cur.name(MODEL, max_parts=3, after="EXISTS" if if_not_exists else "MODEL")
    version = None
    if cur.accept("WITH"):
        if cur.at("LIVE"):
            raise cur.error("WITH LIVE VERSION is how Snowflake's Python API uploads a model; in jupyter_mreg, "
                            "log it with `registry.log_model(...)`.", cur.position())
        cur.expect("VERSION", after="WITH")
        version = cur.name(VERSION, after="VERSION")
    source, source_version = _from_model(cur)
    return CreateModel(model, or_replace, if_not_exists, version, source, source_version)


def parse_use(cur: Cursor) -> Statement:
    kind = cur.accept("DATABASE", "SCHEMA", "ROLE", "WAREHOUSE")
    if kind is None:
        if cur.at("SECONDARY"):
            raise cur.error("USE SECONDARY ROLES is not supported in %%mreg: roles are not enforced yet.",
                            cur.position())
        name = cur.name("a database, schema or role name", max_parts=2, after="USE")
        return Use("SCHEMA" if len(name.parts) == 2 else "DATABASE", name)
    kind_text = kind.text.upper()
    return Use(kind_text, cur.name(f"a {kind_text.lower()} name", max_parts=2 if kind_text == "SCHEMA" else 1,
                                   after=kind_text))


# Privileges a GRANT may name, by the kind of object it is on.
PRIVILEGES = {
    "MODEL": ("USAGE", "READ", "OWNERSHIP", "ALL"),
    "SCHEMA": ("CREATE MODEL", "USAGE", "OWNERSHIP", "ALL"),
}


def parse_grant(cur: Cursor) -> Statement:
    return _grant(cur, revoke=False)


def parse_revoke(cur: Cursor) -> Statement:
    cur.accept_all("GRANT", "OPTION", "FOR")
    return _grant(cur, revoke=True)


def _grant(cur: Cursor, *, revoke: bool) -> Statement:
    privileges: list[tuple[str, int]] = []
    while True:
        token = cur.peek()
        if cur.accept_all("CREATE", "MODEL"):
            privileges.append(("CREATE MODEL", token.start))
        elif cur.accept("ALL"):
            cur.accept("PRIVILEGES")
            privileges.append(("ALL", token.start))
        elif cur.is_word(token) and not cur.at("ON"):
            cur.next()
            privileges.append((token.text.upper(), token.start))
        else:
            cur.fail("a privilege (USAGE, READ, OWNERSHIP, ALL, CREATE MODEL)")
        if not _comma(cur):
            break
    cur.expect("ON", after="the privileges")
    models = None
    if cur.at("ALL", "FUTURE") and cur.at("MODELS", ahead=1):
        models = cur.next().text.upper()
        cur.next()
        cur.expect("IN", after="MODELS")
        on = cur.expect("SCHEMA", "DATABASE", after="IN").text.upper()
    else:
        on = cur.expect("MODEL", "SCHEMA", after="ON").text.upper()
    target = cur.name({"MODEL": MODEL, "SCHEMA": "a schema name", "DATABASE": "a database name"}[on],
                      max_parts={"MODEL": 3, "SCHEMA": 2, "DATABASE": 1}[on], after=on)
    allowed = PRIVILEGES["MODEL" if on == "MODEL" or models else "SCHEMA"]
    for privilege, start in privileges:
        if privilege not in allowed:
            what = f"{models} MODELS" if models else on
            raise cur.error(f"{privilege} is not a privilege on {what}: use {_one_of(allowed)}.", start)
    cur.expect("FROM" if revoke else "TO", after="the object name")
    cur.expect("ROLE", after="FROM" if revoke else "TO")
    role = cur.name("a role name", after="ROLE")
    if revoke:
        cur.accept("RESTRICT", "CASCADE")
    else:
        cur.accept_all("WITH", "GRANT", "OPTION")
        if cur.accept("COPY", "REVOKE"):
            cur.expect("CURRENT")
            cur.expect("GRANTS", after="CURRENT")
    return Grant(revoke, tuple(p for p, _ in privileges), on, target, role, models)


def parse_comment(cur: Cursor) -> Statement:
    """`COMMENT [IF EXISTS] ON MODEL m IS '...'`: the same as `ALTER MODEL m SET COMMENT = '...'`."""
    if_exists = cur.accept_all("IF", "EXISTS")
    cur.expect("ON", after="COMMENT" if not if_exists else "EXISTS")
    if cur.is_word(cur.peek()) and not cur.at("MODEL"):
        _unsupported(cur, "COMMENT ON", "COMMENT ON MODEL")
    cur.expect("MODEL", after="ON")
    model = cur.name(MODEL, max_parts=3, after="MODEL")
    cur.expect("IS", after="the model name")
    return SetModelProperties(model, if_exists, cur.value("a comment string", after="IS"), None)


# Statement forms → parsers. The first word picks the form; ALTER MODEL's next word picks the action.
STATEMENTS: dict[str, Callable[[Cursor], Statement]] = {
    "SHOW": parse_show,
    "DESCRIBE": parse_describe,
    "DESC": parse_describe,
    "ALTER": parse_alter,
    "DROP": parse_drop,
    "CREATE": parse_create,
    "USE": parse_use,
    "GRANT": parse_grant,
    "REVOKE": parse_revoke,
    "COMMENT": parse_comment,
}

ALTER_ACTIONS: dict[str, Callable[[Cursor, Name, bool], Statement]] = {
    "SET": _alter_set,
    "UNSET": _alter_unset,
    "VERSION": _alter_version,
    "MODIFY": _alter_modify,
    "RENAME": _alter_rename,
    "DROP": _alter_drop,
    "ADD": _alter_add,
}

