"""Versions are immutable: a changed artifact is refused when loading."""

from __future__ import annotations

import pytest

from jupyter_mreg.errors import IntegrityError


def _object_files(session):
    return [p for p in (session.home / "artifacts" / "objects").rglob("*") if p.is_file()]


def test_tampered_artifact_is_refused(reg, session, churn, pipe):
    mv = reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    model_file = max(_object_files(session), key=lambda p: p.stat().st_size)  # the pickle is the largest
    model_file.write_bytes(model_file.read_bytes()[:-1] + b"\x00")
    with pytest.raises(IntegrityError) as info:
        mv.load()
    message = str(info.value)
    assert model_file.name in message and "immutable" in message


def test_missing_artifact_is_refused(reg, session, churn, pipe):
    mv = reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    for path in _object_files(session):
        path.unlink()
    with pytest.raises(IntegrityError):
        mv.load()


def test_a_changed_unpacked_copy_is_replaced_from_the_store(reg, session, churn, pipe):
    """Loads reuse this process's unpacked copy only while every file still has its recorded hash."""
    import numpy as np

    mv = reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    mv.load()
    unpacked = [p for p in session.cache_dir.rglob("model.pkl")]
    assert len(unpacked) == 1
    unpacked[0].write_bytes(b"not a pickle")
    np.testing.assert_array_equal(mv.load().predict(churn[0]), pipe.predict(churn[0]))
