"""The table the tabular benchmark cases train on: float features `f0..f{n-1}` and a noisy binary label."""

from __future__ import annotations


def tabular(n_rows: int, n_features: int = 20, seed: int = 0):
    """(X, y): a DataFrame of standard-normal features and a 0/1 Series that depends on three of them."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n_rows, n_features)), columns=[f"f{i}" for i in range(n_features)])
    y = (X["f0"] + 0.5 * X["f1"] - X["f2"] + rng.normal(scale=0.5, size=n_rows) > 0).astype(int)
    return X, y
