"""A small real model input (GRU-D-like features, stay-level labels) and tuning configuration.

The data are synthetic but learnable (the label shifts feature 0), so validation AUROC differs
between configurations and the pruner has something to compare. Trials take about a second.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

from seqhealth.engine.fingerprint import samples_fingerprint

REPO = Path(__file__).resolve().parents[2]


def make_model_input(n_train: int = 64, n_val: int = 24, n_features: int = 6, seed: int = 0,
                     task: str = "vitals_mortality", causal: bool = False) -> dict:
    rng = np.random.default_rng(seed)

    def sample():
        length = int(rng.integers(6, 16))
        label = int(rng.random() < 0.4)
        x = rng.normal(size=(length, n_features)).astype(np.float32)
        x[:, 0] += 0.8 * label
        return {"x": x, "y": np.float32(label), "length": length}

    splits = {"train": [sample() for _ in range(n_train)], "val": [sample() for _ in range(n_val)], "test": []}
    return {
        "task": task, "task_kind": "sequence", "n_classes": 1, "input_kind": "features",
        "input_size": n_features, "causal": causal, "pos_weight": 1.5, "splits": splits,
        "preprocessing": {}, "class_names": ["negative", "positive"], "fingerprint": samples_fingerprint(splits),
    }


def tune_config(storage: str, n_trials: int, **overrides) -> dict:
    """``conf/base/parameters_tune.yml`` with a smaller space (fast trials) and test heartbeats."""
    tune = yaml.safe_load((REPO / "conf/base/parameters_tune.yml").read_text())["tune"]
    tune.update(storage=storage, n_trials=n_trials, trial_epochs=3, heartbeat_interval_s=1, grace_period_s=3, seed=1,
                pruner={"type": "median", "n_startup_trials": 1, "n_warmup_steps": 1})
    tune["space"].update(hidden_size={"type": "int", "low": 4, "high": 16, "step": 4},
                         num_layers={"type": "int", "low": 1, "high": 1},
                         batch_size={"type": "categorical", "choices": [16, 32]})
    tune.update(overrides)
    return tune


TASK_PARAMS = {
    "model": {"cell": "gru", "hidden_size": 8, "num_layers": 1, "dropout": 0.0, "bidirectional": True,
              "head_pooling": "mean", "lr": 0.01, "weight_decay": 0.0, "lr_schedule": "none"},
    "train": {"monitor": "val_auroc", "monitor_mode": "max"},
}
SHARED_TRAIN = {"accelerator": "cpu", "devices": 1, "max_epochs": 3, "seed": 42, "batch_size": 32,
                "gradient_clip_val": 1.0, "early_stopping_patience": 0, "enable_progress_bar": False}


@pytest.fixture
def model_input() -> dict:
    return make_model_input()


@pytest.fixture
def model_input_path(tmp_path, model_input) -> Path:
    path = tmp_path / "model_input.pkl"
    path.write_bytes(pickle.dumps(model_input))
    return path


@pytest.fixture
def mlflow_parent(tmp_path):
    """A real MLflow SQLite store in tmp and an open tuning run: ``(tracking_uri, run_id, client)``."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("tune-test", artifact_location=str(tmp_path / "artifacts"))
    run = client.create_run(experiment_id, run_name="tune")
    yield uri, run.info.run_id, client
    client.set_terminated(run.info.run_id)
    mlflow.set_tracking_uri(None)


def child_runs(client, parent_run_id: str) -> list:
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    return client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")
