"""The change path: every change is one transaction with one audit row, and subscribers hear of it after
the commit, once, and never of a change that was rolled back."""

from __future__ import annotations

import sqlite3

import pytest

from jupyter_mreg.errors import InvalidArgumentError, NotFoundError
from jupyter_mreg.registry import Registry, catalog_reads, changes
from jupyter_mreg.registry.identifiers import QualifiedName


class Listener:
    """Collects the changes it hears and checks, as each arrives, that another connection sees it committed."""

    def __init__(self, session) -> None:
        self.db = str(session.home / "catalog.db")
        self.heard: list[changes.Change] = []
        self.committed: list[bool] = []

    def __call__(self, change: changes.Change) -> None:
        with sqlite3.connect(self.db) as conn:  # not our pool: sees only what is committed
            rows = conn.execute("SELECT count(*) FROM history WHERE action = ? AND event_time = ?",
                                (change.action, change.event_time.isoformat(sep=" "))).fetchone()[0]
        self.heard.append(change)
        self.committed.append(rows == 1)

    @property
    def actions(self) -> list[str]:
        return [c.action for c in self.heard]


@pytest.fixture
def listener(session):
    found = Listener(session)
    unsubscribe = changes.subscribe(found)
    yield found
    unsubscribe()


def test_each_kind_of_change_is_heard_once_after_commit(session, listener, churn, pipe):
    X, _ = churn
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    v1 = reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=X.head())
    reg.log_model(v1, model_name="churn", version_name="v2")
    model = reg.get_model("churn")
    model.comment = "churn model"
    model.set_tag("stage", "prod")
    model.unset_tag("stage")
    model.default = "v2"
    v1.comment = "first"
    v1.set_metric("auc", 0.9)
    v1.delete_metric("auc")
    v1.set_alias("old")
    v1.unset_alias("old")
    changes.set_metadata(session, QualifiedName("MYDB", "ML", "CHURN"), "V1", {"metrics": {"f1": 0.5}})
    model.delete_version("v1")
    model.rename("OTHER.CHURN2")
    reg.delete_model("OTHER.CHURN2")
    assert listener.actions == [
        "CREATE_DATABASE", "CREATE_SCHEMA", "CREATE_MODEL", "LOG_MODEL", "COPY_VERSION", "SET_COMMENT",
        "SET_TAG", "UNSET_TAG", "SET_DEFAULT_VERSION", "SET_VERSION_COMMENT", "SET_METRIC", "DELETE_METRIC",
        "SET_ALIAS", "UNSET_ALIAS", "SET_METADATA", "DROP_VERSION", "CREATE_SCHEMA", "RENAME_MODEL",
        "DROP_MODEL"]
    assert all(listener.committed), list(zip(listener.actions, listener.committed))
    # each change says what, where and who, as the audit trail does
    log = listener.heard[3]
    assert (log.database, log.schema, log.model, log.version) == ("MYDB", "ML", "CHURN", "V1")
    assert (log.user, log.role) == ("alice", "DATA_SCIENTIST")
    assert log.details["model_type"] == "sklearn"
    assert log.catalog == session.catalog.display_url
    alias = listener.heard[12]
    assert (alias.version, alias.details) == ("V1", {"alias": "OLD"})
    rename = listener.heard[17]
    assert (rename.schema, rename.model, rename.details) == ("OTHER", "CHURN2", {"previous_name": "MYDB.ML.CHURN"})


def test_the_audit_trail_has_one_row_per_change(session, listener, churn, pipe):
    X, _ = churn
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    mv = reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=X.head())
    mv.set_alias("prod")
    mv.set_metric("auc", 0.9)
    history = catalog_reads.history(session)
    assert history["action"].tolist() == listener.actions
    assert history["details"].tolist() == [c.details for c in listener.heard]


def test_a_refused_change_is_not_heard_and_leaves_no_trace(session, listener, churn, pipe):
    X, _ = churn
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    mv = reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=X.head())
    before = len(listener.heard)
    with pytest.raises(NotFoundError, match="does not exist in model MYDB.ML.CHURN"):
        reg.get_model("churn").default = "v9"
    with pytest.raises(InvalidArgumentError, match="is the default version"):
        reg.get_model("churn").delete_version("v1")
    with pytest.raises(InvalidArgumentError, match="system alias"):
        mv.set_alias("LAST")
    assert len(listener.heard) == before
    assert len(catalog_reads.history(session)) == before


def test_a_change_rolled_back_after_its_writes_is_never_heard(session, listener, churn, pipe):
    """A failure late in the transaction (here the database refuses the version's file rows, after the new
    model's row, the version's row and the CREATE_MODEL audit row were written) rolls back everything, and
    nobody hears of any of it."""
    X, _ = churn
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    before = len(listener.heard)
    with sqlite3.connect(session.home / "catalog.db") as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON version_files BEGIN SELECT RAISE(ABORT, 'disk quota'); END")
    with pytest.raises(Exception, match="disk quota"):
        reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=X.head())
    assert listener.heard[before:] == []
    assert reg.show_models().empty
    assert "CREATE_MODEL" not in reg.get_history()["action"].tolist()


def test_a_failing_subscriber_warns_and_the_others_still_hear(session, listener):
    def broken(change):
        raise RuntimeError("listener bug")

    unsubscribe = changes.subscribe(broken)
    try:
        with pytest.warns(RuntimeWarning, match="listener bug.*The change was made"):
            Registry(session=session, database_name="NEWDB", schema_name="S", create=True)
    finally:
        unsubscribe()
    assert listener.actions == ["CREATE_DATABASE", "CREATE_SCHEMA"]
    Registry(session=session, database_name="NEWDB", schema_name="T", create=True)  # unsubscribed: no warning
    assert listener.actions[-1] == "CREATE_SCHEMA"
