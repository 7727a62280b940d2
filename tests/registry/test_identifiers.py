from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_mreg import MregError, Session
from jupyter_mreg.errors import InvalidIdentifierError
from jupyter_mreg.registry import Registry
from jupyter_mreg.registry.identifiers import parse_identifier, parse_qualified, resolved, split_parts, to_identifier


@pytest.mark.parametrize("text, expected", [
    ("customer_churn", "CUSTOMER_CHURN"), ("CUSTOMER_CHURN", "CUSTOMER_CHURN"), ('"customer_churn"', '"customer_churn"'),
    ('"CUSTOMER_CHURN"', "CUSTOMER_CHURN"), ("_x$1", "_X$1"), ('"my model"', '"my model"'),
    ('"a""b"', '"a""b"'), ("  padded  ", "PADDED"),
])
def test_identifier_forms(text, expected):
    assert parse_identifier(text) == expected


def test_qualified_names():
    assert tuple(parse_qualified("m", "DB", "S")) == ("DB", "S", "M")
    assert tuple(parse_qualified("s2.m", "DB", "S")) == ("DB", "S2", "M")
    assert tuple(parse_qualified('db2."S 2"."m.x"', "DB", "S")) == ("DB2", '"S 2"', '"m.x"')
    assert split_parts('"a.b".c') == ['"a.b"', "C"]


@given(st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s))
def test_any_resolved_name_round_trips(name):
    form = to_identifier(name)
    assert resolved(form) == name
    assert parse_identifier(form) == form


@pytest.fixture(scope="module")
def one_model(tmp_path_factory):
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    session = Session.builder.configs({"home": str(tmp_path_factory.mktemp("ids"))}).create()
    reg = Registry(session=session, database_name="D", create=True)
    X = pd.DataFrame({"a": np.arange(5.0)})
    mv = reg.log_model(LinearRegression().fit(X, X["a"]), model_name="base", version_name="v1", sample_input_data=X)
    return reg, mv


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.text(max_size=30), st.sampled_from(['"', '""', ".", "a.", ".a", "a.b.c.d", '"a"."b"', "default",
                                                              "FIRST", "V1", "1", " ", '"\\x00"'])),
       other=st.one_of(st.none(), st.integers(), st.text(max_size=10)))
def test_only_mreg_errors_escape(one_model, name, other):
    reg, mv = one_model
    model = reg.get_model("base")
    calls = [
        lambda: reg.get_model(name),
        lambda: reg.log_model(mv, model_name=name, version_name=other),
        lambda: model.version(name),
        lambda: mv.set_alias(name),
        lambda: mv.unset_alias(name),
        lambda: model.set_tag(name, "x"),
        lambda: model.get_tag(name),
        lambda: mv.get_metric(name),
        lambda: Registry(reg.session, database_name=name, schema_name=other, create=True),
    ]
    for call in calls:
        try:
            call()
        except MregError:
            pass


def test_not_a_string_is_an_identifier_error(one_model):
    reg, _ = one_model
    with pytest.raises(InvalidIdentifierError, match="expected a string, found int"):
        reg.get_model(42)
