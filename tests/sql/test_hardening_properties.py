"""Property tests of the `%%mreg` input path (`jupyter_mreg.sql.execute`, what the magic calls) on hostile text:
random fragments of SQL and of our model DDL, statements from a small grammar (deep nesting, long join
chains, LIKE patterns, templates), and valid statements with characters inserted, deleted, replaced or
repeated. Whatever the cell, `execute`

(a) raises nothing but `SqlError` (a mistake in the cell, shown with its line and column; file refusals and
    model failures are SqlErrors too), never a raw sqlglot, DuckDB, Jinja or Python error;
(b) returns within a bounded time (hypothesis' deadline, and an alarm that turns a hang into a failure);
(c) leaves the registry unchanged (its newest history row, `catalog_reads.change_stamp`) unless the cell
    holds a word that writes (CREATE, ALTER, DROP, SET, ...). Cells with such words run against a fresh copy
    of the registry, so one example's DROP MODEL does not change what the next one sees.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import warnings
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_mreg.registry import catalog_reads
from jupyter_mreg.sql import execute
from jupyter_mreg.sql.errors import SqlError

WRITES = re.compile(r"\b(CREATE|ALTER|DROP|SET|UNSET|RENAME|ADD|MODIFY|GRANT|REVOKE|COMMENT|USE|INSERT|UPDATE|DELETE"
                    r"|MERGE|COPY|TRUNCATE|ATTACH|DETACH|INSTALL|LOAD|EXPORT|IMPORT|CALL|PRAGMA)\b", re.IGNORECASE)
HANG_SECONDS = 30  # far beyond any example's time; only a hang reaches it
LONG = "C" + "A" * 120
PROPERTY = settings(max_examples=200, derandomize=True, deadline=5000, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def registry(tmp_path_factory, churn, pipe):
    """A registry home with MYDB.ML.CHURN and a model with a 121-character name (V1 of each: the conftest LR
    pipeline), built once and left closed: the pristine copy that cells with writes start from. Yields
    (root folder, pristine home, read session, namespace)."""
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    root = tmp_path_factory.mktemp("hardening-properties")
    home = root / "pristine"
    builder = Session.builder.configs({"home": str(home)}).create()
    X = churn[0]
    reg = Registry(session=builder, database_name="MYDB", schema_name="ML", create=True)
    reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=X.head())
    reg.log_model(pipe, model_name=LONG, version_name="v1", sample_input_data=X.head())
    builder.close()
    frame = X.head(8).assign(id=range(8), region=["EU", "US"] * 4)
    namespace = {"customers": frame, "one": frame.head(1), "x": 1, "name": "EU", "ids": [1, 2], "t": "customers"}
    session = _session(home)
    execute("SELECT churn!PREDICT(*) AS p FROM customers", namespace, session=session)  # load the model once
    yield root, home, session, namespace
    session.close()


def _session(home):
    from jupyter_mreg import Session

    return Session.builder.configs({"home": str(home), "database": "MYDB", "schema": "ML"}).create()


_copies = count()


class Hang(BaseException):
    """An example ran for HANG_SECONDS (a BaseException, so no `except Exception` in the code swallows it)."""


@contextlib.contextmanager
def _bounded(cell: str):
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"this cell ran for more than {HANG_SECONDS} s: {cell[:500]!r}")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_cell(registry, cell: str, *, valid: bool = False) -> None:
    """Run `cell` and check properties (a), (b) and (c); a `valid` cell must also run without error."""
    root, home, shared, namespace = registry
    writes = bool(WRITES.search(cell))
    if writes:
        copy = root / f"copy{next(_copies)}"
        shutil.copytree(home, copy)
        session = _session(copy)
    else:
        session = shared
        before = catalog_reads.change_stamp(session)
    try:
        with _bounded(cell), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GRANT's "not enforced yet" warning, pandas' and DuckDB's
            try:
                execute(cell, namespace, session=session, params={"p": 2})
            except SqlError as exc:
                if valid:
                    raise
                assert str(exc) and exc.render()  # a message, placed in the cell when it has a position
        if not writes:
            assert catalog_reads.change_stamp(session) == before, "a cell without a write changed the registry"
    finally:
        if writes:  # (USE is among them: a session's current schema changes only in a copy)
            session.close()
            shutil.rmtree(copy, ignore_errors=True)


# --- random fragments --------------------------------------------------------------------------------------------
KEYWORDS = ["SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "AS", "WITH", "MODEL", "VERSION",
            "SHOW", "MODELS", "VERSIONS", "FUNCTIONS", "DESCRIBE", "DESC", "ALTER", "DROP", "CREATE", "OR REPLACE",
            "SET", "UNSET", "TAG", "COMMENT", "ALIAS", "DEFAULT_VERSION", "RENAME", "TO", "ADD", "MODIFY",
            "METADATA", "IF", "EXISTS", "USE", "DATABASE", "SCHEMA", "ROLE", "WAREHOUSE", "ACCOUNT", "GRANT",
            "REVOKE", "ON", "USAGE", "ALL", "FUTURE", "TABLE", "OVER", "PARTITION BY", "ORDER BY", "GROUP BY",
            "HAVING", "LIMIT", "OFFSET", "UNION ALL", "JOIN", "LATERAL", "IDENTIFIER", "CASE", "WHEN", "THEN",
            "ELSE", "END", "NULL", "TRUE", "DISTINCT", "QUALIFY", "EXCLUDE", "VALUES", "LIVE", "IS", "BY", "COPY",
            "ATTACH", "PRAGMA", "INSTALL", "EXPLAIN"]
NAMES = ["customers", "CUSTOMERS", '"customers"', "churn", "CHURN", "mydb.ml.churn", '"churn"', '"Churn Model"',
         "v1", "V1", "LAST", "DEFAULT", "prod", "id", "age", "income", "tenure", "region", "x", "mv", "c", "mydb",
         "ml", "MODEL(churn, v1)", "MODEL(churn)", "read_csv('/etc/passwd')", "read_text('/etc/hostname')",
         "query('SELECT 1')", "'/etc/passwd'", "current_setting('enable_external_access')", "__mreg_t0"]
SYMBOLS = ["(", ")", ",", ";", ".", "*", "=", "<>", "!=", "!", ":", "::", "[", "]", "{", "}", "'", '"', "$$", "--",
           "/*", "*/", "\n", "!PREDICT(", "!PREDICT_PROBA(*)", "!predict(*):output_feature_0", ":output_feature_1",
           "=>", "{{", "}}", "{%", "%}", "{{ x }}", "{{ name }}", "{{ ids }}", "{{ t | ident }}", "{{ name | ident }}",
           "{{ t | sqlsafe }}", "{{ ''.__class__ }}", "{{ x * 99999999 }}", "{% for i in range(3) %}",
           "{% endfor %}", ":x", ":p", ":nope", "?", "$1", "$x", "@stage", "0", "1", "-1", "1e309", "'EU'",
           "'%a%'", "'%a%a%a%a%a%a%b'", "'\\'", "'it''s'", "$$text$$", "X'00'", "\\", "%", "_", "||", "+", "-",
           "/", ">", "<", "TABLE(", "OVER (PARTITION BY region)"]
TOKENS = st.sampled_from(KEYWORDS + NAMES + SYMBOLS)


GAPS = st.sampled_from([" ", " ", "", "\n", "\t"])


STARTS = st.sampled_from(["", "", "SELECT ", "SELECT * FROM customers ", "SELECT id FROM customers WHERE ",
                          "WITH mv AS MODEL churn ", "SHOW MODELS LIKE ", "ALTER MODEL churn ", "{{ "])


@st.composite
def fragments(draw) -> str:
    """A start that parses (or none), then up to 12 runs of 1-3 tokens, each written once or repeated (long
    chains, deep nesting)."""
    text = draw(STARTS)
    for _ in range(draw(st.integers(1, 12))):
        run = "".join(token + draw(GAPS) for token in draw(st.lists(TOKENS, min_size=1, max_size=3)))
        text += run * draw(st.sampled_from([1, 1, 1, 1, 2, 3, 40, 300]))
    return text


@PROPERTY
@given(cell=fragments())
def test_hardening_random_fragments(registry, cell):
    check_cell(registry, cell)


# --- statements from a small grammar ---------------------------------------------------------------------------
COLUMNS = ["id", "age", "income", "tenure", "region", "c.id", "customers.age", "*"]
LITERALS = ["1", "0", "-1", "2.5", "1e309", "'EU'", "'it''s'", "NULL", "TRUE", "$$x$$", ":x", ":p", "{{ x }}",
            "{{ name }}", "{{ ids }}", "'%a%'", "x'00'"]
CALLS = ["churn!PREDICT(*)", "churn!PREDICT(*):output_feature_0", "churn!predict(age, income, tenure)",
         "MYDB.ML.CHURN!PREDICT_PROBA(age, income, tenure):output_feature_1::FLOAT",
         "MODEL(churn, v1)!predict(*)['output_feature_0']", "mv!PREDICT(*)", "churn!PREDICT(age)"]
OPERATORS = ["+", "-", "*", "/", "=", "<>", "<", "AND", "OR", "||", "LIKE", "IS", "IS NOT"]
FUNCTIONS = ["abs", "coalesce", "upper", "count", "sum", "max", "read_text", "current_setting"]
# (before, after) around an expression, repeated to nest it deeply.
WRAPPERS = [("(", ")"), ("abs(", ")"), ("NOT ", ""), ("- ", ""), ("CASE WHEN TRUE THEN ", " END"), ("[", "]"),
            ("(SELECT ", ")"), ("coalesce(", ", 1)"), ("{'k': ", "}")]
DEPTHS = st.sampled_from([1, 1, 2, 3, 60, 300])
LEAVES = st.sampled_from(COLUMNS[:-1] + LITERALS + CALLS)


def _expressions():
    def grow(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(OPERATORS), inner).map(" ".join),
            st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"CASE WHEN {t[0]} THEN {t[1]} ELSE {t[2]} END"),
            st.tuples(inner, st.lists(LEAVES, min_size=1, max_size=4)).map(lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
            inner.map(lambda e: f"{e}::FLOAT"),
            inner.map(lambda e: f"(SELECT {e} FROM customers LIMIT 1)"),
            st.tuples(inner, st.sampled_from(WRAPPERS), DEPTHS).map(lambda t: t[1][0] * t[2] + t[0] + t[1][1] * t[2]))

    return st.recursive(LEAVES, grow, max_leaves=8)


EXPRESSIONS = _expressions()
TABLES = st.one_of(
    st.sampled_from(["customers", "customers c", "(SELECT * FROM customers) c", "read_csv('/etc/passwd')",
                     "customers c JOIN customers d ON c.id = d.id", "customers c LEFT JOIN one USING (id)",
                     "customers, TABLE(churn!PREDICT(customers.age, customers.income, customers.tenure))",
                     "'/etc/passwd'", "{{ t | ident }}", "nope"]),
    st.sampled_from([1, 2, 40, 120]).map(lambda k: "one" + " JOIN one" * k))  # joins without ON


@st.composite
def queries(draw) -> str:
    start = draw(st.sampled_from(["", "", "WITH mv AS MODEL churn VERSION v1 ",
                                  "WITH q AS (SELECT * FROM customers) "]))
    items = ", ".join(draw(st.lists(EXPRESSIONS, min_size=1, max_size=3)))
    sql = f"{start}SELECT {items} FROM {draw(TABLES)}"
    if draw(st.booleans()):
        sql += f" WHERE {draw(EXPRESSIONS)}"
    sql += draw(st.sampled_from(["", " GROUP BY 1", " ORDER BY 1", " LIMIT 3", " LIMIT {{ x }}"]))
    return sql


LIKE_PATTERNS = st.one_of(st.text("aAbB_%\\", max_size=12),
                          st.integers(1, 14).map(lambda k: "%a" * k + "%b"))
COMMANDS = st.one_of(
    LIKE_PATTERNS.map(lambda p: f"SHOW MODELS LIKE '{p}' IN ACCOUNT"),
    LIKE_PATTERNS.map(lambda p: f"SHOW VERSIONS LIKE '{p}' IN MODEL {LONG}"),
    st.sampled_from(["SHOW MODELS LIKE {{ name }}", "DESCRIBE MODEL {{ t | ident }}", "SHOW FUNCTIONS IN MODEL churn",
                     "ALTER MODEL churn SET COMMENT = {{ name }}", "ALTER MODEL churn VERSION v1 SET ALIAS = prod",
                     "DROP MODEL IF EXISTS {{ name | ident }}", "USE SCHEMA mydb.ml", "GRANT USAGE ON MODEL churn "
                     "TO ROLE r", "SHOW VERSIONS IN MODEL IDENTIFIER({{ name }})"]))


@st.composite
def statements(draw) -> str:
    """1-2 statements from the grammar, now and then with a token inserted or a few characters deleted."""
    cell = "; ".join(draw(st.lists(st.one_of(queries(), COMMANDS), min_size=1, max_size=2)))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        at = draw(st.integers(0, len(cell)))
        if draw(st.booleans()):
            cell = cell[:at] + " " + draw(TOKENS) + " " + cell[at:]
        else:
            cell = cell[:at] + cell[at + draw(st.integers(1, 4)):]
    return cell


@PROPERTY
@given(cell=statements())
def test_hardening_grammar_statements(registry, cell):
    check_cell(registry, cell)


# --- mutated valid statements ------------------------------------------------------------------------------------
VALID = [
    "SELECT id, churn!PREDICT(*):output_feature_0 AS p FROM customers WHERE region = 'EU' ORDER BY id",
    "SELECT MYDB.ML.CHURN!PREDICT_PROBA(age, income, tenure):output_feature_1::FLOAT AS p FROM customers LIMIT 3",
    "WITH mv AS MODEL churn VERSION v1 SELECT mv!PREDICT(*) AS o FROM customers",
    "SELECT MODEL(churn, v1)!predict(c.age, c.income, c.tenure)['output_feature_0'] AS p FROM customers c "
    "JOIN customers d ON c.id = d.id",
    "SELECT region, COUNT(*) AS n, AVG(age) AS a FROM customers GROUP BY region HAVING COUNT(*) > 1",
    "SELECT * FROM customers WHERE id IN (1, 2, 3) AND region LIKE '%U%' QUALIFY ROW_NUMBER() OVER (ORDER BY id) < 3",
    "SELECT {{ x }} AS x, :x AS y, :p AS z FROM {{ t | ident }} WHERE region = {{ name }} AND id IN {{ ids }}",
    "SELECT * FROM (SELECT id, churn!predict(age, income, tenure) AS o FROM customers) s "
    "WHERE s.o:output_feature_0 = 1",
    "SHOW MODELS LIKE '%CH%' IN ACCOUNT",
    "SHOW TERSE MODELS IN SCHEMA mydb.ml",
    "SHOW VERSIONS LIKE 'V%' IN MODEL churn",
    "SHOW FUNCTIONS LIKE 'PRED%' IN MODEL mydb.ml.churn VERSION v1",
    "DESCRIBE MODEL churn",
    "ALTER MODEL churn SET COMMENT = 'hello', DEFAULT_VERSION = v1",
    "ALTER MODEL churn SET TAG team = 'ml', owner = :name",
    "ALTER MODEL churn SET TAG team = 'ml'; ALTER MODEL churn UNSET TAG team",
    "ALTER MODEL churn VERSION v1 SET ALIAS = prod",
    "ALTER MODEL IF EXISTS churn MODIFY VERSION v1 SET METADATA = '{\"metrics\": {\"auc\": 0.9}}', COMMENT = 'x'",
    "ALTER MODEL churn RENAME TO churn2",
    "ALTER MODEL churn ADD VERSION v2 FROM MODEL churn VERSION v1",
    "CREATE OR REPLACE MODEL copy WITH VERSION v9 FROM MODEL churn VERSION v1",
    "DROP MODEL IF EXISTS churn",
    "COMMENT ON MODEL churn IS 'text'",
    "USE SCHEMA mydb.ml",
    "GRANT USAGE ON MODEL churn TO ROLE analyst",
    "REVOKE USAGE ON FUTURE MODELS IN SCHEMA mydb.ml FROM ROLE analyst",
    "SELECT * FROM customers, TABLE(churn!PREDICT(customers.age, customers.income, customers.tenure))",
    "SHOW MODELS; SELECT 1 AS one; SHOW VERSIONS IN MODEL IDENTIFIER('mydb.ml.churn')",
]
EDIT_TEXT = st.one_of(TOKENS, st.text(min_size=1, max_size=3))


@st.composite
def mutated(draw) -> str:
    """A valid cell with 1-4 edits: a token or a few characters inserted, a few characters deleted or
    replaced, or a stretch repeated up to 40 times (long chains and deep nesting come from repeats)."""
    cell = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(cell)))
        end = min(len(cell), at + draw(st.integers(1, 12)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        if kind == "insert":
            cell = cell[:at] + draw(EDIT_TEXT) + cell[at:]
        elif kind == "repeat":
            cell = cell[:at] + cell[at:end] * draw(st.integers(2, 40)) + cell[end:]
        else:
            cell = cell[:at] + (draw(EDIT_TEXT) if kind == "replace" else "") + cell[end:]
    return cell


@PROPERTY
@given(cell=mutated())
def test_hardening_mutated_valid_statements(registry, cell):
    check_cell(registry, cell)


def test_hardening_valid_statements_run(registry):
    """The statements the mutations start from are valid (so mutations explore near working SQL)."""
    for cell in VALID:
        if "TABLE(" in cell:
            with pytest.raises(SqlError, match=r"is a FUNCTION, which returns one OBJECT per row"):
                check_cell(registry, cell, valid=True)
        else:
            check_cell(registry, cell, valid=True)
