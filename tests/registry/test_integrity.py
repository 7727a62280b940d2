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
