from __future__ import annotations

import pytest

from jupyter_mreg import MregError, Session
from jupyter_mreg.registry import Registry


def test_configs_create_uses_home_for_catalog_and_artifacts(tmp_path, churn, pipe):
    session = Session.builder.configs({"home": str(tmp_path / "h")}).create()
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    assert (tmp_path / "h" / "catalog.db").is_file()
    assert any((tmp_path / "h" / "artifacts").rglob("*"))
    assert session.catalog_url == f"sqlite:///{tmp_path / 'h' / 'catalog.db'}"


def test_explicit_urls_override_home(tmp_path):
    session = Session.builder.configs({
        "home": str(tmp_path / "h"), "catalog_url": f"sqlite:///{tmp_path / 'elsewhere.db'}",
        "artifacts_url": str(tmp_path / "blobs")}).create()
    Registry(session=session, database_name="D", create=True)
    assert (tmp_path / "elsewhere.db").is_file()
    assert not (tmp_path / "h" / "catalog.db").exists()


def test_home_falls_back_to_env_then_user_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MREG_HOME", str(tmp_path / "from_env"))
    assert Session.builder.configs({}).create().home == (tmp_path / "from_env").resolve()
    monkeypatch.delenv("MREG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert Session.builder.configs({}).create().home == (tmp_path / "user" / ".mreg").resolve()


def test_get_or_create_returns_the_active_session(tmp_path):
    created = Session.builder.configs({"home": str(tmp_path)}).create()
    assert Session.builder.getOrCreate() is created


def test_current_role_database_schema(tmp_path):
    session = Session.builder.configs({"home": str(tmp_path), "role": "analyst", "database": "mydb",
                                       "schema": '"Lab"', "user": "bob"}).create()
    assert session.get_current_role() == "ANALYST"
    assert session.get_current_database() == "MYDB"
    assert session.get_current_schema() == '"Lab"'
    assert session.get_current_user() == "bob"
    with pytest.raises(ValueError, match="^Database MYDB does not exist"):  # as in Snowflake
        Registry(session=session)
    assert Registry(session=session, create=True).location == 'MYDB."Lab"'


def test_defaults_without_database(tmp_path):
    session = Session.builder.configs({"home": str(tmp_path)}).create()
    assert session.get_current_role() == "PUBLIC"
    assert session.get_current_database() is None
    assert Registry(session=session).location == "MODEL_REGISTRY.PUBLIC"
    assert Registry(session=session, database_name="db", create=True).location == "DB.PUBLIC"
    assert Registry(session=session, database_name="db", schema_name="s", create=True).location == "DB.S"


def test_unknown_config_key_is_named(tmp_path):
    with pytest.raises(MregError, match=r"unknown key\(s\) \['password'\].*expected some of"):
        Session.builder.configs({"home": str(tmp_path), "password": "x"})
