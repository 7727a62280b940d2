"""Hostile input in `%%mreg` cells (issue 10): what a cell may reach (no files, no network), template values
spliced as values, LIKE patterns that cannot backtrack, and cells too big or too deep to parse."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_mreg.model import custom_model, model_signature
from jupyter_mreg.sql import execute
from jupyter_mreg.sql.ddl import like_pattern

REPO = Path(__file__).resolve().parents[2]
LONG_MODEL = "L" + "A" * 200  # names are at most 255 characters
LONG_VERSION = "V" + "A" * 200


@pytest.fixture(scope="module")
def env(tmp_path_factory, churn, pipe):
    """A registry with MYDB.ML.CHURN (V1) and a model and version with 201-character names."""
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    home = tmp_path_factory.mktemp("hardening-sql") / "registry"
    session = Session.builder.configs({"home": str(home), "database": "MYDB", "schema": "ML"}).create()
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    X = churn[0]
    reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=X.head())
    reg.log_model(pipe, model_name=LONG_MODEL, version_name=LONG_VERSION, sample_input_data=X.head())
    frame = X.head(20).copy()
    frame.insert(0, "id", range(len(frame)))
    yield session, home, frame
    session.close()


def run_python(script: str, what: str, timeout: int = 60) -> list[str]:
    """Run `script` in a fresh interpreter and return its printed lines; fail if it runs past `timeout`
    seconds. For inputs that made a regex or the parser run for minutes: a regex holds the GIL, so a thread
    could not be timed out."""
    with tempfile.TemporaryDirectory() as home:  # a cell run without a session uses $MREG_HOME
        environment = {**os.environ, "PYTHONPATH": str(REPO), "MREG_HOME": home}
        try:
            done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False, capture_output=True,
                                  text=True, timeout=timeout, env=environment)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{what} ran for over {timeout} s")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def run(env, sql, **kwargs):
    session, _, frame = env
    namespace = kwargs.pop("namespace", {})
    return execute(sql, {"customers": frame, **namespace}, session=session, **kwargs)


# --- 1. no file or network access unless the cell opts in ------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A CSV, JSON, Parquet and text file, each holding one row with a = 1 (or the text SECRET)."""
    folder = tmp_path_factory.mktemp("files")
    frame = pd.DataFrame({"a": [1]})
    frame.to_csv(folder / "x.csv", index=False)
    frame.to_json(folder / "x.json", orient="records")
    frame.to_parquet(folder / "x.parquet")
    (folder / "secret.txt").write_text("SECRET")
    return folder


READERS = ["read_csv('{d}/x.csv')", "read_csv_auto('{d}/x.csv')", "read_json('{d}/x.json')",
           "read_json_auto('{d}/x.json')", "read_parquet('{d}/x.parquet')", "read_text('{d}/secret.txt')",
           "read_blob('{d}/secret.txt')", "'{d}/x.csv'", "sniff_csv('{d}/x.csv')", "read_csv('{d}/*.csv')",
           "read_csv(['{d}/x.csv'])", "query('SELECT * FROM read_csv(''{d}/x.csv'')')",
           "read_csv('https://example.com/data.csv')"]


@pytest.mark.parametrize("reader", READERS)
def test_hardening_queries_cannot_read_files_by_default(env, files, reader):
    from jupyter_mreg.sql.errors import SqlError

    sql = f"SELECT * FROM {reader.format(d=files)}"
    with pytest.raises(SqlError) as info:  # the previous code returned the file's rows
        run(env, sql)
    message = str(info.value)
    assert type(info.value).__name__ == "FileAccessError"
    assert message.startswith("%%mreg did not let this query read ") and "file and network access is off" in message
    assert "%%mreg --allow-file-access" in message and "MregMagic.allow_file_access = True" in message
    assert "allow_file_access=True" in message
    path = "https://example.com/data.csv" if "https" in reader else str(files)
    assert path in message


def test_hardening_file_access_is_an_explicit_choice_per_call(env, files):
    from jupyter_mreg.sql.errors import SqlError

    sql = f"SELECT a FROM read_csv('{files}/x.csv')"
    with pytest.raises(SqlError, match=r"did not let this query read"):
        run(env, sql)
    assert run(env, sql, allow_file_access=True)["a"].tolist() == [1]
    with pytest.raises(SqlError, match=r"did not let this query read"):  # the engine is shared by the kernel
        run(env, sql)
    assert run(env, f"SELECT c.id, f.a FROM customers c JOIN read_csv('{files}/x.csv') f ON c.id = f.a",
               allow_file_access=True)["id"].tolist() == [1]


def test_hardening_duckdb_settings_are_locked(env):
    from jupyter_mreg.sql.errors import SqlError

    out = run(env, "SELECT current_setting('enable_external_access') AS access, "
                   "current_setting('lock_configuration') AS locked, COUNT(*) AS n FROM customers")
    assert (bool(out["access"][0]), bool(out["locked"][0]), int(out["n"][0])) == (False, True, 20)
    with pytest.raises(SqlError, match=r"SET statements do not run here"):
        run(env, "SET enable_external_access = true")


# --- 3. LIKE in SHOW: linear in the name ---------------------------------------------------------------------
PATHOLOGICAL = "%a" * 12 + "%b"  # the old regex (.*a){12}.*b backtracks for ages over 200 A's


def test_hardening_show_like_with_a_pathological_pattern_finishes(env):
    """SHOW MODELS / SHOW VERSIONS LIKE with a pattern that made the old regex backtrack exponentially."""
    _, home, _ = env
    lines = run_python(f"""
        from jupyter_mreg import Session
        from jupyter_mreg.sql import execute
        session = Session.builder.configs({{"home": {str(home)!r}, "database": "MYDB", "schema": "ML"}}).create()
        print(len(execute("SHOW MODELS LIKE '{PATHOLOGICAL}' IN ACCOUNT", {{}}, session=session)))
        print(len(execute("SHOW VERSIONS LIKE '{PATHOLOGICAL}' IN MODEL {LONG_MODEL}", {{}}, session=session)))
        print(list(execute("SHOW MODELS LIKE '%a%a%a%a%a%a%a%a%a%a%a%a%' IN ACCOUNT", {{}}, session=session)["name"]))
    """, "SHOW ... LIKE with a pathological pattern")
    assert lines == ["0", "0", f"['{LONG_MODEL}']"]


def test_hardening_like_keeps_snowflake_rules():
    assert like_pattern("a%").fullmatch("ABC") and not like_pattern("a_").fullmatch("abc")
    assert like_pattern("%").fullmatch("") and like_pattern("%%").fullmatch("x") and not like_pattern("").fullmatch("x")
    assert like_pattern("a%c%e").fullmatch("abcde") and not like_pattern("a%c%e").fullmatch("abcdef")
    assert like_pattern("%ab%ab").fullmatch("abab") and not like_pattern("%ab%ab").fullmatch("aba")
    assert like_pattern("_%_").fullmatch("ab") and not like_pattern("_%_").fullmatch("a")
    assert like_pattern("100\\%").fullmatch("100%") and not like_pattern("100\\%").fullmatch("1000")
    assert like_pattern("a\\_b").fullmatch("A_B") and not like_pattern("a\\_b").fullmatch("axb")
    assert like_pattern("a\\\\b").fullmatch("a\\b") and like_pattern("a.b*").fullmatch("A.B*")
    assert like_pattern("ab\\").fullmatch("ab")  # a trailing escape escapes nothing, as before


LIKE_ALPHABET = "abAB_%\\é"


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=st.text(LIKE_ALPHABET, max_size=10), name=st.text("abAB_%\\éÉ", max_size=10))
def test_hardening_like_agrees_with_duckdb_ilike(pattern, name):
    """The matcher against DuckDB's own `ILIKE ... ESCAPE '\\'` (which refuses a pattern ending in a lone
    escape: that case is pinned above instead)."""
    import duckdb

    trailing = len(pattern) - len(pattern.rstrip("\\"))
    if trailing % 2:
        return
    expected = duckdb.execute("SELECT ? ILIKE ? ESCAPE '\\'", [name, pattern]).fetchone()[0]
    assert bool(like_pattern(pattern).fullmatch(name)) == expected, (pattern, name)


# --- 2. template values are values --------------------------------------------------------------------------
EVIL = "EU'; DROP MODEL victim; --"


@pytest.fixture
def victim(env):
    """A copy of CHURN that an injected DROP MODEL would remove; the check that it is still there."""
    run(env, "CREATE OR REPLACE MODEL victim FROM MODEL churn")

    def alive() -> bool:
        return "VICTIM" in set(run(env, "SHOW MODELS IN SCHEMA MYDB.ML")["name"])

    assert alive()
    return alive


def test_hardening_template_string_is_a_literal_not_sql(env, victim):
    out = run(env, "SELECT {{ region }} AS v, COUNT(*) AS n FROM customers WHERE id >= 0 AND 'x' <> {{ region }}",
              namespace={"region": EVIL})
    assert out["v"].tolist() == [EVIL] and out["n"].tolist() == [20]
    assert victim()


def test_hardening_template_inside_quotes_is_refused_not_spliced(env, victim):
    """`'{{ x }}'` was how values were quoted by hand: the value's own quote ended the string."""
    from jupyter_mreg.sql.errors import SqlError

    with pytest.raises(SqlError, match=r"\{\{ region \}\} is inside quotes.*write \{\{ region \}\} without them"):
        run(env, "SELECT COUNT(*) AS n FROM customers WHERE 'EU' = '{{ region }}'", namespace={"region": EVIL})
    with pytest.raises(SqlError, match=r"inside a comment"):
        run(env, "SELECT 1 AS one -- {{ note }}\n", namespace={"note": "\nDROP MODEL victim; --"})
    with pytest.raises(SqlError, match=r"inside quotes"):
        run(env, 'SELECT 1 AS "{{ name | ident }}"', namespace={"name": '"x""; DROP MODEL victim; --"'})
    assert victim()


def test_hardening_template_literals_by_python_type(env):
    import datetime
    import decimal

    import numpy as np

    values = {"s": "it's a \\ test\n", "i": 7, "neg": -3, "f": 0.25, "big": 1e300, "b": True, "none": None,
              "d": datetime.date(2024, 2, 29), "ts": datetime.datetime(2024, 2, 29, 13, 5, 1),
              "dec": decimal.Decimal("1.50"), "np_i": np.int64(5), "ids": [1, 3, 5], "names": ("a'b",), "empty": [],
              "zero": -0.0}
    out = run(env, "SELECT {{ s }} AS s, {{ i }} AS i, 10 -{{ neg }} -{{ zero }} AS minus, {{ f }} AS f, "
                   "{{ big }} AS big, "
                   "{{ b }} AS b, {{ none }} AS none, {{ d }} AS d, {{ ts }} AS ts, {{ dec }} AS dec, "
                   "{{ np_i }} AS np_i, "
                   "'a''b' IN {{ names }} AS found, 1 IN {{ empty }} AS nothing",
              namespace=values)
    row = out.iloc[0]
    assert row["s"] == values["s"] and row["i"] == 7 and row["minus"] == 13 and row["f"] == 0.25
    assert row["big"] == 1e300 and bool(row["b"]) is True and pd.isna(row["none"])
    assert pd.Timestamp(row["d"]) == pd.Timestamp("2024-02-29")
    assert pd.Timestamp(row["ts"]) == pd.Timestamp(values["ts"])
    assert float(row["dec"]) == 1.5 and row["np_i"] == 5 and bool(row["found"]) and not row["nothing"]
    ids = run(env, "SELECT id FROM customers WHERE id IN {{ ids }} ORDER BY id", namespace=values)
    assert ids["id"].tolist() == [1, 3, 5]


def test_hardening_template_value_without_a_literal_is_refused(env):
    from jupyter_mreg.sql.errors import SqlError

    with pytest.raises(SqlError, match=r"\{\{\.\.\.\}\} value of type dict has no SQL literal.*\| sqlsafe"):
        run(env, "SELECT {{ d }} AS d", namespace={"d": {"a": 1}})


def test_hardening_template_names_need_the_ident_filter(env, victim):
    from jupyter_mreg.sql.errors import SqlError

    out = run(env, "SELECT COUNT(*) AS n FROM {{ table | ident }}", namespace={"table": "customers"})
    assert out["n"].tolist() == [20]
    out = run(env, "SHOW VERSIONS IN MODEL {{ m | identifier }}", namespace={"m": "mydb.ml.churn"})
    assert out["name"].tolist() == ["V1"]
    with pytest.raises(SqlError, match=r"\| ident: .*customers; DROP MODEL victim.* is not a valid identifier"):
        run(env, "SELECT * FROM {{ t | ident }}", namespace={"t": "customers; DROP MODEL victim"})
    with pytest.raises(SqlError, match=r"found 'customers' \(a string.*not a name.*\{\{ name \| ident \}\}"):
        run(env, "SELECT * FROM {{ t }}", namespace={"t": "customers"})
    with pytest.raises(SqlError, match=r"found \"'V1'\"\. That is a string, not a name.*\{\{ name \| ident \}\}"):
        run(env, "ALTER MODEL victim VERSION {{ v }} SET ALIAS = prod", namespace={"v": "V1"})
    assert victim()


def test_hardening_template_sqlsafe_inserts_text_as_written(env):
    out = run(env, "SELECT id FROM customers {{ clause | sqlsafe }} LIMIT 2", namespace={"clause": "ORDER BY id DESC"})
    assert out["id"].tolist() == [19, 18]


def test_hardening_template_values_in_ddl(env, victim):
    comment = "quote ' and \\ and ; -- and {{ not a template }}"
    run(env, "ALTER MODEL victim SET COMMENT = {{ c }}", namespace={"c": comment})
    shown = run(env, "SHOW MODELS LIKE {{ pattern }} IN SCHEMA MYDB.ML", namespace={"pattern": "vic%"})
    assert shown["name"].tolist() == ["VICTIM"] and shown["comment"].tolist() == [comment]


def test_hardening_template_runs_in_jinjas_sandbox(env):
    from jupyter_mreg.sql.errors import SqlError

    with pytest.raises(SqlError, match=r"Jinja's sandbox refused .*__class__.*unsafe"):
        run(env, "SELECT {{ ''.__class__.__mro__ | length }} AS n")
    with pytest.raises(SqlError, match=r"Jinja's sandbox refused"):
        run(env, "SELECT {{ lipsum.__globals__ | length }} AS n")
    with pytest.raises(SqlError, match=r"longer than the cell limit"):
        run(env, "SELECT {{ 'a' * 10**9 }} AS n")
    assert run(env, "SELECT {{ v.upper() }} AS u", namespace={"v": "eu"})["u"].tolist() == ["EU"]


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30))
def test_hardening_template_string_round_trips(env, value):
    """Any text (quotes, backslashes, semicolons, comment starts, newlines) comes back from DuckDB unchanged."""
    assert run(env, "SELECT {{ v }} AS v", namespace={"v": value})["v"].tolist() == [value]


# --- 4. cells too big or too deep are refused before parsing --------------------------------------------------
def nested(depth: int) -> str:
    return "SELECT " + "(" * depth + "1" + ")" * depth + " AS one"


def test_hardening_deep_nesting_is_a_clear_error(env):
    from jupyter_mreg.sql.errors import SqlError

    with pytest.raises(SqlError, match=r"nests parentheses more than 256 deep \(MAX_NESTING_DEPTH\)") as info:
        run(env, nested(2000))
    assert info.value.position == len("SELECT ") + 256  # the first parenthesis too many
    with pytest.raises(SqlError, match=r"nests parentheses more than"):
        run(env, "SELECT a FROM customers WHERE id IN " + "(SELECT id FROM customers WHERE id IN " * 300 + "(1)"
            + ")" * 300)


def test_hardening_nesting_up_to_the_limit_runs(env):
    """sqlglot needs about 25 Python frames per level: more than Python's default recursion limit allows at
    this depth, so the engine makes room for the statement's own depth (and puts the limit back)."""
    before = sys.getrecursionlimit()
    assert run(env, nested(200))["one"].tolist() == [1]
    deep_calls = "SELECT " + "abs(" * 150 + "id" + ")" * 150 + " AS v FROM customers WHERE id = 3"
    assert run(env, deep_calls)["v"].tolist() == [3]
    assert sys.getrecursionlimit() == before


def test_hardening_deep_trees_without_parentheses_are_a_clear_error(env):
    from jupyter_mreg.sql.errors import SqlError

    with pytest.raises(SqlError, match=r"nested too deeply for %%mreg to read"):
        run(env, "SELECT id FROM customers WHERE " + "NOT " * 5000 + "id = 1")
    with pytest.raises(SqlError, match=r"nested too deeply for %%mreg to read|Max expression depth"):
        run(env, "SELECT " + " + ".join(["id"] * 20000) + " AS s FROM customers")


def test_hardening_huge_cell_is_refused_quickly(env):
    from jupyter_mreg.sql.errors import SqlError

    cell = "SELECT id FROM customers WHERE id IN (" + ",".join(str(i) for i in range(200_000)) + ")"
    with pytest.raises(SqlError, match=rf"The cell has {len(cell):,} characters; %%mreg reads at most "
                                       r"1,000,000 \(MAX_CELL_CHARS\)"):
        run(env, cell)
    ids = list(range(200_000))
    with pytest.raises(SqlError, match=r"The cell with its \{\{\.\.\.\}\} values filled in has [\d,]+ characters"):
        run(env, "SELECT id FROM customers WHERE id IN {{ ids }}", namespace={"ids": ids})


def test_hardening_limits_can_be_changed_per_call(env):
    from jupyter_mreg.sql.errors import SqlError

    with pytest.raises(SqlError, match=r"nests parentheses more than 3 deep"):
        run(env, nested(4), max_nesting_depth=3)
    assert run(env, nested(3), max_nesting_depth=3)["one"].tolist() == [1]
    with pytest.raises(SqlError, match=r"The cell has 36 characters; %%mreg reads at most 20"):
        run(env, "SELECT COUNT(*) AS n FROM customers;", max_cell_chars=20)
    assert run(env, nested(300), max_nesting_depth=300)["one"].tolist() == [1]


# --- found by the property tests ---------------------------------------------------------------------------------
def test_hardening_joins_without_on_parse_in_polynomial_time(env):
    """sqlglot re-parsed the joins after every JOIN without ON (first as a nested join), doubling the time per
    JOIN: 25 of them took hours."""
    lines = run_python("""
        from jupyter_mreg.sql.dialect import parse
        print(len(parse('SELECT 1 AS one FROM customers c ' + 'JOIN customers ' * 40).args['joins']))
    """, "parsing 40 JOINs without ON")
    assert lines == ["40"]
    out = run(env, "SELECT COUNT(*) AS n FROM customers a " + "JOIN customers " * 2 + "JOIN customers b ON a.id = b.id")
    assert out["n"].tolist() == [20 * 20 * 20]


def test_hardening_undefined_template_variable_is_found_in_linear_time(env):
    """The caret for an undefined {{ name }} came from a regex that went from every `{{` lazily to the name:
    minutes for a cell with many `{{` in a {% raw %} block."""
    lines = run_python("""
        from jupyter_mreg.sql import execute
        from jupyter_mreg.sql.errors import SqlError
        try:
            execute("{% raw %}" + "{{ " * 100_000 + "{% endraw %}\\n{{ nope }}", {})
        except SqlError as exc:
            print(exc.line_column, "'nope' is undefined" in str(exc))
    """, "an undefined template variable after 100,000 `{{`")
    assert lines == ["(2, 1) True"]


def test_hardening_duckdb_error_about_a_long_name_is_read_in_linear_time(env):
    """DuckDB's message quotes the name it is about; the regex that cut its `LINE 1:` excerpt rescanned a name
    of newlines from each of them (16 s for 80,000, an hour for a 1 MB cell)."""
    lines = run_python("""
        import pandas as pd
        from jupyter_mreg.sql import execute
        from jupyter_mreg.sql.errors import SqlError
        try:
            execute('SELECT "' + "\\n" * 300_000 + '" FROM t', {"t": pd.DataFrame({"a": [1]})})
        except SqlError as exc:
            print(str(exc).split()[:2], exc.position)
    """, "a DuckDB error quoting a name of 300,000 newlines")
    assert lines == ["['Column', 'does'] 7"]


class OddOutputs(custom_model.CustomModel):
    """Outputs whose names are SQL text: a quote, and a fragment of a STRUCT type."""

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({'a"b': df["age"] * 2.0, "c) VARCHAR, d STRUCT(e": df["age"] * 3.0})


def test_hardening_output_names_are_not_spliced_into_duckdb_types(env):
    """The UDF fallback (here: a join) declared its STRUCT result type as text built from the output names."""
    from jupyter_mreg.registry import Registry

    session, _, frame = env
    Registry(session=session, database_name="MYDB", schema_name="ML", create=True).log_model(
        OddOutputs(), model_name="odd", version_name="v1", sample_input_data=frame[["age"]].head())
    out = run(env, 'SELECT c.id, odd!predict(c.age):"a""b" AS two, '
                   "odd!predict(c.age)['c) VARCHAR, d STRUCT(e'] AS three "
                   "FROM customers c JOIN customers d ON c.id = d.id ORDER BY c.id")
    assert out["two"].tolist() == (frame["age"] * 2.0).tolist()
    assert out["three"].tolist() == (frame["age"] * 3.0).tolist()


class ObjectOutput(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"thing": [object() for _ in range(len(df))]})


def test_hardening_values_arrow_cannot_hold_are_a_clear_error(env):
    """Columns of Python objects reached pyarrow unguarded: a raw ArrowInvalid instead of our error."""
    from jupyter_mreg.sql.errors import SqlError

    session, _, frame = env
    odd = frame.assign(o=[object()] * (len(frame) - 1) + ["x"])
    with pytest.raises(SqlError, match=r"Column o of odd holds values that cannot be passed on as Arrow data "
                                       r"\(Could not convert .*\)\. Convert it in pandas first"):
        run(env, "SELECT id, o, churn!PREDICT(*):output_feature_0 AS p FROM odd WHERE id > 2", namespace={"odd": odd})
    from jupyter_mreg.registry import Registry

    spec = model_signature.FeatureSpec
    signature = model_signature.ModelSignature(inputs=[spec("age", model_signature.DataType.INT64)],
                                               outputs=[spec("thing", model_signature.DataType.STRING)])
    Registry(session=session, database_name="MYDB", schema_name="ML", create=True).log_model(
        ObjectOutput(), model_name="objects", version_name="v1", signatures={"predict": signature})
    # run() types the output by its signature (STRING) first, and says which output holds what.
    with pytest.raises(SqlError, match=r"MYDB\.ML\.OBJECTS!PREDICT: .* returned values for output 'thing' that are "
                                       r"not STRING as its signature declares \(found builtins\.object objects\)") \
            as info:
        run(env, "SELECT objects!predict(age) AS t FROM customers")
    assert info.value.line_column == (1, 8)


def test_hardening_a_dataframe_duckdb_cannot_register_is_a_clear_error(env):
    from jupyter_mreg.sql.errors import SqlError

    with pytest.raises(SqlError, match=r"empty cannot be read as a table \(Invalid Input Error: Need a DataFrame "
                                       r"with at least one column\)") as info:
        run(env, "SELECT *\nFROM empty", namespace={"empty": pd.DataFrame()})
    assert info.value.line_column == (2, 6)


JOIN_KINDS = ["JOIN", "LEFT JOIN", "INNER JOIN", "CROSS JOIN", "NATURAL JOIN", ","]


@st.composite
def join_chains(draw) -> str:
    def item(depth: int) -> str:
        choice = draw(st.integers(0, 3 if depth < 2 else 1))
        if choice == 2:
            return f"({chain(depth + 1)})"
        if choice == 3:
            return f"(SELECT * FROM {chain(depth + 1)}) s{depth}"
        return draw(st.sampled_from(["a", "b", "c AS x", "LATERAL (SELECT 1)"]))

    def chain(depth: int) -> str:
        text = item(depth)
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(JOIN_KINDS))
            text += f" {kind} {item(depth)}"
            condition = draw(st.sampled_from(["", "", " ON a.x = b.x", " USING (x)"]))
            text += condition if kind not in (",", "CROSS JOIN", "NATURAL JOIN") else ""
        return text

    return f"SELECT * FROM {chain(0)}" + draw(st.sampled_from(["", " ON TRUE", " WHERE a.x > 1"]))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(sql=join_chains())
def test_hardening_join_parsing_is_unchanged(sql):
    """Replaying parsed joins gives the tree sqlglot's own Snowflake parser gives (or the same error)."""
    import sqlglot
    from sqlglot.errors import ParseError

    from jupyter_mreg.sql.dialect import DIALECT

    try:
        expected = sqlglot.parse_one(sql, read="snowflake")
    except ParseError:
        with pytest.raises(ParseError):
            DIALECT.parse(sql)
        return
    assert DIALECT.parse(sql)[0] == expected, sql
