"""`store`: an empty artifact store, once per backend (see `stores.KINDS`)."""

from __future__ import annotations

import pytest

from tests.store.stores import KINDS, open_store


@pytest.fixture(params=KINDS)
def store(request, tmp_path):
    with open_store(request.param, tmp_path) as s:
        yield s
