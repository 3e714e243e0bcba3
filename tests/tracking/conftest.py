"""Tiny trained bundles of every task (demo data subsets, one epoch) and MLflow stores."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from seqhealth.engine.fit import fit_sequence_model
from seqhealth.tasks.registry import TASKS
from tests.helpers.tasks import small_model_input

TINY_MODEL = {"cell": "gru", "hidden_size": 8, "num_layers": 1, "dropout": 0.0, "head_pooling": "mean",
              "lr": 0.01, "weight_decay": 0.0, "lr_schedule": "none"}  # fmt: skip


def tiny_train(tmp: Path) -> dict:
    return {"max_epochs": 1, "batch_size": 16, "seed": 0, "accelerator": "cpu", "devices": 1,
            "enable_progress_bar": False, "checkpoint_dir": str(tmp / "ckpt"), "monitor": "val_loss",
            "monitor_mode": "min", "early_stopping_patience": 0}  # fmt: skip


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_raw")
    for name, task in TASKS.items():
        task.write_demo(out / name, seed=0)
    return out


@pytest.fixture(scope="session")
def model_inputs(demo_raw) -> dict:
    """Model inputs of every registered task, built by the task code itself (small subsets);
    vitals inputs keep their validated long table (``clean_long``) to build raw requests from."""
    out = {}
    for name, task in TASKS.items():
        model_input, builder_inputs = small_model_input(task, demo_raw)
        model_input["builder_inputs"] = builder_inputs
        if task.domain == "vitals":
            model_input["clean_long"] = builder_inputs[0]
        out[name] = model_input
    return out


@pytest.fixture(scope="session")
def bundles(model_inputs, tmp_path_factory) -> dict:
    """One-epoch bundles: enough to check that predictions travel unchanged, not to be good."""
    tmp = tmp_path_factory.mktemp("bundles")
    out = {}
    for task, model_input in model_inputs.items():
        params = dict(TINY_MODEL, bidirectional=not model_input.get("causal", False))
        bundle = fit_sequence_model(model_input, params, tiny_train(tmp))[0]
        out[task] = TASKS[task].calibrate(bundle, model_input)
    return out


def long_request(clean_long: pd.DataFrame, patients: list[str]) -> pd.DataFrame:
    """The canonical table of ``patients`` as a raw request (time in hours, values as numbers)."""
    rows = clean_long[clean_long["patient_id"].isin(patients)]
    return pd.DataFrame({"patient_id": rows["patient_id"].astype(str), "time": rows["time_h"].astype(float),
                         "variable": rows["variable"], "value": rows["value"].astype(float)})  # fmt: skip


# ---------------------------------------------------------------------------- MLflow stores
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def venv_env(**extra) -> dict:
    import os

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


@pytest.fixture
def sqlite_tracking(tmp_path, monkeypatch) -> str:
    """An empty SQLite store as the process's tracking and registry URI."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("seqhealth-test")
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


def assert_same_frames(left: pd.DataFrame, right: pd.DataFrame, atol: float = 1e-5) -> None:
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for column in left.columns:
        a, b = left[column].to_numpy(), right[column].to_numpy()
        if np.issubdtype(a.dtype, np.number):
            np.testing.assert_allclose(a.astype(float), b.astype(float), atol=atol, err_msg=column)
        else:
            assert [str(x) for x in a] == [str(x) for x in b], column
