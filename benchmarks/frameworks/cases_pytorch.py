"""Benchmark cases for PyTorch: an MLP regressor on a table and a small CNN on 1x28x28 images, each against
MLflow's pytorch flavor with its defaults (which pickles the module with cloudpickle too)."""

from __future__ import annotations

N_ROWS = 2_000
N_FEATURES = 20


def _mlp():
    import torch

    torch.manual_seed(0)
    X = torch.randn(N_ROWS, N_FEATURES)
    y = (X[:, 0] - 0.5 * X[:, 1] + X[:, 2] * X[:, 3]).unsqueeze(1)
    model = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(50):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        opt.step()
    return model.eval(), X


def _cnn():
    import torch

    torch.manual_seed(1)
    X = torch.randn(256, 1, 28, 28)
    y = (X.mean(dim=(1, 2, 3)) > 0).long()
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 2),
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(10):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    return model.eval(), X


def _mlflow_log(model, sample, registered_model_name):
    import mlflow.pytorch

    return mlflow.pytorch.log_model(model, name="model", input_example=sample.numpy(),
                                    registered_model_name=registered_model_name)


def _mlflow_load(uri):
    import mlflow.pytorch

    return mlflow.pytorch.load_model(uri)


def cases() -> list[dict]:
    mlp, X = _mlp()
    cnn, images = _cnn()
    common = {"framework": "pytorch", "log_kwargs": {}, "mlflow_log": _mlflow_log, "mlflow_load": _mlflow_load}
    return [
        {**common, "name": f"MLP regressor {N_FEATURES}-64-64-1 (nn.Sequential)", "model": mlp, "sample": X[:10]},
        {**common, "name": "CNN classifier, 2 conv + linear on 1x28x28 images", "model": cnn, "sample": images[:10]},
    ]
